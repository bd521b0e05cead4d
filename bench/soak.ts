/**
 * Soak: the controller against a real PM2 daemon for many reconcile cycles of
 * random valid manifest changes (about 50 tasks), with the PM2 daemon killed
 * every 100 cycles and the git remote unreachable every 150. After each
 * converge the live state must equal the desired one: the declared tasks and
 * nothing else in the namespace, each with its instance count and env, no
 * orphan or duplicate process, nothing outside the namespace touched; at the
 * end the evidence chain must verify. Prints cycles, actions, violations
 * (target 0), and the controller's RSS and open file descriptors at start and
 * end (target: no growth beyond 20%).
 *
 *   npx tsx bench/soak.ts            # SOAK_CYCLES=1000 SOAK_TASKS=50 SOAK_KILL_EVERY=100 SOAK_OFFLINE_EVERY=150
 */
import { execFileSync } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { startController, waitFor, type RunningController } from '../test/helpers/controller.js';
import { git, gitFixture, type GitFixture } from '../test/helpers/git.js';
import { IDLE_CJS } from '../test/helpers/manifests.js';
import { isolatedPm2, type IsolatedPm2, type JlistEntry } from '../test/helpers/pm2.js';
import { ROOT } from './lib/daemon.js';

const CYCLES = Number(process.env.SOAK_CYCLES ?? 1000);
const TASKS = Number(process.env.SOAK_TASKS ?? 50);
const KILL_EVERY = Number(process.env.SOAK_KILL_EVERY ?? 100);
const OFFLINE_EVERY = Number(process.env.SOAK_OFFLINE_EVERY ?? 150);
const NS = 'soak';
const CONVERGE_MS = 120_000;

/** One declared task of the model the bench keeps of the repository. */
interface ModelTask {
  name: string;
  kind: 'sleep' | 'cluster' | 'job';
  instances: number;
  value: string;
  /** `sleep` argument: a number unique to this bench run, so orphans can be found by command line. */
  seconds: number;
}

/** A small deterministic PRNG (mulberry32), so that a run can be replayed with SOAK_SEED. */
function prng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

const seed = Number(process.env.SOAK_SEED ?? Date.now() % 1_000_000);
const random = prng(seed);
const pick = <T>(list: readonly T[]): T => list[Math.floor(random() * list.length)]!;
let nextSeconds = 800_000 + Math.floor(random() * 100_000) * 10;

function taskYaml(t: ModelTask): string {
  const health = t.kind === 'job' ? '{ timeoutSeconds: 60 }' : '{ minUptimeSeconds: 0.1, timeoutSeconds: 60 }';
  const proc = t.kind === 'sleep'
    ? `{ script: sleep, args: ["${t.seconds}"], interpreter: none, env: { VALUE: "${t.value}" } }`
    : t.kind === 'cluster'
      ? `{ script: apps/idle.cjs, exec_mode: cluster, instances: ${t.instances}, env: { VALUE: "${t.value}" } }`
      : `{ script: apps/exit.cjs, env: { VALUE: "${t.value}", DELAY_MS: "50" } }`;
  return `apiVersion: pm2-gitops/v1
kind: Task
metadata: { name: ${t.name} }
spec:
  type: ${t.kind === 'job' ? 'job' : 'service'}
  health: ${health}
  process: ${proc}
`;
}

const ENVIRONMENT = `apiVersion: pm2-gitops/v1
kind: Environment
metadata: { name: dev }
spec:
  resources: [../../base]
  namespace: ${NS}
  policy: { prune: true, selfHeal: true }
`;

function newTask(name: string): ModelTask {
  const r = random();
  const kind = r < 0.1 ? 'cluster' : r < 0.14 ? 'job' : 'sleep';
  nextSeconds += 10;
  return { name, kind, instances: kind === 'cluster' ? 1 + Math.floor(random() * 2) : 1, value: `v${Math.floor(random() * 1e9)}`, seconds: nextSeconds };
}

/** Applies 1–3 random valid changes to the model; returns the files to commit. */
function mutate(model: Map<string, ModelTask>, pool: string[]): Record<string, string | null> {
  const files: Record<string, string | null> = {};
  const changes = 1 + Math.floor(random() * 3);
  for (let i = 0; i < changes; i++) {
    const names = [...model.keys()];
    const r = random();
    if (r < 0.1 && model.size > TASKS - 8) {
      const gone = pick(names);
      model.delete(gone);
      files[`base/${gone}.yaml`] = null;
      continue;
    }
    if (r < 0.2) {
      const free = pool.filter((n) => !model.has(n));
      if (free.length) {
        const t = newTask(pick(free));
        model.set(t.name, t);
        files[`base/${t.name}.yaml`] = taskYaml(t);
        continue;
      }
    }
    const t = model.get(pick(names))!;
    if (r < 0.3 && t.kind === 'cluster') t.instances = t.instances === 1 ? 3 : 1;
    else if (r < 0.4 && t.kind === 'sleep') { nextSeconds += 10; t.seconds = nextSeconds; }
    else t.value = `v${Math.floor(random() * 1e9)}`;
    files[`base/${t.name}.yaml`] = taskYaml(t);
  }
  return files;
}

function statusText(repo: GitFixture): string | undefined {
  try { return git(repo.remote, ['show', 'pm2-gitops/status:status/dev.md']); } catch { return undefined; }
}

function converged(repo: GitFixture, sha: string): boolean {
  const text = statusText(repo);
  return text !== undefined && text.includes(`| revision | \`${sha}\``) && text.includes('| result | converged |');
}

/** pids of processes that carry this daemon's PM2_HOME in their environment (PM2 passes it on to every app). */
function processesWithHome(home: string): number[] {
  const out: number[] = [];
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    try {
      const environ = readFileSync(`/proc/${entry}/environ`, 'latin1');
      if (environ.split('\0').includes(`PM2_HOME=${home}`)) out.push(Number(entry));
    } catch { /* gone, or not ours */ }
  }
  return out;
}

function commandLine(pid: number): string {
  try { return readFileSync(`/proc/${pid}/cmdline`, 'latin1').split('\0').join(' ').trim(); } catch { return ''; }
}

function usage(pid: number): { rssKb: number; fds: number } {
  const status = readFileSync(`/proc/${pid}/status`, 'utf8');
  return { rssKb: Number(/VmRSS:\s+(\d+)/.exec(status)?.[1] ?? 0), fds: readdirSync(`/proc/${pid}/fd`).length };
}

/** Every difference between the model and PM2, as readable violations. */
async function check(pm2: IsolatedPm2, model: Map<string, ModelTask>, sentinel: { pmId: number; pid: number; restarts: number }, controllerPid: number): Promise<string[]> {
  const list: JlistEntry[] = await pm2.jlist();
  const problems: string[] = [];
  const managed = list.filter((p) => p.pm2_env.namespace === NS);
  const byName = new Map<string, JlistEntry[]>();
  for (const p of managed) byName.set(p.name, [...(byName.get(p.name) ?? []), p]);
  for (const name of byName.keys()) if (!model.has(name)) problems.push(`${name}: runs in PM2 but is not declared`);
  for (const t of model.values()) {
    const procs = byName.get(t.name) ?? [];
    if (procs.length !== t.instances) problems.push(`${t.name}: ${procs.length} processes, ${t.instances} declared`);
    for (const p of procs) {
      const env = p.pm2_env.env ?? {};
      if (env.VALUE !== t.value) problems.push(`${t.name}#${p.pm_id}: VALUE differs from the manifest`);
      const want = t.kind === 'job' ? 'stopped' : 'online';
      if (p.pm2_env.status !== want) problems.push(`${t.name}#${p.pm_id}: ${p.pm2_env.status}, expected ${want}`);
    }
  }
  const outside = list.filter((p) => p.pm2_env.namespace !== NS);
  const s = outside.find((p) => p.pm_id === sentinel.pmId);
  if (!s || s.pid !== sentinel.pid || s.pm2_env.restart_time !== sentinel.restarts || outside.length !== 1) problems.push('the process outside the namespace was touched');
  // Orphans: processes with this PM2_HOME that PM2 does not list (the daemon, the controller and PM2 clients aside).
  const known = new Set(list.map((p) => p.pid));
  const godPid = Number(readFileSync(join(pm2.home, 'pm2.pid'), 'utf8'));
  for (const pid of processesWithHome(pm2.home)) {
    if (known.has(pid) || pid === godPid || pid === controllerPid || pid === process.pid) continue;
    const cmd = commandLine(pid);
    if (cmd === '' || /pm2\/bin\/pm2|PM2 v|^git |\bgit\b|pm2-gitops\.js/.test(cmd)) continue;
    problems.push(`orphan process ${pid}: ${cmd.slice(0, 80)}`);
  }
  return problems;
}

async function startSentinel(pm2: IsolatedPm2, dir: string): Promise<{ pmId: number; pid: number; restarts: number }> {
  // Same name as a managed task, other namespace: the controller must never touch it.
  const r = await pm2.pm2(['start', 'sleep', '--name', 't000', '--namespace', 'outside', '--interpreter', 'none', '--', '999999'], { cwd: dir });
  if (r.code !== 0) throw new Error(`cannot start the sentinel: ${r.stderr}`);
  const p = await waitFor('the sentinel online', async () => (await pm2.jlist()).find((e) => e.pm2_env.namespace === 'outside' && e.pm2_env.status === 'online'));
  return { pmId: p.pm_id, pid: p.pid, restarts: p.pm2_env.restart_time };
}

function findPublicKey(stateDir: string): string | undefined {
  const walk = (dir: string): string | undefined => {
    for (const e of readdirSync(dir, { withFileTypes: true })) {
      const full = join(dir, e.name);
      if (e.isFile() && e.name === 'signing.pub') return full;
      if (e.isDirectory() && !['mirror.git', 'releases', 'status', 'builds'].includes(e.name)) {
        const found = walk(full);
        if (found) return found;
      }
    }
    return undefined;
  };
  return walk(stateDir);
}

async function main(): Promise<void> {
  execFileSync(process.execPath, ['node_modules/typescript/bin/tsc', '-p', 'tsconfig.json'], { cwd: ROOT, stdio: 'inherit' });
  const pm2 = isolatedPm2('pm2gt-soak-');
  const repo = gitFixture(undefined, 'pm2gt-soak-git-');
  const stateDir = mkdtempSync(join(tmpdir(), 'pm2gt-soak-state-'));
  const scratch = mkdtempSync(join(tmpdir(), 'pm2gt-soak-cwd-'));
  const pool = Array.from({ length: TASKS + 10 }, (_, i) => `t${String(i).padStart(3, '0')}`);
  const model = new Map<string, ModelTask>();
  for (const name of pool.slice(0, TASKS)) model.set(name, newTask(name));
  const violations: string[] = [];
  let actions = 0;
  let kills = 0;
  let outages = 0;
  let ctl: RunningController | undefined;
  const started = Date.now();
  try {
    mkdirSync(scratch, { recursive: true });
    const initial: Record<string, string> = {
      'apps/idle.cjs': IDLE_CJS,
      'apps/exit.cjs': 'setTimeout(() => process.exit(0), Number(process.env.DELAY_MS || 50));\n',
      'environments/dev/environment.yaml': ENVIRONMENT,
    };
    for (const t of model.values()) initial[`base/${t.name}.yaml`] = taskYaml(t);
    let sha = repo.commit('initial', initial);
    let sentinel = await startSentinel(pm2, scratch);
    ctl = startController({ repo: repo.remote, env: pm2.env, stateDir, args: ['--env', 'dev', '--interval', '1s', '--resync', '5s'] });
    const controllerPid = ctl.child.pid!;
    await waitFor('the first revision converged', () => converged(repo, sha), CONVERGE_MS, 200);
    const first = usage(controllerPid);
    const countActions = (s: string) => { actions += Number(/"actions":(\d+)/.exec(s)?.[1] ?? 0); };
    let logAt = ctl.logs().length;
    for (let cycle = 1; cycle <= CYCLES; cycle++) {
      if (cycle % KILL_EVERY === 0) {
        // kill -9 of God: every managed process dies with it (and the sentinel).
        kills++;
        const god = Number(readFileSync(join(pm2.home, 'pm2.pid'), 'utf8'));
        process.kill(god, 'SIGKILL');
        await waitFor('the daemon gone', () => { try { process.kill(god, 0); return false; } catch { return true; } }, 10_000);
        // A program outside the namespace outlives its daemon; the controller rightly leaves it alone, so the bench removes its own.
        try { process.kill(sentinel.pid, 'SIGKILL'); } catch { /* already gone */ }
      }
      if (cycle % OFFLINE_EVERY === 0) {
        // The remote away: the last good revision keeps self-healing; a stopped task comes back.
        outages++;
        renameSync(repo.remote, `${repo.remote}.away`);
        const victim = pick([...model.values()].filter((t) => t.kind === 'sleep')).name;
        await pm2.pm2(['stop', victim]);
        await waitFor(`${victim} healed while the remote is away`, async () => (await pm2.jlist()).some((p) => p.name === victim && p.pm2_env.namespace === NS && p.pm2_env.status === 'online'), CONVERGE_MS, 200)
          .catch((err: Error) => { violations.push(`cycle ${cycle}: ${err.message.split('\n')[0]}`); });
        renameSync(`${repo.remote}.away`, repo.remote);
      }
      sha = repo.commit(`cycle ${cycle}`, mutate(model, pool));
      try {
        await waitFor(`cycle ${cycle} converged`, () => converged(repo, sha), CONVERGE_MS, 100);
      } catch (err) {
        violations.push(`cycle ${cycle}: ${(err as Error).message.split('\n')[0]}`);
        continue;
      }
      if (cycle % KILL_EVERY === 0) sentinel = await startSentinel(pm2, scratch);
      const problems = await check(pm2, model, sentinel, controllerPid);
      for (const p of problems) violations.push(`cycle ${cycle}: ${p}`);
      const logs = ctl.logs();
      for (const line of logs.slice(logAt).split('\n')) if (line.includes('"msg":"applying plan"')) countActions(line);
      logAt = logs.length;
      if (cycle % 50 === 0) console.error(`  … cycle ${cycle}: ${actions} actions, ${violations.length} violations, ${Math.round((Date.now() - started) / 1000)} s`);
    }
    const last = usage(controllerPid);
    const pub = findPublicKey(stateDir);
    const verify = pub
      ? execFileSync(process.execPath, [join(ROOT, 'bin/pm2-gitops.js'), 'verify', '--repo', repo.remote, '--public-key', pub], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] })
      : 'no signing.pub found';
    const growth = (a: number, b: number) => `${a > 0 ? Math.round(((b - a) / a) * 100) : 0}%`;
    const lines = [
      `soak: ${CYCLES} cycles of random valid manifest changes, ${TASKS} tasks, seed ${seed}, ${Math.round((Date.now() - started) / 1000)} s`,
      `  daemon killed (kill -9 of God): ${kills} times; remote unreachable: ${outages} times`,
      `  actions applied: ${actions}`,
      `  violations: ${violations.length}   (target 0)`,
      ...violations.slice(0, 20).map((v) => `    - ${v}`),
      `  controller RSS: ${Math.round(first.rssKb / 1024)} MB at start, ${Math.round(last.rssKb / 1024)} MB at end (${growth(first.rssKb, last.rssKb)}; target ≤ 20%)`,
      `  controller open fds: ${first.fds} at start, ${last.fds} at end (${growth(first.fds, last.fds)}; target ≤ 20%)`,
      `  evidence chain: ${verify.trim().split('\n')[0]}`,
      `  a PM2 user instead: a cron of \`git pull && pm2 startOrReload ecosystem.config.js\` — no check that anything runs, no record, no healing while the remote is away`,
    ];
    console.log(lines.join('\n'));
    mkdirSync(join(ROOT, '.tmp'), { recursive: true });
    writeFileSync(join(ROOT, '.tmp/soak.json'), `${JSON.stringify({ at: new Date().toISOString(), lines }, null, 2)}\n`);
    if (violations.length) process.exitCode = 1;
  } finally {
    if (existsSync(`${repo.remote}.away`)) renameSync(`${repo.remote}.away`, repo.remote);
    if (ctl && ctl.child.exitCode === null) await ctl.stop();
    await pm2.kill();
    repo.cleanup();
    rmSync(stateDir, { recursive: true, force: true });
    rmSync(scratch, { recursive: true, force: true });
  }
}

await main();
