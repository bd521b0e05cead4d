/**
 * A fleet on one machine, against real PM2 daemons and one bare repository.
 *
 * (a) Push → every host converged, for 3, 6 and 12 simulated hosts (each a
 *     controller with its own PM2_HOME, HOME and state dir, `run --host`):
 *     median of 5 pushes, each changing one env value of the task every host
 *     runs; the time from the end of `git push` until every host's status file
 *     on the status branch shows the revision running and converged. Counted
 *     too: status pushes the remote rejected (another host pushed first) per
 *     revision pushed. Beside it, what a PM2 user runs instead: `pm2 deploy`
 *     goes through its hosts one after another, each `git pull` then
 *     `pm2 startOrReload ecosystem.config.js --update-env` (here without ssh).
 * (b) Cold apply of 500 tasks on an empty daemon: `pm2-gitops apply` (every
 *     task started and checked healthy) beside `pm2 start ecosystem.config.js`
 *     on the same 500 apps (returns once PM2 started them). Target: within
 *     1.2× of PM2's own start, per process.
 */
import { execFileSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { startController, waitFor, type RunningController } from '../test/helpers/controller.js';
import { git, gitFixture, type GitFixture } from '../test/helpers/git.js';
import { isolatedPm2, type IsolatedPm2 } from '../test/helpers/pm2.js';
import { benchDaemon, ROOT } from './lib/daemon.js';
import { sleepRepo } from './lib/sleep-repo.js';
import { table } from './lib/table.js';

const SIZES = (process.env.BENCH_FLEET_SIZES ?? '3,6,12').split(',').map(Number);
const PUSHES = 5;
const COLD_TASKS = Number(process.env.BENCH_COLD_TASKS ?? 500);
const TARGET_RATIO = 1.2;
const STATUS = 'pm2-gitops/status';

const median = (xs: number[]): number => { const s = [...xs].sort((a, b) => a - b); return s[Math.floor((s.length - 1) / 2)]!; };

const TASK = `apiVersion: pm2-gitops/v1
kind: Task
metadata: { name: agent }
spec:
  health: { minUptimeSeconds: 0.2, timeoutSeconds: 30 }
  process: { script: apps/idle.cjs }
`;
const environment = (round: number): string => `apiVersion: pm2-gitops/v1
kind: Environment
metadata: { name: dev }
spec:
  resources: [../../base]
  namespace: fleet-bench
  env: { ROUND: "${round}" }
  policy: { prune: true, selfHeal: true }
`;
const IDLE_CJS = 'setInterval(() => {}, 1 << 30);\nprocess.on("SIGINT", () => process.exit(0));\n';

interface FleetRow { hosts: number; medianMs: number; runsMs: number[]; retriesPerPush: number; pm2MedianMs: number }

/** Status push rejections a controller logged so far. */
const rejections = (ctl: RunningController): number => ctl.logs().split('\n').filter((l) => l.includes('status push rejected')).length;

async function fleetRun(size: number): Promise<FleetRow> {
  const repo: GitFixture = gitFixture(undefined, 'pm2gt-fleetb-git-');
  const work = mkdtempSync(join(tmpdir(), 'pm2gt-fleetb-'));
  repo.commit('agent on every host', { 'apps/idle.cjs': IDLE_CJS, 'base/agent.yaml': TASK, 'environments/dev/environment.yaml': environment(0) });
  const hosts: Array<{ name: string; pm2: IsolatedPm2; ctl: RunningController }> = [];
  const statusOf = (h: string): string => { try { return git(repo.remote, ['show', `${STATUS}:status/dev/${h}.md`]); } catch { return ''; } };
  const allRun = (sha: string): boolean => hosts.every((h) => { const s = statusOf(h.name); return s.includes(`| running | \`${sha}\` |`) && s.includes('| result | converged |'); });
  try {
    for (let i = 1; i <= size; i++) {
      const name = `h${String(i).padStart(2, '0')}`;
      const pm2 = isolatedPm2(`pm2gt-fleetb-${name}-`);
      const home = join(work, `home-${name}`);
      mkdirSync(home);
      const ctl = startController({ repo: repo.remote, env: { ...pm2.env, HOME: home }, args: ['--env', 'dev', '--host', name, '--host-timeout', '10m'] });
      hosts.push({ name, pm2, ctl });
    }
    await waitFor(`${size} hosts converged on the first revision`, () => allRun(repo.head()), 300_000, 200);
    const runsMs: number[] = [];
    const before = hosts.reduce((n, h) => n + rejections(h.ctl), 0);
    for (let round = 1; round <= PUSHES; round++) {
      const sha = repo.commit(`round ${round}`, { 'environments/dev/environment.yaml': environment(round) });
      const pushed = Date.now();
      await waitFor(`${size} hosts converged on round ${round}`, () => allRun(sha), 300_000, 50);
      runsMs.push(Date.now() - pushed);
      await new Promise((r) => { setTimeout(r, 1000); });
    }
    const retries = hosts.reduce((n, h) => n + rejections(h.ctl), 0) - before;
    for (const h of hosts) await h.ctl.stop();
    for (const h of hosts) await h.pm2.kill();
    hosts.length = 0;
    const pm2MedianMs = await pm2Way(size, repo);
    return { hosts: size, medianMs: median(runsMs), runsMs, retriesPerPush: retries / PUSHES, pm2MedianMs };
  } finally {
    for (const h of hosts) { if (h.ctl.child.exitCode === null) await h.ctl.stop(); await h.pm2.kill(); }
    repo.cleanup();
    rmSync(work, { recursive: true, force: true });
  }
}

/** The PM2 way on `size` hosts: one after another, `git pull` and `pm2 startOrReload --update-env` (pm2 deploy runs hosts in series). */
async function pm2Way(size: number, repo: GitFixture): Promise<number> {
  const exported = (): string => execFileSync(process.execPath, [join(ROOT, 'bin/pm2-gitops.js'), 'export', '--repo', repo.work, '--env', 'dev'], { encoding: 'utf8' });
  // The ecosystem file is what the repository holds for PM2: committed with each change, pulled by each host.
  repo.commit('ecosystem file', { 'ecosystem.config.js': exported() });
  const hosts: Array<{ clone: string; pm2: IsolatedPm2 }> = [];
  const base = mkdtempSync(join(tmpdir(), 'pm2gt-fleetb-pm2-'));
  try {
    for (let i = 0; i < size; i++) {
      const clone = join(base, `host-${i}`);
      git(base, ['clone', '--quiet', repo.remote, clone]);
      const pm2 = isolatedPm2(`pm2gt-fleetb-pm2-${i}-`);
      const r = await pm2.pm2(['start', 'ecosystem.config.js'], { cwd: clone });
      if (r.code !== 0) throw new Error(`pm2 start failed: ${r.stderr}`);
      hosts.push({ clone, pm2 });
    }
    const runs: number[] = [];
    for (let round = 1; round <= PUSHES; round++) {
      repo.commit(`pm2 round ${round}`, { 'environments/dev/environment.yaml': environment(100 + round) });
      repo.commit(`pm2 round ${round}: ecosystem file`, { 'ecosystem.config.js': exported() });
      const pushed = Date.now();
      for (const h of hosts) {
        git(h.clone, ['pull', '--quiet', '--ff-only', 'origin', 'main']);
        const r = await h.pm2.pm2(['startOrReload', 'ecosystem.config.js', '--update-env'], { cwd: h.clone });
        if (r.code !== 0) throw new Error(`pm2 startOrReload failed: ${r.stderr}`);
      }
      runs.push(Date.now() - pushed);
    }
    return median(runs);
  } finally {
    for (const h of hosts) await h.pm2.kill();
    rmSync(base, { recursive: true, force: true });
  }
}

interface ColdRow { tool: string; ms: number; perProcessMs: number; note: string }

async function coldApply(): Promise<ColdRow[]> {
  const repo = sleepRepo('pm2gt-fleetb-cold-');
  repo.setTasks(COLD_TASKS);
  const ecosystem = execFileSync(process.execPath, [join(ROOT, 'bin/pm2-gitops.js'), 'export', '--repo', repo.dir, '--env', 'bench'], { encoding: 'utf8' });
  // `export` writes paths relative to the repository root: the file is saved there, as a user would.
  writeFileSync(join(repo.dir, 'ecosystem.config.js'), ecosystem);
  const rows: ColdRow[] = [];
  try {
    const a = benchDaemon('pm2gt-fleetb-cold-a-');
    try {
      await a.pm2(['ping']);
      const started = Date.now();
      const r = await a.gitops(['apply', '--repo', repo.dir, '--env', 'bench', '--json']);
      const ms = Date.now() - started;
      if (r.code !== 0) throw new Error(`pm2-gitops apply failed (${r.code}): ${r.stderr.slice(-500)}`);
      const online = (await a.jlist()).filter((p) => p.pm2_env.status === 'online').length;
      rows.push({ tool: 'pm2-gitops apply', ms, perProcessMs: ms / COLD_TASKS, note: `${online} online, each checked healthy before apply returns` });
    } finally { await a.kill(); }
    const b = benchDaemon('pm2gt-fleetb-cold-b-');
    try {
      await b.pm2(['ping']);
      const started = Date.now();
      const r = await b.pm2(['start', 'ecosystem.config.js'], { cwd: repo.dir });
      const ms = Date.now() - started;
      if (r.code !== 0) throw new Error(`pm2 start failed: ${r.stderr.slice(-500)}`);
      const online = (await b.jlist()).filter((p) => p.pm2_env.status === 'online').length;
      rows.push({ tool: 'pm2 start ecosystem.config.js', ms, perProcessMs: ms / COLD_TASKS, note: `${online} online when it returns, none checked` });
    } finally { await b.kill(); }
  } finally { repo.cleanup(); }
  return rows;
}

async function main(): Promise<void> {
  execFileSync(process.execPath, ['node_modules/typescript/bin/tsc', '-p', 'tsconfig.json'], { stdio: 'inherit', cwd: ROOT });
  const fleet: FleetRow[] = [];
  for (const size of SIZES) fleet.push(await fleetRun(size));
  const cold = await coldApply();

  console.log(`\nfleet: push → every host converged (median of ${PUSHES} pushes; one task per host, its env changed)`);
  console.log(table([
    ['hosts', 'pm2-gitops (ms)', 'runs (ms)', 'status-push retries per push', 'pm2 deploy way, hosts in series (ms)'],
    ...fleet.map((f) => [String(f.hosts), String(f.medianMs), f.runsMs.join(' '), f.retriesPerPush.toFixed(1), String(f.pm2MedianMs)]),
  ]));
  console.log(`\ncold apply of ${COLD_TASKS} tasks on an empty daemon`);
  console.log(table([['tool', 'wall (ms)', 'ms per process', 'note'], ...cold.map((c) => [c.tool, String(c.ms), c.perProcessMs.toFixed(1), c.note])]));
  const ratio = cold[0]!.ms / cold[1]!.ms;
  console.log(`\n  pm2-gitops / pm2 start: ${ratio.toFixed(2)}× (target ≤ ${TARGET_RATIO}×): ${ratio <= TARGET_RATIO ? 'met' : 'missed'}`);
}

await main();
