/**
 * Child process of bench/reconcile.ts: no-op reconciles (observe + diff + plan,
 * no apply) of one environment against the daemon of $PM2_HOME, measured in
 * this process so that its memory is the reconciler's alone.
 * Usage: tsx bench/lib/noop-probe.ts <repoDir> <environment> <runs>
 * Prints one JSON line: per-run times, stage split, and RSS.
 */
import { performance } from 'node:perf_hooks';
import { workingTreeRevision } from '../../src/adapters/git.js';
import { Pm2Client } from '../../src/adapters/pm2.js';
import { loadDesiredState } from '../../src/manifest/load.js';
import { reconcileOnce } from '../../src/reconcile.js';

const [repoDir, environment, runsArg] = process.argv.slice(2);
if (!repoDir || !environment) throw new Error('usage: noop-probe <repoDir> <environment> [runs]');
const runs = Number(runsArg ?? 5);

const mb = (bytes: number): number => Math.round((bytes / 1024 / 1024) * 10) / 10;
let sampledPeak = process.memoryUsage().rss;
const sampler = setInterval(() => { sampledPeak = Math.max(sampledPeak, process.memoryUsage().rss); }, 5);
const baselineRss = process.memoryUsage().rss;

const t0 = performance.now();
const state = loadDesiredState({ repoRoot: repoDir }, environment);
const revision = await workingTreeRevision(repoDir, '.', state);
const loadMs = performance.now() - t0;
const pm2 = await Pm2Client.connect();
try {
  const totals: number[] = [];
  const observe: number[] = [];
  const plan: number[] = [];
  let actions = -1;
  let live = -1;
  // One warm-up run (module and JIT warm-up, first connection use), then the measured runs.
  for (let i = 0; i <= runs; i++) {
    const s = performance.now();
    const result = await reconcileOnce({ state, repoDir, revision, apply: false }, { pm2 });
    const ms = performance.now() - s;
    sampledPeak = Math.max(sampledPeak, process.memoryUsage().rss);
    actions = result.plan.actions.length;
    live = result.live.length;
    if (i === 0) continue;
    totals.push(ms);
    observe.push(result.timings.observeMs);
    plan.push(result.timings.planMs);
  }
  clearInterval(sampler);
  process.stdout.write(`${JSON.stringify({
    tasks: state.tasks.length,
    live,
    actions,
    loadMs,
    totals,
    observe,
    plan,
    baselineRssMb: mb(baselineRss),
    sampledPeakRssMb: mb(sampledPeak),
    maxRssMb: Math.round((process.resourceUsage().maxRSS / 1024) * 10) / 10,
  })}\n`);
} finally {
  clearInterval(sampler);
  await pm2.disconnect();
}
