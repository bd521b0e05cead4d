/**
 * The PM2 daemon killed under a running controller (kill -9 of God, and
 * `pm2 kill`): the outage is reported, a new daemon is started under the same
 * PM2_HOME and the last applied revision runs again without duplicates; a
 * commit pushed meanwhile is applied; SIGTERM during an outage still exits.
 */
import { existsSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { controllerWait, startController, type RunningController } from './helpers/controller.js';
import { git, gitFixture, type GitFixture } from './helpers/git.js';
import { isolatedPm2, type IsolatedPm2, type JlistEntry } from './helpers/pm2.js';

const WEB_PORT = 24230;
const API_PORT = 24231;
const NS = 'ctl-daemon';
const STATUS = 'pm2-gitops/status';

const SERVER_CJS = `require('node:http').createServer((q, s) => s.end(JSON.stringify({ pid: process.pid, greeting: process.env.GREETING }))).listen(Number(process.env.PORT), '127.0.0.1');\n`;

function manifests(greeting: string): Record<string, string> {
  const task = (name: string, port: number, extra: string): string => `apiVersion: pm2-gitops/v1
kind: Task
metadata: { name: ${name} }
spec:
  health: { http: { url: "http://127.0.0.1:${port}/" }, minUptimeSeconds: 0.2, timeoutSeconds: 15 }
  process:
    script: apps/server.cjs
${extra}    env: { PORT: "${port}", GREETING: ${greeting} }
`;
  return {
    'apps/server.cjs': SERVER_CJS,
    // Without PM2's agent a fork-mode process outlives a daemon killed with SIGKILL, holding its port.
    'base/web.yaml': task('web', WEB_PORT, '    pmx: false\n'),
    'base/api.yaml': task('api', API_PORT, '    exec_mode: cluster\n    instances: 2\n'),
    'environments/dev/environment.yaml': `apiVersion: pm2-gitops/v1
kind: Environment
metadata: { name: dev }
spec:
  resources: [../../base]
  namespace: ${NS}
  policy: { prune: true, selfHeal: true }
`,
  };
}

async function answer(port: number): Promise<{ pid: number; greeting: string } | undefined> {
  try {
    return (await (await fetch(`http://127.0.0.1:${port}/`)).json()) as { pid: number; greeting: string };
  } catch {
    return undefined;
  }
}

function alive(pid: number): boolean {
  try {
    return !/^\d+ \(.*\) [ZX]/.test(readFileSync(`/proc/${pid}/stat`, 'utf8'));
  } catch {
    return false;
  }
}

interface Report { outcome: string; reason?: string; problems: string[] }

describe('the PM2 daemon killed under the controller', () => {
  let pm2: IsolatedPm2;
  let repo: GitFixture;
  let ctl: RunningController;
  let head = '';
  /** A web process left without a daemon at the end, to stop after the tests. */
  let leftover: number | undefined;
  const statusText = (): string => git(repo.remote, ['show', `${STATUS}:status/dev.md`]);
  const waitFor = controllerWait(() => ctl, statusText);
  const godPid = (): number => Number(readFileSync(join(pm2.home, 'pm2.pid'), 'utf8'));
  const ours = async (): Promise<JlistEntry[]> => (await pm2.jlist()).filter((p) => p.pm2_env.namespace === NS);
  const reports = (): Report[] => git(repo.remote, ['ls-tree', '--name-only', `${STATUS}:evidence/dev`]).split('\n').filter(Boolean)
    .map((n) => JSON.parse(git(repo.remote, ['show', `${STATUS}:evidence/dev/${n}`])) as Report);

  /** Waits for a daemon other than `old`, then for every process to be online and answering. */
  async function recovered(old: number): Promise<JlistEntry[]> {
    // Never ask the pm2 CLI before the controller started a daemon: the CLI would start one itself.
    await waitFor('a new PM2 daemon', () => { try { const pid = godPid(); return pid !== old && alive(pid); } catch { return false; } }, 30_000);
    const procs = await waitFor('web and both api workers online', async () => {
      const list = await ours();
      const online = list.filter((p) => p.pm2_env.status === 'online');
      return online.length === 3 && list.length === 3 ? list : undefined;
    }, 30_000, 250);
    await waitFor('web and api to answer', async () => (await answer(WEB_PORT)) && (await answer(API_PORT)), 30_000);
    return procs;
  }

  beforeAll(() => {
    pm2 = isolatedPm2();
    repo = gitFixture();
    head = repo.commit('initial', manifests('one'));
    ctl = startController({ repo: repo.remote, env: pm2.env, args: ['--env', 'dev'] });
  });

  afterAll(async () => {
    rmSync(join(pm2.home, 'pm2-gitops-daemon.lock'), { force: true });
    if (leftover && alive(leftover)) process.kill(leftover, 'SIGKILL');
    if (ctl.child.exitCode === null && ctl.child.signalCode === null) await ctl.stop();
    await pm2.kill();
    repo.cleanup();
  });

  it('applies the first revision', async () => {
    await waitFor('converged', () => { try { const s = statusText(); return s.includes(head) && s.includes('| result | converged |'); } catch { return false; } });
    expect((await answer(WEB_PORT))?.greeting).toBe('one');
  });

  it('[daemon-killed] kill -9 of the daemon: reported unreachable, then a new daemon runs the revision again within 30 s, a commit pushed meanwhile included, without duplicates', async () => {
    const oldWeb = (await answer(WEB_PORT))!.pid;
    const god = godPid();
    const killedAt = Date.now();
    process.kill(god, 'SIGKILL');
    head = repo.commit('greet again', { 'base/web.yaml': manifests('two')['base/web.yaml']!, 'base/api.yaml': manifests('two')['base/api.yaml']! });
    await recovered(god);
    await waitFor('the commit pushed meanwhile to be served', async () => (await answer(WEB_PORT))?.greeting === 'two' && (await answer(API_PORT))?.greeting === 'two', 30_000);
    expect(Date.now() - killedAt).toBeLessThan(30_000);
    const procs = await ours();
    expect(procs.map((p) => p.pm2_env.status)).toEqual(['online', 'online', 'online']);
    // The old web outlived its daemon and was stopped before the new one started: one web, on its port.
    expect(alive(oldWeb)).toBe(false);
    expect(procs.filter((p) => p.name === 'web').map((p) => p.pid)).toEqual([(await answer(WEB_PORT))!.pid]);
    expect(procs.filter((p) => p.name === 'api')).toHaveLength(2);
    await waitFor('converged on the commit pushed meanwhile', () => { const s = statusText(); return s.includes(head) && s.includes('| result | converged |'); });
    const unreachable = reports().filter((r) => r.reason === 'daemon-unreachable');
    expect(unreachable.length).toBeGreaterThanOrEqual(1);
    expect(unreachable[0]!.outcome).toBe('failed');
    expect(unreachable[0]!.problems.join('\n')).toMatch(/PM2 daemon .*unreachable since \d{4}-\d\d-\d\dT/);
    const history = git(repo.remote, ['log', '-p', STATUS, '--', 'status/dev.md']);
    expect(history).toContain('| reason | daemon-unreachable |');
    expect(history).toMatch(/\| daemon \| \*\*unreachable\*\* since \d{4}-/);
    expect(statusText()).not.toContain('| daemon |');
  });

  it('[daemon-killed] pm2 kill: a new daemon runs the revision again', async () => {
    const god = godPid();
    const before = reports().filter((r) => r.reason === 'daemon-unreachable').length;
    expect((await pm2.pm2(['kill'])).code).toBe(0);
    await recovered(god);
    expect((await answer(WEB_PORT))?.greeting).toBe('two');
    await waitFor('a second unreachable report', () => reports().filter((r) => r.reason === 'daemon-unreachable').length > before);
    await waitFor('converged again', () => statusText().includes('| result | converged |') && !statusText().includes('| daemon |'));
  });

  it('[daemon-killed] SIGTERM while the daemon cannot be restarted exits 0 within 10 s', async () => {
    // Another process holding the daemon start lock keeps the controller from starting a new daemon.
    writeFileSync(join(pm2.home, 'pm2-gitops-daemon.lock'), `${process.pid}\ntest\n`);
    leftover = (await answer(WEB_PORT))?.pid;
    process.kill(godPid(), 'SIGKILL');
    const status = await waitFor('the status to say the daemon is unreachable', () => { const s = statusText(); return s.includes('| daemon | **unreachable**') ? s : undefined; });
    expect(status).toContain('| reason | daemon-unreachable |');
    expect(status).toMatch(/\| running \| unknown: PM2 is unreachable \(last applied `[0-9a-f]{40}`\) \|/);
    expect(status).toMatch(/\| web \| service \| \? unknown/);
    // SIGTERM while the controller waits for the daemon: the step it is in does not finish.
    await waitFor('the controller to wait for the daemon', () => ctl.logs().split('\n').slice(-5).some((l) => l.includes('connecting to the PM2 daemon again')));
    await new Promise((r) => { setTimeout(r, 500); });
    const stoppedAt = Date.now();
    const code = await ctl.stop();
    expect(code).toBe(0);
    expect(Date.now() - stoppedAt).toBeLessThan(10_000);
    expect(existsSync(join(pm2.home, 'pm2-gitops-daemon.lock'))).toBe(true);
    expect(ctl.logs()).toContain('the current step did not finish in time');
  });
});
