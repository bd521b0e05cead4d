/**
 * `pm2-gitops apply` against a real PM2 daemon: the bundled example from a
 * fresh daemon, idempotence, one changed task out of 20, and env changes that
 * really reach the process.
 */
import { cpSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { cli, ROOT } from './helpers/cli.js';
import { parseReport, pm2AndRepo, type TaskDef } from './helpers/manifests.js';
import { isolatedPm2, type IsolatedPm2, type JlistEntry } from './helpers/pm2.js';

/** pid, restarts and start time of every process of a namespace, by "name#pm_id". */
async function identities(pm2: IsolatedPm2, namespace: string): Promise<Record<string, [number, number, number]>> {
  const out: Record<string, [number, number, number]> = {};
  for (const p of (await pm2.jlist()).filter((e) => e.pm2_env.namespace === namespace)) {
    out[`${p.name}#${p.pm_id}`] = [p.pid, p.pm2_env.restart_time, p.pm2_env.pm_uptime];
  }
  return out;
}

async function getJson(url: string): Promise<Record<string, unknown>> {
  const res = await fetch(url);
  return (await res.json()) as Record<string, unknown>;
}

describe('apply: the bundled example on a fresh daemon', () => {
  const PORT = 25001;
  const WEB_PORT = 25002;
  let pm2: IsolatedPm2;
  let dir: string;

  beforeAll(() => {
    pm2 = isolatedPm2();
    dir = mkdtempSync(join(tmpdir(), 'pm2gt-example-'));
    cpSync(join(ROOT, 'manifests'), dir, { recursive: true });
    // dev takes the api port from base/api.yaml (3100); move it into this suite's range.
    const api = join(dir, 'base/api.yaml');
    const text = readFileSync(api, 'utf8');
    expect(text).toContain('3100');
    writeFileSync(api, text.replaceAll('3100', String(PORT)));
    // web, delivered from source (npm ci --offline, npm run build), listens on 3101 in dev.
    const web = join(dir, 'base/web.yaml');
    const webText = readFileSync(web, 'utf8');
    expect(webText).toContain('3101');
    writeFileSync(web, webText.replaceAll('3101', String(WEB_PORT)));
  });

  afterAll(async () => {
    await pm2.kill();
    rmSync(dir, { recursive: true, force: true });
  });

  it('starts every task in dependency order and converges (exit 0)', async () => {
    const r = await cli(['apply', '--repo', dir, '--env', 'dev', '--json'], { env: pm2.env });
    expect(r.code, r.stderr).toBe(0);
    const report = parseReport(r.stdout, r.stderr);
    expect(report.converged).toBe(true);
    expect(report.namespace).toBe('dev');
    expect(report.actions.map((a) => [a.task, a.action, a.result])).toEqual([
      ['migrate', 'create', 'ok'],
      ['web', 'create', 'ok'],
      ['api', 'create', 'ok'],
      ['worker', 'create', 'ok'],
    ]);

    // The job ran to completion before its dependents were started.
    const byTask = Object.fromEntries(report.actions.map((a) => [a.task, a]));
    const migrateEnd = Date.parse(byTask.migrate!.startedAt) + byTask.migrate!.durationMs;
    expect(Date.parse(byTask.api!.startedAt)).toBeGreaterThanOrEqual(migrateEnd);
    expect(Date.parse(byTask.worker!.startedAt)).toBeGreaterThanOrEqual(migrateEnd);

    const list = (await pm2.jlist()).filter((p) => p.pm2_env.namespace === 'dev');
    const named = (n: string): JlistEntry[] => list.filter((p) => p.name === n);
    expect(list.map((p) => p.name).sort()).toEqual(['api', 'migrate', 'web', 'worker']);
    const migrate = named('migrate')[0]!;
    expect(migrate.pm2_env.status).toBe('stopped');
    expect(migrate.pm2_env.exit_code).toBe(0);
    expect(migrate.pm2_env.restart_time).toBe(0);
    const api = named('api')[0]!;
    const worker = named('worker')[0]!;
    for (const p of [api, worker]) {
      expect(p.pm2_env.status).toBe('online');
      expect(p.pid).toBeGreaterThan(0);
      // PM2's own record: the dependents started after the job was created and ran its 200 ms.
      expect(p.pm2_env.pm_uptime).toBeGreaterThanOrEqual(Number(migrate.pm2_env.created_at) + 200);
    }
    expect(api.pm2_env.exec_mode).toBe('cluster_mode');
    expect(worker.pm2_env.exec_mode).toBe('fork_mode');

    // The api process answers with the environment's env.
    expect(await fetch(`http://127.0.0.1:${PORT}/healthz`).then((res) => res.text())).toBe('ok\n');
    const body = await getJson(`http://127.0.0.1:${PORT}/`);
    expect(body).toMatchObject({ service: 'api', pid: api.pid, greeting: 'hello', logLevel: 'debug' });
    // web answers with the greeting of its dependency, installed into its build.
    expect(await getJson(`http://127.0.0.1:${WEB_PORT}/`)).toMatchObject({ service: 'web', pid: named('web')[0]!.pid, greeting: 'hello web, from the greeting package' });
  });

  it('a second apply takes no action and touches no process', async () => {
    const before = await identities(pm2, 'dev');
    expect(Object.keys(before)).toHaveLength(4);
    const r = await cli(['apply', '--repo', dir, '--env', 'dev', '--json'], { env: pm2.env });
    expect(r.code, r.stderr).toBe(0);
    const report = parseReport(r.stdout, r.stderr);
    expect(report.actions).toEqual([]);
    expect(report.converged).toBe(true);
    expect(report.inSync.sort()).toEqual(['api', 'migrate', 'web', 'worker']);
    expect(await identities(pm2, 'dev')).toEqual(before);
  });
});

describe('apply: one changed task out of 20', () => {
  const NS = 'apply-twenty';
  const { pm2, repo } = pm2AndRepo();
  const tasks = (changed?: number): TaskDef[] => Array.from({ length: 20 }, (_, i) => ({
    name: `t${String(i).padStart(2, '0')}`,
    process: { env: { INDEX: String(i), ...(i === changed ? { PM2GT_MODE: 'changed' } : {}) } },
  }));

  it('creates 20 processes', async () => {
    repo.write({ namespace: NS }, tasks());
    const r = await cli(['apply', '--repo', repo.dir, '--json'], { env: pm2.env });
    expect(r.code, r.stderr).toBe(0);
    const report = parseReport(r.stdout, r.stderr);
    expect(report.actions).toHaveLength(20);
    expect(report.actions.every((a) => a.action === 'create' && a.result === 'ok')).toBe(true);
    const list = (await pm2.jlist()).filter((p) => p.pm2_env.namespace === NS);
    expect(list).toHaveLength(20);
    expect(list.every((p) => p.pm2_env.status === 'online' && p.pid > 0)).toBe(true);
  });

  it('an env change of one task restarts exactly that task', async () => {
    const before = await identities(pm2, NS);
    repo.write({ namespace: NS }, tasks(7));
    const r = await cli(['apply', '--repo', repo.dir, '--json'], { env: pm2.env });
    expect(r.code, r.stderr).toBe(0);
    const report = parseReport(r.stdout, r.stderr);
    expect(report.actions.map((a) => [a.task, a.action, a.result])).toEqual([['t07', 'restart', 'ok']]);
    expect(report.inSync).toHaveLength(19);

    const after = await identities(pm2, NS);
    expect(Object.keys(after).sort()).toEqual(Object.keys(before).sort());
    const changed = Object.keys(after).filter((k) => JSON.stringify(after[k]) !== JSON.stringify(before[k]));
    expect(changed).toHaveLength(1);
    expect(changed[0]).toMatch(/^t07#/);
    const [pidBefore, restartsBefore] = before[changed[0]!]!;
    const [pidAfter, restartsAfter] = after[changed[0]!]!;
    expect(pidAfter).not.toBe(pidBefore);
    expect(restartsAfter).toBe(restartsBefore + 1);

    const t07 = (await pm2.jlist()).find((p) => p.name === 't07' && p.pm2_env.namespace === NS)!;
    expect(t07.pm2_env.status).toBe('online');
    expect(t07.pm2_env.env.PM2GT_MODE).toBe('changed');
  });
});

describe('apply: env changes reach the process', () => {
  const NS = 'apply-env';
  const PORT = 25010;
  const { pm2, repo } = pm2AndRepo();
  const web = (env: Record<string, string>): TaskDef[] => [{
    name: 'web',
    health: { http: { url: `http://127.0.0.1:${PORT}/` }, minUptimeSeconds: 0.3, timeoutSeconds: 20 },
    process: { script: 'apps/env-server.cjs', env: { PORT: String(PORT), ...env } },
  }];
  const served = async (): Promise<{ pid: number; env: Record<string, string> }> => (await getJson(`http://127.0.0.1:${PORT}/`)) as { pid: number; env: Record<string, string> };

  it('a changed value and a removed key are what the new process sees', async () => {
    repo.write({ namespace: NS, env: { FROM_ENVIRONMENT: 'yes' } }, web({ GREETING: 'one', PM2GT_DOOMED_KEY: 'present' }));
    let r = await cli(['apply', '--repo', repo.dir, '--json'], { env: pm2.env });
    expect(r.code, r.stderr).toBe(0);
    const first = await served();
    expect(first.env).toMatchObject({ GREETING: 'one', PM2GT_DOOMED_KEY: 'present', FROM_ENVIRONMENT: 'yes', PORT: String(PORT) });
    const created = (await pm2.jlist()).find((p) => p.name === 'web' && p.pm2_env.namespace === NS)!;
    expect(created.pid).toBe(first.pid);
    expect(created.pm2_env.env.PM2GT_DOOMED_KEY).toBe('present');

    repo.write({ namespace: NS, env: { FROM_ENVIRONMENT: 'yes' } }, web({ GREETING: 'two' }));
    r = await cli(['apply', '--repo', repo.dir, '--json'], { env: pm2.env });
    expect(r.code, r.stderr).toBe(0);
    const report = parseReport(r.stdout, r.stderr);
    expect(report.actions.map((a) => [a.task, a.action, a.result])).toEqual([['web', 'restart', 'ok']]);

    const second = await served();
    expect(second.pid).not.toBe(first.pid);
    expect(second.env.GREETING).toBe('two');
    expect(second.env.FROM_ENVIRONMENT).toBe('yes');
    expect('PM2GT_DOOMED_KEY' in second.env).toBe(false);
    // PM2's stored env no longer has it either, so a later `pm2 restart` does not bring it back.
    const entry = (await pm2.jlist()).find((p) => p.name === 'web' && p.pm2_env.namespace === NS)!;
    expect(entry.pid).toBe(second.pid);
    expect('PM2GT_DOOMED_KEY' in entry.pm2_env.env).toBe(false);
    expect('PM2GT_DOOMED_KEY' in entry.pm2_env).toBe(false);

    // And nothing is left to do.
    r = await cli(['apply', '--repo', repo.dir, '--json'], { env: pm2.env });
    expect(r.code, r.stderr).toBe(0);
    expect(parseReport(r.stdout, r.stderr).actions).toEqual([]);
  });
});
