/**
 * Reconcile cost at scale, against real PM2 daemons.
 *
 * (a) One env change among 200 sleeping fork-mode tasks: `pm2-gitops apply`
 *     versus PM2's own `pm2 startOrReload ecosystem.config.js --update-env`
 *     on the same 200 apps. Counted: actions, processes whose pm_id, pid or
 *     restart_time changed (from `pm2 jlist` before and after), wall time.
 *     Target: exactly 1 restart for pm2-gitops.
 * (b) No-op reconcile (observe + diff + plan, no apply) at 50, 200 and 500
 *     tasks against a daemon already running them, measured in a process of
 *     its own (bench/lib/noop-probe.ts) with the product's functions, so that
 *     its RSS is the reconciler's. Targets at 500 tasks: under 1 s, under 120 MB.
 */
import { execFileSync } from 'node:child_process';
import { mkdtempSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { benchDaemon, processesMatching, restarted, ROOT, run, snapshot, type BenchDaemon, type JlistEntry } from './lib/daemon.js';
import { sleepRepo, taskName, type SleepRepo } from './lib/sleep-repo.js';
import { table } from './lib/table.js';

const TASKS = 200;
const CHANGED = 42;
const SIZES = (process.env.BENCH_SIZES ?? '50,200,500').split(',').map(Number);
const RUNS = 5;
const TARGET_MS = 1000;
const TARGET_MB = 120;
const PROBE = join(ROOT, 'bench/lib/noop-probe.ts');

interface Probe {
  tasks: number; live: number; actions: number; loadMs: number;
  totals: number[]; observe: number[]; plan: number[]; resolveMs: number[]; readMs: number[];
  baselineRssMb: number; sampledPeakRssMb: number; maxRssMb: number;
}

/** The probe without its types, as a plain ES module (no TypeScript loader in the measured process). */
function buildProbe(dir: string): string {
  execFileSync(process.execPath, [join(ROOT, 'node_modules/typescript/bin/tsc'), '--ignoreConfig', '--noCheck', '--noResolve', '--module', 'esnext', '--target', 'es2022', '--outDir', dir, PROBE], { stdio: 'inherit' });
  const out = join(dir, 'noop-probe.mjs');
  renameSync(join(dir, 'noop-probe.js'), out);
  return out;
}

interface Row { tool: string; actions: string; restarted: number; wallMs: number; note: string }

function envOf(list: JlistEntry[], name: string): Record<string, unknown> {
  const p = list.find((e) => e.name === name);
  if (!p) throw new Error(`${name} is not in pm2 jlist`);
  return { ...(p.pm2_env.env ?? {}), ...(p.pm2_env as unknown as Record<string, unknown>) };
}

async function waitOnline(d: BenchDaemon, count: number, timeoutMs = 600_000): Promise<JlistEntry[]> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const list = await d.jlist();
    if (list.length === count && list.every((p) => p.pm2_env.status === 'online')) return list;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${count} online processes (have ${list.filter((p) => p.pm2_env.status === 'online').length}/${list.length})`);
    await new Promise((r) => setTimeout(r, 500));
  }
}

function must(r: { code: number; stdout: string; stderr: string }, what: string): void {
  if (r.code !== 0) throw new Error(`${what} exited ${r.code}:\n${r.stderr || r.stdout}`);
}

function exportEcosystem(repo: SleepRepo): string {
  return execFileSync(process.execPath, [join(ROOT, 'bin/pm2-gitops.js'), 'export', '--repo', repo.dir, '--env', 'bench'], { encoding: 'utf8' });
}

/** Step 1: pm2-gitops apply creates 200, one env change, apply again. Returns the ecosystem files before and after the change. */
async function gitopsPath(repo: SleepRepo, d: BenchDaemon): Promise<{ row: Row; createMs: number; ecoBefore: string; ecoAfter: string }> {
  repo.setTasks(TASKS);
  const ecoBefore = exportEcosystem(repo);
  const create = await d.gitops(['apply', '--repo', repo.dir, '--env', 'bench', '--json']);
  must(create, 'pm2-gitops apply (create)');
  const created = (JSON.parse(create.stdout) as { actions: unknown[] }).actions.length;
  const before = await waitOnline(d, TASKS);
  if (created !== TASKS) throw new Error(`first apply took ${created} actions, expected ${TASKS}`);

  repo.setGreeting(CHANGED, 'changed');
  const ecoAfter = exportEcosystem(repo);
  const change = await d.gitops(['apply', '--repo', repo.dir, '--env', 'bench', '--json']);
  must(change, 'pm2-gitops apply (change)');
  const actions = (JSON.parse(change.stdout) as { actions: Array<{ task: string; action: string; result: string }> }).actions;
  const after = await waitOnline(d, TASKS);
  const moved = restarted(snapshot(before), snapshot(after));
  const applied = envOf(after, taskName(CHANGED)).GREETING === 'changed';
  return {
    createMs: create.ms,
    ecoBefore,
    ecoAfter,
    row: {
      tool: 'pm2-gitops apply',
      actions: `${actions.length}${actions.length ? ` (${actions.map((a) => `${a.action} ${a.task}: ${a.result}`).join(', ')})` : ''}`,
      restarted: moved.length,
      wallMs: change.ms,
      note: applied ? 'new env live' : 'NEW ENV NOT LIVE',
    },
  };
}

/** Step 2: the same 200 apps and the same change through PM2's ecosystem file. */
async function pm2Path(ecoBefore: string, ecoAfter: string, d: BenchDaemon, repoDir: string): Promise<{ row: Row; createMs: number }> {
  // `export` writes paths relative to the repository root: the file is saved there, as a user would.
  const dir = repoDir;
  const file = join(dir, 'ecosystem.config.js');
  try {
    writeFileSync(file, ecoBefore);
    const start = await d.pm2(['start', file], { cwd: dir });
    must(start, 'pm2 start ecosystem.config.js');
    const before = await waitOnline(d, TASKS);
    writeFileSync(file, ecoAfter);
    const reload = await d.pm2(['startOrReload', file, '--update-env'], { cwd: dir });
    must(reload, 'pm2 startOrReload --update-env');
    const after = await waitOnline(d, TASKS);
    const moved = restarted(snapshot(before), snapshot(after));
    const applied = envOf(after, taskName(CHANGED)).GREETING === 'changed';
    return {
      createMs: start.ms,
      row: {
        tool: 'pm2 startOrReload --update-env',
        actions: `${TASKS} apps reloaded (fork mode: restart)`,
        restarted: moved.length,
        wallMs: reload.ms,
        note: applied ? 'new env live' : 'NEW ENV NOT LIVE',
      },
    };
  } finally {
    rmSync(file, { force: true });
  }
}

async function partA(daemons: BenchDaemon[]): Promise<void> {
  console.log(`(a) one env change among ${TASKS} fork-mode tasks (task ${taskName(CHANGED)}, env GREETING hello → changed)\n`);
  const repo = sleepRepo();
  try {
    const a = benchDaemon('pm2gt-rec-a-');
    daemons.push(a);
    const gitops = await gitopsPath(repo, a);
    await a.kill();
    const b = benchDaemon('pm2gt-rec-b-');
    daemons.push(b);
    const pm2 = await pm2Path(gitops.ecoBefore, gitops.ecoAfter, b, repo.dir);
    await b.kill();
    const rows = [gitops.row, pm2.row];
    console.log(table([
      ['tool', 'actions', 'restarted processes', 'wall ms', 'result'],
      ...rows.map((r) => [r.tool, r.actions, `${r.restarted}/${TASKS}`, String(r.wallMs), r.note]),
    ]));
    console.log(`\n  initial start of ${TASKS}: pm2-gitops apply ${gitops.createMs} ms, pm2 start ecosystem.config.js ${pm2.createMs} ms (returns before the apps are checked)`);
    const met = gitops.row.restarted === 1 && gitops.row.note === 'new env live';
    console.log(`  target: exactly 1 restart for pm2-gitops → ${met ? 'MET' : 'MISSED'} (${gitops.row.restarted}); PM2's command restarted ${pm2.row.restarted}`);
  } finally {
    repo.cleanup();
  }
}

const median = (xs: number[]): number => {
  const s = [...xs].sort((x, y) => x - y);
  const m = s.length >> 1;
  return s.length % 2 ? s[m]! : (s[m - 1]! + s[m]!) / 2;
};
const fmt = (ms: number): string => ms.toFixed(1);

async function partB(daemons: BenchDaemon[]): Promise<void> {
  console.log(`\n(b) no-op reconcile (observe + diff + plan, no apply), ${RUNS} runs after 1 warm-up, in a node process of its own on dist/\n`);
  const repo = sleepRepo();
  const probeDir = mkdtempSync(join(tmpdir(), 'pm2gt-rec-probe-'));
  const probe = buildProbe(probeDir);
  const d = benchDaemon('pm2gt-rec-c-');
  daemons.push(d);
  const rows: string[][] = [];
  const results: Probe[] = [];
  let compact: Probe | undefined;
  try {
    for (const n of SIZES) {
      repo.setTasks(n);
      const grow = await d.gitops(['apply', '--repo', repo.dir, '--env', 'bench', '--json']);
      must(grow, `pm2-gitops apply (${n} tasks)`);
      await waitOnline(d, n);
      const measure = async (label: string, settings: 'controller' | 'defaults'): Promise<Probe> => {
        const r = await run(process.execPath, [probe, ROOT, repo.dir, 'bench', String(RUNS), settings], { cwd: ROOT, env: d.env });
        must(r, `noop-probe (${n} tasks)`);
        const p = JSON.parse(r.stdout.trim().split('\n').pop()!) as Probe;
        if (p.actions !== 0 || p.live !== n) throw new Error(`no-op reconcile at ${n} tasks planned ${p.actions} actions over ${p.live} live tasks`);
        rows.push([
          label,
          fmt(median(p.totals)),
          fmt(Math.min(...p.totals)),
          fmt(median(p.observe)),
          fmt(median(p.resolveMs)),
          fmt(median(p.readMs)),
          fmt(median(p.plan)),
          fmt(p.loadMs),
          String(p.maxRssMb),
          String(p.baselineRssMb),
          settings === 'controller' ? `${grow.ms}` : '',
        ]);
        return p;
      };
      results.push(await measure(String(n), 'controller'));
      // For comparison only: the same probe with node's default V8 settings.
      if (n === Math.max(...SIZES)) compact = await measure(`${n}, node defaults`, 'defaults');
    }
  } finally {
    repo.cleanup();
    rmSync(probeDir, { recursive: true, force: true });
  }
  console.log(table([
    ['tasks', 'median ms', 'best ms', 'observe', '(resolve', 'read)', 'diff+plan', 'load+render ms', 'peak RSS MB', 'RSS at start MB', 'apply to grow ms'],
    ...rows,
  ]));
  console.log('\n  times in ms; observe, resolve, read, diff+plan are medians. observe = resolve (every desired app through PM2\'s own option');
  console.log('  handling) + read (the daemon\'s full process list, normalised); load+render = reading, rendering and validating the');
  console.log('  manifests once (done per revision, not part of the no-op time). Peak RSS: getrusage maxRSS of the probe process');
  console.log('  (plain node on dist/ with the V8 settings of `pm2-gitops run` (src/controller/runtime.ts), manifests loaded,');
  console.log('  connected, 6 + 5 passes).');
  const last = results.find((p) => p.tasks === 500);
  if (last) {
    const ms = median(last.totals);
    console.log(`  target: 500 tasks under ${TARGET_MS} ms → ${ms < TARGET_MS ? 'MET' : 'MISSED'} (median ${fmt(ms)} ms, best ${fmt(Math.min(...last.totals))} ms)`);
    console.log(`  target: 500 tasks under ${TARGET_MB} MB RSS → ${last.maxRssMb < TARGET_MB ? 'MET' : 'MISSED'} (peak ${last.maxRssMb} MB)`);
    if (compact) console.log(`  (with node's default V8 settings: median ${fmt(median(compact.totals))} ms, peak ${compact.maxRssMb} MB)`);
  }
}

async function main(): Promise<void> {
  execFileSync(process.execPath, [join(ROOT, 'node_modules/typescript/bin/tsc'), '-p', join(ROOT, 'tsconfig.json')], { stdio: 'inherit' });
  const daemons: BenchDaemon[] = [];
  let failed: unknown;
  try {
    if (!process.env.BENCH_SKIP_A) await partA(daemons);
    await partB(daemons);
  } catch (err) {
    failed = err;
  } finally {
    const left: string[] = [];
    for (const d of daemons) if (!(await d.kill())) left.push(d.home);
    const apps = processesMatching(`${tmpdir()}/pm2gt-rec-repo-`);
    console.log(`\ndaemons started: ${daemons.length}; still running: ${left.length ? left.join(', ') : 'none'}; bench app processes left: ${apps.length}`);
  }
  if (failed) throw failed;
}

await main();
