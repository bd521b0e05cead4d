/**
 * What PM2 gives a process started from an ecosystem file, and what pm2-gitops
 * gives it after importing that file, on real daemons: a job PM2 holds in
 * `waiting restart` (autorestart off with a restart_delay) is finished once it
 * exited; PWD is the process's working directory; PM2's `env_<name>` blocks are
 * not carried (the Environment already chose one) and a cluster worker never
 * sees "[object Object]" for anything pm2-gitops put on its process.
 */
import { afterAll, describe, expect, it } from 'vitest';
import { cpSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseDocument } from 'yaml';
import { cli, ROOT } from './helpers/cli.js';
import { waitFor } from './helpers/controller.js';
import { manifestRepo, parseReport, type ApplyReport } from './helpers/manifests.js';
import { isolatedPm2, type IsolatedPm2, type JlistEntry } from './helpers/pm2.js';

const FIXTURE = join(ROOT, 'test', 'testdata', 'ecosystems', 'parity');
const WEB_PORT = 27502; // env_production's
const WORKER_PORT = 27503;

interface Answer { cwd: string; env: Record<string, string> }

/** The answer of the app on `port` that runs under the daemon of `home` (one of an earlier daemon may still hold the port). */
async function ask(port: number, home: string): Promise<Answer | undefined> {
  const res = await fetch(`http://127.0.0.1:${port}/`, { headers: { connection: 'close' } });
  const answer = (await res.json()) as Answer;
  return answer.env.PM2_HOME === home ? answer : undefined;
}

/** The variables of a process env whose value is "[object Object]" (an object PM2 copied in as it is), sorted. */
function objectTexts(env: Record<string, string>): string[] {
  return Object.keys(env).filter((k) => env[k] === '[object Object]').sort();
}

/** Waits until the daemon lists web ×2 and worker online and migrate exited; returns the list. */
async function settled(pm2: IsolatedPm2): Promise<JlistEntry[]> {
  return waitFor('web ×2 and worker online, migrate exited', async () => {
    const l = await pm2.jlist();
    const up = l.filter((p) => p.name !== 'migrate' && p.pm2_env.status === 'online').length;
    const job = l.find((p) => p.name === 'migrate');
    return up === 3 && job && job.pm2_env.status === 'waiting restart' ? l : undefined;
  });
}

const byName = (list: JlistEntry[], name: string): JlistEntry[] => list.filter((p) => p.name === name).sort((a, b) => a.pm_id - b.pm_id);

const cleanup: Array<() => Promise<void> | void> = [];
afterAll(async () => {
  for (const c of cleanup.reverse()) await c();
});

/** An isolated daemon, killed by the test or else after the file; kill() is safe to call twice. */
function daemon(prefix: string): IsolatedPm2 {
  const pm2 = isolatedPm2(prefix);
  let killed: Promise<void> | undefined;
  const kill = (): Promise<void> => (killed ??= pm2.kill());
  cleanup.push(kill);
  return { ...pm2, kill };
}

function workCopy(): string {
  const work = mkdtempSync(join(tmpdir(), 'pm2gt-parity-'));
  cleanup.push(() => rmSync(work, { recursive: true, force: true }));
  cpSync(FIXTURE, work, { recursive: true });
  return work;
}

interface PlanJson { actions: Array<{ task: string; action: string; reason: string; patch?: Array<{ op: string; path: string }> }>; holds: unknown[] }

/** A daemon of its own that ran `pm2 start ecosystem.config.js --env production` in a copy of the fixture. */
async function startedByPm2(): Promise<{ work: string; a: IsolatedPm2; original: JlistEntry[] }> {
  const work = workCopy();
  const a = daemon('pm2gt-parity-a-');
  const started = await a.pm2(['start', 'ecosystem.config.js', '--env', 'production'], { cwd: work });
  expect(started.code, started.stderr + started.stdout).toBe(0);
  const original = await settled(a);
  const imported = await cli(['import', join(work, 'ecosystem.config.js'), '--out', join(work, 'deploy')]);
  expect(imported.code, imported.stderr).toBe(0);
  return { work, a, original };
}

const production = (work: string): string[] => ['--repo', work, '--path', 'deploy', '--env', 'production', '--json'];

async function planOn(pm2: IsolatedPm2, work: string): Promise<PlanJson> {
  const r = await cli(['plan', ...production(work)], { env: pm2.env });
  expect(r.code, r.stderr).toBe(0);
  return parseReport<PlanJson>(r.stdout, r.stderr);
}

/** `apply` of the imported manifests; resolves to its report and how long it took. */
async function applyOn(pm2: IsolatedPm2, work: string): Promise<{ report: ApplyReport; ms: number }> {
  const t0 = Date.now();
  const r = await cli(['apply', ...production(work)], { env: pm2.env });
  const ms = Date.now() - t0;
  expect(r.code, r.stdout + r.stderr).toBe(0);
  return { report: parseReport(r.stdout, r.stderr), ms };
}

describe('an imported ecosystem file under PM2: jobs waiting restart, PWD, env_<name> blocks', { timeout: 180_000 }, () => {
  it('[import-job-waiting-restart] a job with autorestart off and a restart_delay is finished once it exited: apply takes seconds, on the daemon pm2 start used and on a fresh one', async () => {
    const { work, a, original } = await startedByPm2();
    // PM2 holds the job that exited 0 in `waiting restart`, for good (autorestart: false).
    const migrate = byName(original, 'migrate')[0]!;
    expect([migrate.pm2_env.status, migrate.pm2_env.exit_code, migrate.pid]).toEqual(['waiting restart', 0, 0]);
    expect(migrate.pm2_env.env_production).toEqual({ MIGRATE_EXIT: 0 });

    // Adopted as it ran: the job exited 0 with this spec under `pm2 start`, so it is not run again, and nothing differs.
    expect((await planOn(a, work)).actions).toEqual([]);
    const adopted = await applyOn(a, work);
    expect(adopted.ms).toBeLessThan(60_000); // not the 300 s of a job timeout
    expect(adopted.report.actions).toEqual([]);
    const after = byName(await a.jlist(), 'migrate')[0]!;
    expect([after.pm2_env.status, after.pm2_env.exit_code, after.pm2_env.pm_uptime]).toEqual(['waiting restart', 0, migrate.pm2_env.pm_uptime]);
    // Run once: the next plan neither runs it again nor holds it; the adopted web processes were left as they were.
    const again = await planOn(a, work);
    expect([again.actions, again.holds]).toEqual([[], []]);
    expect(byName(await a.jlist(), 'web').map((p) => p.pid)).toEqual(byName(original, 'web').map((p) => p.pid));
    await a.kill();

    const b = daemon('pm2gt-parity-b-');
    const fresh = await applyOn(b, work);
    expect(fresh.ms).toBeLessThan(60_000);
    expect(fresh.report.actions.map((x) => [x.task, x.action, x.result, x.message])).toEqual([
      ['migrate', 'create', 'ok', 'job exited 0'], ['web', 'create', 'ok', 'online'], ['worker', 'create', 'ok', 'online'],
    ]);
    const job = byName(await settled(b), 'migrate')[0]!;
    expect([job.pm2_env.status, job.pm2_env.exit_code]).toEqual(['waiting restart', 0]);
    const planB = await planOn(b, work);
    expect([planB.actions, planB.holds]).toEqual([[], []]);
    await b.kill();
  });

  it('[import-pwd-env] PWD is the process\'s cwd, env_<name> blocks stay in the Environment, a cluster worker sees no "[object Object]" of ours; adoption is not disturbed by either', async () => {
    const { work, a, original } = await startedByPm2();
    // What PM2 does: PWD is the raw `cwd` option (and leaks into the next app of the file), each
    // process keeps env_production, a cluster worker sees it (and PM2's own objects) as "[object Object]".
    const [web0] = byName(original, 'web');
    expect(web0!.pm2_env.env.PWD).toBe('./api');
    expect(web0!.pm2_env.pm_cwd).toBe(join(work, 'api'));
    expect(byName(original, 'worker')[0]!.pm2_env.env.PWD).toBe('./api');
    expect(web0!.pm2_env.env_production).toEqual({ NODE_ENV: 'production', PORT: WEB_PORT });
    const pm2Worker = await waitFor('an answer from web', () => ask(WEB_PORT, a.home));
    const pm2Objects = objectTexts(pm2Worker.env);
    expect(pm2Objects).toContain('env_production');

    // A block the task keeps for export (as a user may add one) is not put on the process either.
    const webManifest = join(work, 'deploy', 'base', 'web.yaml');
    const doc = parseDocument(readFileSync(webManifest, 'utf8'));
    doc.setIn(['spec', 'process', 'env_staging'], { NODE_ENV: 'staging' });
    writeFileSync(webManifest, doc.toString());

    // Adoption: neither PWD nor an env_<name> block is a difference of web or worker.
    const adoption = await planOn(a, work);
    expect(adoption.actions.filter((x) => x.task !== 'migrate')).toEqual([]);
    expect(adoption.actions.flatMap((x) => x.patch ?? [])).toEqual([]);
    await a.kill();

    const b = daemon('pm2gt-parity-b-');
    await applyOn(b, work);
    const list = await settled(b);
    for (const p of list) {
      // PWD is the directory PM2 starts the process in, absolute.
      expect(p.pm2_env.env.PWD, `${p.name}#${p.pm_id} PWD`).toBe(p.pm2_env.pm_cwd);
      expect(Object.keys(p.pm2_env).filter((k) => k.startsWith('env_')), `${p.name} env_ blocks`).toEqual([]);
      // The same variables from the file as under `pm2 start --env production` (as the process sees them: strings).
      const same = byName(original, p.name)[0]!.pm2_env.env;
      for (const key of ['NODE_ENV', 'PORT', 'QUEUE']) expect(p.pm2_env.env[key], `${p.name} ${key}`).toBe(same[key] === undefined ? undefined : String(same[key]));
    }
    const webB = byName(list, 'web');
    expect(webB).toHaveLength(2);
    const gitopsWorker = await waitFor('an answer from web', () => ask(WEB_PORT, b.home));
    expect(gitopsWorker.env.PWD).toBe(webB[0]!.pm2_env.pm_cwd);
    expect(gitopsWorker.env.NODE_ENV).toBe('production');
    // What is left as "[object Object]" is PM2's own (env, axm_*), which every cluster worker of PM2 sees too.
    const ours = objectTexts(gitopsWorker.env);
    expect(ours).toEqual(pm2Objects.filter((k) => !k.startsWith('env_')));
    expect(ours.every((k) => k === 'env' || k.startsWith('axm_'))).toBe(true);
    expect(JSON.parse(gitopsWorker.env.pm2_gitops!)).toMatchObject({ environment: 'production', task: 'web' });
    const forkWorker = await waitFor('an answer from worker', () => ask(WORKER_PORT, b.home));
    expect(forkWorker.env.PWD).toBe(byName(list, 'worker')[0]!.pm2_env.pm_cwd);
    expect(forkWorker.env.QUEUE).toBe('production');
    const planB = await planOn(b, work);
    expect([planB.actions, planB.holds]).toEqual([[], []]);
    await b.kill();
  });

  it('[import-job-waiting-restart] a job that exits 1 while PM2 shows it waiting restart fails at once and is held', async () => {
    const repo = manifestRepo('pm2gt-parity-fail-');
    cleanup.push(() => repo.cleanup());
    const pm2 = daemon('pm2gt-parity-c-');
    repo.write({ namespace: 'parity-fail' }, [
      { name: 'seed', type: 'job', health: { timeoutSeconds: 120 }, process: { script: 'apps/exit.cjs', restart_delay: 10_000, env: { EXIT_CODE: '1', PWD: '/declared' } } },
    ]);
    const t0 = Date.now();
    const applied = await cli(['apply', '--repo', repo.dir, '--env', 'dev', '--json'], { env: pm2.env });
    expect(applied.code, applied.stderr).toBe(4);
    expect(Date.now() - t0).toBeLessThan(60_000);
    expect(parseReport(applied.stdout, applied.stderr).actions.map((x) => [x.task, x.result, x.message])).toEqual([['seed', 'failed', 'job exited with code 1 (waiting restart)']]);
    const [seed] = (await pm2.jlist()).filter((p) => p.name === 'seed');
    expect([seed!.pm2_env.status, seed!.pm2_env.exit_code]).toEqual(['waiting restart', 1]);
    // [import-pwd-env] a PWD the task declares is its own.
    expect(seed!.pm2_env.env.PWD).toBe('/declared');
    // The failed run is not started again with the same spec: a hold names the exit code.
    const planned = parseReport<{ actions: unknown[]; holds: Array<{ task: string; reason: string }> }>((await cli(['plan', '--repo', repo.dir, '--env', 'dev', '--json'], { env: pm2.env })).stdout);
    expect(planned.actions).toEqual([]);
    expect(planned.holds).toEqual([expect.objectContaining({ task: 'seed', reason: expect.stringContaining('exit code 1') as unknown })]);
  });
});
