/**
 * Apps whose PM2 name is not a task name (`API`, `Style Guide`,
 * `queue_worker`, an unnamed `./mail_sender.js`) under real PM2: started with
 * `pm2 start FILE`, imported, the first `plan` changes nothing and `apply`
 * touches no process (they are adopted under their own names); `apply` on a
 * fresh daemon gives the same names, modes and default log files as
 * `pm2 start`; export writes the names back. Ports 27401–27402.
 */
import { afterAll, describe, expect, it } from 'vitest';
import { cpSync, existsSync, lstatSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { cli, ROOT } from './helpers/cli.js';
import { waitFor } from './helpers/controller.js';
import { manifestRepo, parseReport } from './helpers/manifests.js';
import { isolatedPm2, type IsolatedPm2, type JlistEntry } from './helpers/pm2.js';

const FIXTURE = join(ROOT, 'test', 'testdata', 'ecosystems', 'pm2-names');

const daemons = new Set<IsolatedPm2>();
const dirs: string[] = [];

afterAll(async () => {
  for (const d of daemons) await stop(d);
  for (const d of dirs) rmSync(d, { recursive: true, force: true });
});

function workDir(): string {
  const work = mkdtempSync(join(tmpdir(), 'pm2gt-pm2name-'));
  dirs.push(work);
  cpSync(FIXTURE, work, { recursive: true });
  return work;
}

function daemon(): IsolatedPm2 {
  const pm2 = isolatedPm2('pm2gt-pm2name-');
  daemons.add(pm2);
  return pm2;
}

async function stop(pm2: IsolatedPm2): Promise<void> {
  daemons.delete(pm2);
  await pm2.kill();
}

/** Per process (sorted by name, then pm_id): what PM2 names it and where its default logs go, under the daemon's home written as $PM2_HOME. */
function names(list: JlistEntry[], home: string): Array<Record<string, unknown>> {
  const local = (v: unknown): unknown => (typeof v === 'string' ? v.replace(home, '$PM2_HOME') : v);
  return [...list]
    .sort((a, b) => a.name.localeCompare(b.name) || a.pm_id - b.pm_id)
    .map((p) => ({
      name: p.name,
      namespace: p.pm2_env.namespace,
      exec_mode: p.pm2_env.exec_mode,
      status: p.pm2_env.status,
      out: local(p.pm2_env.pm_out_log_path),
      err: local(p.pm2_env.pm_err_log_path),
      pid_file: local(p.pm2_env.pm_pid_path),
    }))
    // The pm_id in a cluster worker's file names follows the start order: both daemons start the same apps, compared as a set.
    .map((p) => ({ ...p, out: String(p.out).replace(/-\d+\.log$/, '-<pm_id>.log'), err: String(p.err).replace(/-\d+\.log$/, '-<pm_id>.log'), pid_file: String(p.pid_file).replace(/-\d+\.pid$/, '-<pm_id>.pid') }));
}

/** The task named by a process's pm2-gitops marker (kept in pm2_env as JSON text). */
function markerTask(p: JlistEntry): string | undefined {
  const m = p.pm2_env.pm2_gitops;
  return ((typeof m === 'string' ? JSON.parse(m) : m) as { task?: string } | undefined)?.task;
}

async function online(pm2: IsolatedPm2, count: number): Promise<JlistEntry[]> {
  return waitFor(`${count} processes online`, async () => {
    const l = await pm2.jlist();
    return l.length === count && l.every((p) => p.pm2_env.status === 'online') ? l : undefined;
  });
}

interface PlanJson { actions: Array<{ task: string; action: string; reason: string }>; holds: Array<{ task: string }>; inSync: string[] }

async function plan(pm2: IsolatedPm2, work: string, env: string): Promise<PlanJson> {
  const r = await cli(['plan', '--repo', work, '--path', 'deploy', '--env', env, '--json'], { env: pm2.env });
  expect(r.code, r.stderr).toBe(0);
  return JSON.parse(r.stdout) as PlanJson;
}

describe('apps whose PM2 name is not a task name', { timeout: 180_000 }, () => {
  it('[import-pm2-name] pm2 start, import: plan is empty and apply touches nothing; apply on a fresh daemon gives the same names and log files; export writes the names back', async () => {
    const work = workDir();
    const a = daemon();
    const started = await a.pm2(['start', 'ecosystem.config.js'], { cwd: work });
    expect(started.code, started.stderr + started.stdout).toBe(0);
    const original = await online(a, 5);
    expect([...new Set(original.map((p) => p.name))].sort()).toEqual(['API', 'Style Guide', 'mail_sender', 'queue_worker']);

    const imported = await cli(['import', join(work, 'ecosystem.config.js'), '--out', join(work, 'deploy')], { cwd: work });
    expect(imported.code, imported.stderr).toBe(0);

    // Adopted as they run: nothing to create, hold or restart, and no second process beside an original.
    const first = await plan(a, work, 'default');
    expect(first.actions).toEqual([]);
    expect(first.holds).toEqual([]);
    expect(first.inSync).toEqual(['api', 'mail-sender', 'queue-worker', 'style-guide']);
    const applied = await cli(['apply', '--repo', work, '--path', 'deploy', '--env', 'default', '--json'], { env: a.env });
    expect(applied.code, applied.stderr).toBe(0);
    expect(JSON.parse(applied.stdout)).toMatchObject({ converged: true, actions: [] });
    const after = await a.jlist();
    expect(after.map((p) => [p.pm_id, p.name, p.pid]).sort()).toEqual(original.map((p) => [p.pm_id, p.name, p.pid]).sort());
    await stop(a); // frees API's port

    // A fresh daemon: apply starts what pm2 start started, under the same names, with the same default log files.
    const b = daemon();
    const fresh = await cli(['apply', '--repo', work, '--path', 'deploy', '--env', 'default', '--json'], { env: b.env });
    expect(fresh.code, fresh.stderr).toBe(0);
    const made = await online(b, 5);
    expect(names(made, b.home)).toEqual(names(original, a.home));
    expect(names(made, b.home).filter((p) => p.name === 'Style Guide').map((p) => p.out)).toEqual(['$PM2_HOME/logs/Style-Guide-out-<pm_id>.log', '$PM2_HOME/logs/Style-Guide-out-<pm_id>.log']);
    expect(names(made, b.home).find((p) => p.name === 'API')!.out).toBe('$PM2_HOME/logs/API-out.log');
    expect(await (await fetch('http://127.0.0.1:27401/')).json()).toMatchObject({ port: '27401' });
    const again = await plan(b, work, 'default');
    expect(again.actions).toEqual([]);

    const exported = await cli(['export', '--repo', work, '--path', 'deploy', '--env', 'default', '--format', 'json']);
    expect(exported.code, exported.stderr).toBe(0);
    const apps = (JSON.parse(exported.stdout) as { apps: Array<{ name: string }> }).apps;
    expect(apps.map((x) => x.name).sort()).toEqual(['API', 'Style Guide', 'mail_sender', 'queue_worker']);
    // The exported file started by pm2 is adopted too.
    writeFileSync(join(work, 'exported.json'), exported.stdout);
    await b.pm2(['delete', 'all']);
    const c = await b.pm2(['start', join(work, 'exported.json')], { cwd: work });
    expect(c.code, c.stderr).toBe(0);
    expect(names(await online(b, 5), b.home)).toEqual(names(original, a.home));
    expect((await plan(b, work, 'default')).actions).toEqual([]);
  });

  it('[import-pm2-name] append_env_to_name: pm2 start --env production names the app WEB-production; the production Environment adopts it and starts it under that name', async () => {
    const work = workDir();
    const a = daemon();
    const started = await a.pm2(['start', 'ecosystem.env.config.js', '--env', 'production'], { cwd: work });
    expect(started.code, started.stderr + started.stdout).toBe(0);
    const original = await online(a, 1);
    expect(original[0]!.name).toBe('WEB-production');

    const imported = await cli(['import', join(work, 'ecosystem.env.config.js'), '--out', join(work, 'deploy')], { cwd: work });
    expect(imported.code, imported.stderr).toBe(0);
    const first = await plan(a, work, 'production');
    expect(first.actions).toEqual([]);
    expect(first.inSync).toEqual(['web']);

    const b = daemon();
    const fresh = await cli(['apply', '--repo', work, '--path', 'deploy', '--env', 'production'], { env: b.env });
    expect(fresh.code, fresh.stderr).toBe(0);
    const made = await online(b, 1);
    expect(names(made, b.home)).toEqual(names(original, a.home));
    expect(made[0]!.pm2_env.env.MODE).toBe('production');
    // The default Environment (pm2 start without --env) names it WEB.
    const c = daemon();
    const plain = await cli(['apply', '--repo', work, '--path', 'deploy', '--env', 'default'], { env: c.env });
    expect(plain.code, plain.stderr).toBe(0);
    expect((await online(c, 1))[0]!.name).toBe('WEB');
    expect(plain.stdout).toContain('web (PM2: WEB)');
  });

  it('[import-pm2-name] a running task that gets metadata.pm2Name: its processes are replaced by ones under the new name (prune), its code link stays, the next plan is empty', async () => {
    const repo = manifestRepo('pm2gt-pm2name-repo-');
    dirs.push(repo.dir);
    repo.write({ namespace: 'pn-rename', prune: true }, [{ name: 'api' }, { name: 'web' }]);
    const pm2 = daemon();
    const apply = async () => {
      const r = await cli(['apply', '--repo', repo.dir, '--env', 'dev', '--json'], { env: pm2.env });
      return { code: r.code, report: parseReport(r.stdout, r.stderr) };
    };
    expect((await apply()).code).toBe(0);
    expect((await pm2.jlist()).map((p) => p.name).sort()).toEqual(['api', 'web']);

    const doc = { apiVersion: 'pm2-gitops/v1', kind: 'Task', metadata: { name: 'api', pm2Name: 'API' }, spec: { health: { minUptimeSeconds: 0.3, timeoutSeconds: 20 }, process: { script: 'apps/idle.cjs' } } };
    repo.files({ 'base/api.yaml': `${JSON.stringify(doc, null, 2)}\n` });
    const renamed = await apply();
    expect(renamed.code, JSON.stringify(renamed.report)).toBe(0);
    expect(renamed.report.actions.map((a) => [a.task, a.action, a.result])).toEqual([['api', 'create', 'ok'], ['api (PM2)', 'delete', 'ok']]);
    expect(renamed.report.inSync).toEqual(['web']);
    const list = await pm2.jlist();
    expect(list.map((p) => [p.name, p.pm2_env.status, markerTask(p)]).sort()).toEqual([['API', 'online', 'api'], ['web', 'online', 'web']]);
    expect(list.find((p) => p.name === 'API')!.pm2_env.pm_out_log_path).toBe(join(pm2.home, 'logs', 'API-out.log'));
    const link = join(pm2.home, 'pm2-gitops', 'links', 'pn-rename', 'api');
    expect(existsSync(link) && lstatSync(link).isSymbolicLink()).toBe(true);
    const again = await apply();
    expect(again.report).toMatchObject({ converged: true, actions: [], inSync: ['api', 'web'] });
  });
});
