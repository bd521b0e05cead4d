/**
 * Delivery end to end with `apply` (real PM2, real git, real npm offline):
 * a code-only commit reloads the cluster app under load with no failed
 * request, a failing build touches nothing (and PM2's own restart of a killed
 * worker still loads the old code), a lockfile change installs once, a
 * revert reuses the kept build, jobs run once per spec and code, and a
 * terminal shows each step as it starts and ends.
 */
import { mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { BIN, cli, run } from './helpers/cli.js';
import { waitFor } from './helpers/controller.js';
import { answersOf, appFiles, FAILING_BUILD_JS, greetFiles, load, logLines, pidsByTask, webLockfile } from './helpers/delivery-app.js';
import { git, gitFixture } from './helpers/git.js';
import { parseReport } from './helpers/manifests.js';
import { isolatedPm2 } from './helpers/pm2.js';

const PORT = 26210;
const pm2 = isolatedPm2('pm2gt-deliver-apply-');
const repo = gitFixture(undefined, 'pm2gt-deliver-apply-repo-');
const logs = mkdtempSync(join(tmpdir(), 'pm2gt-deliver-apply-logs-'));
const home = mkdtempSync(join(tmpdir(), 'pm2gt-deliver-apply-home-'));
const env: NodeJS.ProcessEnv = { ...pm2.env, HOME: home };
const stepsLog = join(logs, 'steps.log');
const jobLog = join(logs, 'jobs.log');

afterAll(async () => {
  await pm2.kill();
  repo.cleanup();
  rmSync(logs, { recursive: true, force: true });
  rmSync(home, { recursive: true, force: true });
});

const apply = async (extra: string[] = []) => {
  const r = await cli(['apply', '--repo', repo.work, '--path', 'deploy', '--env', 'dev', '--json', ...extra], { env, timeoutMs: 120_000 });
  return { ...r, report: r.stdout.trim().startsWith('{') ? parseReport(r.stdout, r.stderr) : undefined };
};

const pids = (): Promise<Record<string, number[]>> => pidsByTask(pm2);
const answers = (n?: number): Promise<Set<string>> => answersOf(PORT, n);

beforeAll(async () => {
  repo.commit('web v1', appFiles({ port: PORT, stepsLog, jobLog }, 'v1'));
  repo.commit('lockfile', webLockfile(repo.work, env));
  const first = await apply();
  expect(first.code, first.stderr).toBe(0);
  expect(await answers()).toEqual(new Set(['hello v1']));
  expect(logLines(stepsLog)).toEqual(['install', 'build']);
  expect(logLines(jobLog)).toEqual(['ran']);
}, 180_000);

let greet = '';
let lock = '';

describe('delivery with apply', () => {
  it('[delivery-code-push] a code-only commit reloads the cluster app under load: new code answers, 0 failed requests, nothing else restarts, no install', async () => {
    const before = await pids();
    repo.commit('web v2', { 'deploy/apps/web/src/version.txt': 'v2\n' });
    const traffic = load(PORT);
    await new Promise((r) => setTimeout(r, 300));
    const r = await apply();
    await new Promise((r) => setTimeout(r, 300));
    const seen = await traffic.stop();
    expect(r.code, r.stderr).toBe(0);
    expect(r.report!.actions.map((a) => `${a.action} ${a.task}`)).toEqual(['reload web']);
    expect(r.report!.actions[0]!.reason).toMatch(/^code changed/);
    expect(seen.failed, seen.errors.join('; ')).toBe(0);
    expect(seen.ok).toBeGreaterThan(20);
    expect(seen.bodies.get('hello v2')).toBeGreaterThan(0);
    expect(await answers()).toEqual(new Set(['hello v2']));
    const after = await pids();
    expect(after.idle).toEqual(before.idle);
    expect(after.migrate).toEqual(before.migrate);
    expect(after.web).not.toEqual(before.web);
    // [delivery-jobs] neither the job's spec nor its code changed: it did not run again.
    expect(logLines(jobLog)).toEqual(['ran']);
    // The lockfile did not change: the build step ran, the install did not.
    expect(logLines(stepsLog)).toEqual(['install', 'build', 'build']);
    const again = await apply();
    expect(again.report!.actions).toEqual([]);
  }, 180_000);

  it('[delivery-build-failure] a failing build restarts nothing, the old code answers, the failure is named; a worker killed by kill -9 comes back on the old code', async () => {
    const before = await pids();
    const head = repo.commit('break the build', { 'deploy/apps/web/build.js': FAILING_BUILD_JS });
    const r = await apply([]);
    expect(r.code, r.stdout).toBe(4);
    const failed = r.report!.actions.find((a) => a.task === 'web')!;
    expect(failed.result).toBe('failed');
    expect(failed.message).toMatch(/build of task web failed at run\[0\] `npm run build`: exit code 3/);
    expect(failed.message).toContain('cannot compile src/server.js');
    expect(r.stdout + r.stderr).not.toContain('tok-7f3a9c2e5b');
    expect(await pids()).toEqual(before);
    expect(await answers()).toEqual(new Set(['hello v2']));
    // PM2's own restart after a crash loads the build last applied, never the failed revision's files.
    const victim = before.web![0]!;
    process.kill(victim, 'SIGKILL');
    await waitFor('the killed worker restarted by PM2', async () => {
      const now = await pm2.jlist();
      const web = now.filter((p) => p.name === 'web');
      return web.length === 2 && web.every((p) => p.pm2_env.status === 'online' && p.pid > 0 && p.pid !== victim) && web;
    }, 30_000);
    expect(await answers(20)).toEqual(new Set(['hello v2']));
    // Reverting the broken commit is the build that runs: nothing to do.
    git(repo.work, ['revert', '--no-edit', head]);
    const reverted = await apply();
    expect(reverted.code, reverted.stderr).toBe(0);
    expect(reverted.report!.actions.filter((a) => a.task === 'web')).toEqual([]);
  }, 180_000);

  it('[delivery-lockfile] a lockfile change installs exactly once', async () => {
    greet = repo.commit('greet 1.1.0', greetFiles('1.1.0', 'hi'));
    lock = repo.commit('lockfile for greet 1.1.0', webLockfile(repo.work, env));
    const steps = logLines(stepsLog).length;
    const r = await apply();
    expect(r.code, r.stderr).toBe(0);
    expect(logLines(stepsLog).slice(steps)).toEqual(['install', 'build']);
    expect(await answers()).toEqual(new Set(['hi v2']));
    expect((await apply()).report!.actions).toEqual([]);
    expect(logLines(stepsLog).slice(steps)).toEqual(['install', 'build']);
  }, 180_000);

  it('[delivery-revert] reverting the lockfile change reloads the kept earlier build without a step', async () => {
    const steps = logLines(stepsLog).length;
    git(repo.work, ['revert', '--no-edit', lock, greet]);
    const back = await apply();
    expect(back.code, back.stderr).toBe(0);
    expect(back.report!.actions.map((a) => `${a.action} ${a.task}`)).toEqual(['reload web']);
    expect(await answers()).toEqual(new Set(['hello v2']));
    expect(logLines(stepsLog).slice(steps)).toEqual([]);
    expect(logLines(jobLog)).toEqual(['ran']);
  }, 180_000);

  it('[delivery-jobs] a change of the job\'s own code runs it once more, and only once', async () => {
    repo.commit('migrate v2', { 'deploy/apps/migrate/migrate.js': `require('node:fs').appendFileSync(process.env.JOB_LOG, 'ran v2\\n');\nprocess.exit(0);\n` });
    const r = await apply();
    expect(r.code, r.stderr).toBe(0);
    expect(r.report!.actions.map((a) => `${a.action} ${a.task}`)).toEqual(['restart migrate']);
    expect(logLines(jobLog)).toEqual(['ran', 'ran v2']);
    expect((await apply()).report!.actions).toEqual([]);
    expect(logLines(jobLog)).toEqual(['ran', 'ran v2']);
  }, 120_000);

  it('[delivery-progress] apply in a terminal shows each step (build, install, action, health) as it starts and ends', async () => {
    repo.commit('greet 1.2.0', greetFiles('1.2.0', 'hey'));
    repo.commit('lockfile for greet 1.2.0', webLockfile(repo.work, env));
    // `script` gives the command a terminal, as an operator's shell would.
    const command = [process.execPath, BIN, 'apply', '--repo', repo.work, '--path', 'deploy', '--env', 'dev'].map((a) => `'${a}'`).join(' ');
    const r = await run('script', ['-qec', command, '/dev/null'], { env: { ...env, TERM: 'xterm' }, timeoutMs: 120_000 });
    expect(r.code, r.stdout).toBe(0);
    const text = r.stdout.replace(/\u001b\[[0-9;]*m/g, '');
    const at = (line: RegExp): number => {
      const i = text.split('\n').findIndex((l) => line.test(l));
      expect(i, `${line} in:\n${text}`).toBeGreaterThanOrEqual(0);
      return i;
    };
    const order = [
      at(/▸ web: install `npm ci/), at(/✓ web: install `npm ci.*\d+\.\d s/),
      at(/▸ web: run `npm run build` …/), at(/✓ web: run `npm run build`/),
      at(/▸ web: reload \(code changed.*\) …/), at(/▸ web: health check …/), at(/✓ web: reload ok/),
    ];
    expect(order).toEqual([...order].sort((a, b) => a - b));
    expect(text).not.toContain('tok-7f3a9c2e5b');
    expect(await answers()).toEqual(new Set(['hey v2']));
  }, 180_000);

  it('[delivery-gc] with --keep-builds 1 the build that ran before an apply is kept for a rollback, then collected', async () => {
    const builds = (): string[] => readdirSync(join(pm2.home, 'pm2-gitops', 'builds', 'web')).filter((n) => /^[0-9a-f]{64}$/.test(n)).sort();
    const before = builds();
    repo.commit('web v5', { 'deploy/apps/web/src/version.txt': 'v5\n' });
    expect((await apply(['--keep-builds', '1'])).code).toBe(0);
    const afterFirst = builds();
    expect(afterFirst).toHaveLength(2);
    const previous = afterFirst.filter((d) => before.includes(d));
    expect(previous).toHaveLength(1);
    repo.commit('web v6', { 'deploy/apps/web/src/version.txt': 'v6\n' });
    expect((await apply(['--keep-builds', '1'])).code).toBe(0);
    const afterSecond = builds();
    expect(afterSecond).toHaveLength(2);
    expect(afterSecond).not.toContain(previous[0]);
    expect(await answers()).toEqual(new Set(['hey v6']));
  }, 120_000);
});
