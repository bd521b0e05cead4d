/**
 * Delivery end to end with the controller (real PM2, real git, real npm
 * offline): `apply` and `run` share the build store so switching between
 * them changes nothing, `policy.rollback` returns a build whose new code
 * fails health to the kept previous build, a failing build is named in the
 * status file (and `status --json`) for as long as its revision stays bad,
 * and a controller on a fresh PM2 daemon never claims a revision runs that
 * runs nowhere.
 */
import { spawn } from 'node:child_process';
import { copyFileSync, existsSync, mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { BIN, cli } from './helpers/cli.js';
import { controllerWait, startController, type RunningController } from './helpers/controller.js';
import { answersOf, APP_ROOT, appFiles, FAILING_BUILD_JS, logLines, pidsByTask, SERVER_SRC, webLockfile } from './helpers/delivery-app.js';
import { git, gitFixture } from './helpers/git.js';
import { parseReport } from './helpers/manifests.js';
import { isolatedPm2, type IsolatedPm2 } from './helpers/pm2.js';

const PORT = 26220;
const STATUS = 'pm2-gitops/status';
const TOKEN = 'tok-7f3a9c2e5b';
let pm2: IsolatedPm2 = isolatedPm2('pm2gt-deliver-ctl-');
const repo = gitFixture(undefined, 'pm2gt-deliver-ctl-repo-');
const logs = mkdtempSync(join(tmpdir(), 'pm2gt-deliver-ctl-logs-'));
const home = mkdtempSync(join(tmpdir(), 'pm2gt-deliver-ctl-home-'));
const stepsLog = join(logs, 'steps.log');
const jobLog = join(logs, 'jobs.log');
const envOf = (p: IsolatedPm2): NodeJS.ProcessEnv => ({ ...p.env, HOME: home });
let ctl: RunningController | undefined;

const statusText = (): string => git(repo.remote, ['show', `${STATUS}:status/dev.md`]);
const waitFor = controllerWait(() => ctl, () => statusText());
const startOn = (p: IsolatedPm2): RunningController =>
  startController({ repo: repo.remote, env: envOf(p), stateDir: join(p.home, 'pm2-gitops'), args: ['--path', APP_ROOT, '--env', 'dev', '--resync', '1s'] });
const converged = (sha: string) => waitFor(`converged at ${sha.slice(0, 12)}`, () => { try { const s = statusText(); return s.includes(`\`${sha}\``) && s.includes('| result | converged |') && s; } catch { return false; } }, 60_000);

const pids = (): Promise<Record<string, number[]>> => pidsByTask(pm2);
const answers = (n?: number): Promise<Set<string>> => answersOf(PORT, n);

afterAll(async () => {
  if (ctl && ctl.child.exitCode === null) await ctl.stop();
  await pm2.kill();
  repo.cleanup();
  rmSync(logs, { recursive: true, force: true });
  rmSync(home, { recursive: true, force: true });
});

let v1 = '';
let v2 = '';

beforeAll(async () => {
  repo.commit('web v1', appFiles({ port: PORT, stepsLog, jobLog, policy: 'rollback: true' }, 'v1'));
  v1 = repo.commit('lockfile', webLockfile(repo.work, envOf(pm2)));
  ctl = startOn(pm2);
  await converged(v1);
  expect(await answers()).toEqual(new Set(['hello v1']));
}, 120_000);

describe('delivery with the controller', () => {
  it('[delivery-apply-run] apply after run plans nothing; run after apply changes nothing and builds nothing', async () => {
    expect(await ctl!.stop()).toBe(0);
    const plan = await cli(['plan', '--repo', repo.work, '--path', APP_ROOT, '--env', 'dev', '--json'], { env: envOf(pm2) });
    expect(plan.code, plan.stderr).toBe(0);
    expect(parseReport<{ actions: unknown[] }>(plan.stdout, plan.stderr).actions).toEqual([]);
    v2 = repo.commit('web v2', { [`${APP_ROOT}/apps/web/src/version.txt`]: 'v2\n' });
    const applied = await cli(['apply', '--repo', repo.work, '--path', APP_ROOT, '--env', 'dev', '--json'], { env: envOf(pm2) });
    expect(applied.code, applied.stderr).toBe(0);
    expect(await answers()).toEqual(new Set(['hello v2']));
    const before = await pids();
    const steps = logLines(stepsLog).length;
    ctl = startOn(pm2);
    const status = await converged(v2);
    expect(await pids()).toEqual(before);
    expect(logLines(stepsLog).length).toBe(steps);
    // The status says which code runs, the same digest the revision wants.
    const json = await cli(['status', '--repo', repo.remote, '--env', 'dev', '--json'], { env: envOf(pm2) });
    const parsed = JSON.parse(json.stdout) as { environments: Record<string, { converged: boolean; tasks: Array<{ task: string; code?: { running?: string; desired?: string } }> }> };
    const web = parsed.environments.dev!.tasks.find((t) => t.task === 'web')!;
    expect(web.code!.running).toMatch(/^[0-9a-f]{12}$/);
    expect(web.code!.running).toBe(web.code!.desired);
    expect(parsed.environments.dev!.converged).toBe(true);
    expect(status).toContain(`| \`${web.code!.running}\` |`);
  }, 180_000);

  it('[delivery-rollback] policy.rollback returns new code that fails health to the kept previous build, without rebuilding it', async () => {
    const steps = logLines(stepsLog).length;
    const bad = repo.commit('web v3 answers 500', {
      [`${APP_ROOT}/apps/web/src/version.txt`]: 'v3\n',
      [`${APP_ROOT}/apps/web/src/server.js`]: SERVER_SRC.replace('res.end(greet', '(res.statusCode = 500) && res.end(greet'),
    });
    const status = await waitFor('rolled back', () => { const s = statusText(); return s.includes(`\`${bad}\``) && s.includes('**rolled back**') && s; }, 90_000);
    expect(status).toContain('## Rollback');
    expect(await answers()).toEqual(new Set(['hello v2']));
    // Only the new code was built; going back linked the kept build again.
    expect(logLines(stepsLog).slice(steps)).toEqual(['build']);
  }, 180_000);

  it('[delivery-build-failure] a failing build restarts nothing; the status names task, step, exit code and output tail for as long as the revision is bad, never the secret', async () => {
    const before = await pids();
    const broken = repo.commit('break the build', { [`${APP_ROOT}/apps/web/build.js`]: FAILING_BUILD_JS });
    const status = await waitFor('the build failure in the status', () => { const s = statusText(); return s.includes(`\`${broken}\``) && s.includes('## Build failures') && s; }, 60_000);
    expect(status).toMatch(/- web: build of task web failed at run\[0\] `npm run build`: exit code 3/);
    expect(status).toContain('build: cannot compile src/server.js');
    expect(await pids()).toEqual(before);
    expect(await answers()).toEqual(new Set(['hello v2']));
    // Later passes keep saying it while the revision stays marked bad.
    await new Promise((r) => setTimeout(r, 3000));
    expect(statusText()).toContain('## Build failures');
    const json = JSON.parse((await cli(['status', '--repo', repo.remote, '--env', 'dev', '--json'], { env: envOf(pm2) })).stdout) as { environments: Record<string, { buildFailures: Array<{ task: string; message: string; tail: string[] }> }> };
    const failure = json.environments.dev!.buildFailures[0]!;
    expect(failure.task).toBe('web');
    expect(failure.message).toContain('exit code 3');
    expect(failure.tail.join('\n')).toContain('cannot compile');
    const history = git(repo.remote, ['log', '-p', STATUS]);
    expect(history).not.toContain(TOKEN);
    expect(history).toContain('sha256:');
  }, 180_000);

  it('[delivery-fresh-daemon] on a fresh PM2_HOME the controller keeps its state there, delivers from scratch and never claims what runs elsewhere', async () => {
    expect(await ctl!.stop()).toBe(0);
    ctl = undefined;
    // The host keeps its signing key (the evidence chain goes on with it); everything else is new.
    const root = join(pm2.home, 'pm2-gitops');
    const keyDir = readdirSync(root).map((d) => join(root, d)).find((d) => existsSync(join(d, 'signing.key')))!;
    for (const f of ['signing.key', 'signing.pub']) copyFileSync(join(keyDir, f), join(logs, f));
    await pm2.kill();
    pm2 = isolatedPm2('pm2gt-deliver-ctl-fresh-');
    // Back to web v2's code: the digest the old daemon ran, not yet built in the new store.
    git(repo.work, ['checkout', v2, '--', `${APP_ROOT}/apps/web`]);
    repo.commit('web v2 again', {});
    // No --state-dir: the default belongs to the daemon.
    const child = spawn(process.execPath, [BIN, 'run', '--repo', repo.remote, '--path', APP_ROOT, '--env', 'dev', '--interval', '1s', '--signing-key', join(logs, 'signing.key')], { env: envOf(pm2), stdio: ['ignore', 'ignore', 'pipe'] });
    let log = '';
    child.stderr.on('data', (d: Buffer) => { log += d.toString(); });
    ctl = { child, stateDir: join(pm2.home, 'pm2-gitops'), logs: () => log, stop: () => { child.kill('SIGTERM'); return new Promise((r) => child.once('exit', r)); }, kill9: async () => { child.kill('SIGKILL'); } };
    const status = await waitFor('a status from the fresh daemon', async () => {
      const s = statusText();
      const live = (await pm2.jlist()).filter((p) => p.name === 'web').map((p) => p.pid);
      return live.length === 2 && live.every((pid) => s.includes(String(pid))) && s;
    }, 90_000);
    expect(existsSync(join(pm2.home, 'pm2-gitops'))).toBe(true);
    expect(existsSync(join(home, '.pm2-gitops'))).toBe(false);
    expect(await answers()).toEqual(new Set(['hello v2']));
    expect(status).not.toContain('nothing: no process');
  }, 180_000);
});
