import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { hostname, tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { cli } from './helpers/cli.js';
import { controllerWait, startController, type RunningController } from './helpers/controller.js';
import { git, gitFixture, type GitFixture } from './helpers/git.js';
import { isolatedPm2, type IsolatedPm2, type JlistEntry } from './helpers/pm2.js';
import { tinyRepo } from './helpers/tiny-repo.js';

const STATUS = 'pm2-gitops/status';
const DEV_PORT = 24610;
const QA_PORT = 24611;
const RACE_PORT = 24612;

/** Resolves to the exit code once the controller exits by itself (bounded: it must not hang). */
function exitOf(c: RunningController, timeoutMs = 60_000): Promise<number | null> {
  if (c.child.exitCode !== null) return Promise.resolve(c.child.exitCode);
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`controller did not exit within ${timeoutMs} ms:\n${c.logs()}`)), timeoutMs);
    c.child.once('exit', (code) => { clearTimeout(timer); resolve(code); });
  });
}

/** PM2 God daemons serving `home` (PM2 titles them "PM2 vX: God Daemon (<PM2_HOME>)"). */
function godDaemons(home: string): number[] {
  const pids: number[] = [];
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    let cmd = '';
    try { cmd = readFileSync(`/proc/${entry}/cmdline`, 'utf8'); } catch { continue; }
    if (cmd.includes('God Daemon') && cmd.includes(`(${home})`)) pids.push(Number(entry));
  }
  return pids;
}

/** The folder `run --state-dir ROOT` keeps this repository's state in. */
function repoStateDir(root: string): string {
  const [dir] = readdirSync(root).filter((n) => n.startsWith('remote-'));
  return join(root, dir!);
}

const QA_ENV = (namespace: string): string => `apiVersion: pm2-gitops/v1
kind: Environment
metadata: { name: qa }
spec:
  resources: [../../base]
  namespace: ${namespace}
  policy: { prune: true, selfHeal: true }
  patches:
    - target: { name: web }
      merge: { spec: { health: { http: { url: "http://127.0.0.1:${QA_PORT}/" } }, process: { env: { PORT: "${QA_PORT}" } } } }
`;

describe('[second-controller] one controller per PM2 daemon and environment, one per state dir', () => {
  const NS = 'second-dev';
  const QA_NS = 'second-qa';
  let pm2: IsolatedPm2;
  let other: IsolatedPm2;
  let repo: GitFixture;
  let work: string;
  let keyDir: string;
  let first: RunningController;
  const extra: RunningController[] = [];
  const waitFor = controllerWait(() => first, () => statusText());

  const statusText = (env = 'dev'): string => git(repo.remote, ['show', `${STATUS}:status/${env}.md`]);
  const converged = (sha: string, env = 'dev'): boolean => { try { const s = statusText(env); return s.includes(sha) && s.includes('| result | converged |'); } catch { return false; } };
  const start = (stateDir: string, args: string[] = ['--env', 'dev'], env = pm2.env): RunningController => {
    const c = startController({ repo: repo.remote, env, stateDir, args: [...args, '--signing-key', join(keyDir, 'signing.key')] });
    extra.push(c);
    return c;
  };
  const ours = async (ns: string): Promise<JlistEntry[]> => (await pm2.jlist()).filter((p) => p.pm2_env.namespace === ns);
  const shape = (list: JlistEntry[]): unknown[] => list.map((p) => [p.name, p.pm_id, p.pid, p.pm2_env.restart_time]);
  const sequences = (env: string): number[] => git(repo.remote, ['ls-tree', '--name-only', `${STATUS}:evidence/${env}`]).split('\n').filter(Boolean).sort()
    .map((n) => (JSON.parse(git(repo.remote, ['show', `${STATUS}:evidence/${env}/${n}`])) as { sequence: number }).sequence);

  beforeAll(async () => {
    pm2 = isolatedPm2();
    other = isolatedPm2();
    repo = gitFixture();
    work = mkdtempSync(join(tmpdir(), 'pm2gt-second-'));
    keyDir = join(work, 'keys');
    expect((await cli(['keygen', '--out', keyDir])).code).toBe(0);
    repo.commit('initial', { ...tinyRepo({ env: 'dev', namespace: NS, port: DEV_PORT }), 'environments/qa/environment.yaml': QA_ENV(QA_NS) });
    first = start(join(work, 'state-a'));
    await waitFor('the first controller to converge', () => converged(repo.head()));
  });

  afterAll(async () => {
    for (const c of extra) if (c.child.exitCode === null && c.child.signalCode === null) await c.stop();
    await pm2.kill();
    await other.kill();
    repo.cleanup();
    rmSync(work, { recursive: true, force: true });
  });

  it('[second-controller] a second run for the same PM2_HOME and environment exits 2 naming the lock, its holder\'s pid, host and start time; the first keeps running', async () => {
    const before = shape(await ours(NS));
    const second = start(join(work, 'state-b'));
    expect(await exitOf(second)).toBe(2);
    const lockFile = join(pm2.home, 'pm2-gitops-controller.dev.lock');
    expect(second.logs()).toContain(`another controller runs environment dev on the PM2 daemon of ${pm2.home}: ${lockFile} is held by pid ${first.child.pid} on host ${hostname()} started 20`);
    expect(first.child.exitCode).toBeNull();
    expect(shape(await ours(NS))).toEqual(before);
    // The first one still follows git.
    const sha = repo.commit('greeting two', { 'base/web.yaml': repo.read('base/web.yaml').replace(/GREETING: \S+/, 'GREETING: two') });
    await waitFor('the first controller to apply the new revision', () => converged(sha));
    expect(((await (await fetch(`http://127.0.0.1:${DEV_PORT}/`)).json()) as { greeting: string }).greeting).toBe('two');
  });

  it('[second-controller] a second run on the same state dir exits 2 naming the state dir lock, and starts no PM2 daemon of its own', async () => {
    const second = start(join(work, 'state-a'), ['--env', 'dev'], other.env);
    expect(await exitOf(second)).toBe(2);
    const lockFile = join(repoStateDir(join(work, 'state-a')), 'controller.lock');
    expect(second.logs()).toContain(`another controller uses the state dir ${repoStateDir(join(work, 'state-a'))}: ${lockFile} is held by pid ${first.child.pid} on host ${hostname()}`);
    expect(first.child.exitCode).toBeNull();
    expect(godDaemons(other.home)).toEqual([]);
  });

  it('[second-controller] a run without --env reconciles the environments no one holds, and logs the one another controller holds', async () => {
    const devBefore = shape(await ours(NS));
    const devReports = sequences('dev').length;
    const all = startController({ repo: repo.remote, env: pm2.env, stateDir: join(work, 'state-c') });
    extra.push(all);
    await controllerWait(() => all, () => statusText('qa'))('the qa environment to converge', () => converged(repo.head(), 'qa'));
    expect(all.logs()).toContain(`dev is not reconciled by this controller: another controller runs environment dev on the PM2 daemon of ${pm2.home}`);
    expect((await ours(QA_NS)).map((p) => p.name).sort()).toEqual(['setup', 'web']);
    expect(shape(await ours(NS))).toEqual(devBefore);
    expect(sequences('dev')).toHaveLength(devReports);
    expect(await all.stop()).toBe(0);
    // It gave its leases back.
    expect(existsSync(join(pm2.home, 'pm2-gitops-controller.qa.lock'))).toBe(false);
    expect(existsSync(join(pm2.home, 'pm2-gitops-controller.dev.lock'))).toBe(true);
  });

  it('[second-controller] a manual apply of the environment is refused (exit 2) while the controller runs it, and goes ahead with --force', async () => {
    git(repo.work, ['pull', '--quiet', 'origin', 'main']);
    const before = shape(await ours(NS));
    const refused = await cli(['apply', '--repo', repo.work, '--env', 'dev', '--json'], { env: pm2.env });
    expect(refused.code).toBe(2);
    expect(refused.stderr).toContain(`environment dev is run by a controller on this PM2 daemon: ${join(pm2.home, 'pm2-gitops-controller.dev.lock')} is held by pid ${first.child.pid}`);
    expect(refused.stdout).toBe('');
    expect(shape(await ours(NS))).toEqual(before);
    const forced = await cli(['apply', '--repo', repo.work, '--env', 'dev', '--json', '--force'], { env: pm2.env });
    expect(forced.code, forced.stderr).toBe(0);
    expect((JSON.parse(forced.stdout) as { converged: boolean }).converged).toBe(true);
  });

  it('[second-controller] after kill -9 of the first, a new one takes the leases over and converges, and the evidence chain verifies (sequence 1, 2, 3, …)', async () => {
    const lockFile = join(pm2.home, 'pm2-gitops-controller.dev.lock');
    const killedPid = first.child.pid;
    await first.kill9();
    expect(readFileSync(lockFile, 'utf8').split('\n')[0]).toBe(String(killedPid));
    first = start(join(work, 'state-a'));
    const sha = repo.commit('greeting three', { 'base/web.yaml': repo.read('base/web.yaml').replace(/GREETING: \S+/, 'GREETING: three') });
    await waitFor('the new controller to apply the new revision', () => converged(sha));
    expect(readFileSync(lockFile, 'utf8').split('\n')[0]).toBe(String(first.child.pid));
    expect(((await (await fetch(`http://127.0.0.1:${DEV_PORT}/`)).json()) as { greeting: string }).greeting).toBe('three');
    expect((await ours(NS)).filter((p) => p.name === 'web')).toHaveLength(1);
    expect(await first.stop()).toBe(0);
    expect(existsSync(lockFile)).toBe(false);

    const seq = sequences('dev');
    expect(seq.length).toBeGreaterThanOrEqual(3);
    expect(seq).toEqual(seq.map((_, i) => i + 1));
    const verify = await cli(['verify', '--repo', repo.remote, '--env', 'dev', '--public-key', join(keyDir, 'signing.pub')]);
    expect(verify.stdout).toContain(`dev: ${seq.length} reports, all valid`);
    expect(verify.code).toBe(0);
  });
});

describe('[second-controller] two controllers started at the same instant on an empty PM2_HOME', () => {
  const NS = 'second-race';
  let pm2: IsolatedPm2;
  let repo: GitFixture;
  let work: string;
  let ctls: RunningController[] = [];

  beforeAll(() => {
    pm2 = isolatedPm2();
    repo = gitFixture();
    work = mkdtempSync(join(tmpdir(), 'pm2gt-race-'));
    repo.commit('initial', tinyRepo({ env: 'dev', namespace: NS, port: RACE_PORT }));
  });

  afterAll(async () => {
    for (const c of ctls) if (c.child.exitCode === null && c.child.signalCode === null) await c.stop();
    await pm2.kill();
    repo.cleanup();
    rmSync(work, { recursive: true, force: true });
  });

  it('[second-controller] end with exactly one God daemon and exactly one controller running it', async () => {
    expect(readdirSync(pm2.home)).toEqual([]);
    ctls = ['a', 'b'].map((n) => startController({ repo: repo.remote, env: pm2.env, stateDir: join(work, n), args: ['--env', 'dev'] }));
    const refused = await Promise.race(ctls.map(async (c) => { await exitOf(c); return c; }));
    expect(refused.child.exitCode).toBe(2);
    expect(refused.logs()).toContain('another controller runs environment dev');
    const winner = ctls.find((c) => c !== refused)!;
    const status = (): string => git(repo.remote, ['show', `${STATUS}:status/dev.md`]);
    await controllerWait(() => winner, status)('the other controller to converge', () => { try { return status().includes('| result | converged |'); } catch { return false; } });
    expect(winner.child.exitCode).toBeNull();
    expect(godDaemons(pm2.home)).toHaveLength(1);
    expect((await pm2.jlist()).filter((p) => p.pm2_env.namespace === NS).map((p) => p.name).sort()).toEqual(['setup', 'web']);
    expect(await winner.stop()).toBe(0);
  });
});
