/**
 * Child process of bench/reconcile.ts: no-op reconciles (observe + diff + plan,
 * no apply) of one environment against the daemon of $PM2_HOME, measured in
 * this process so that its memory is the reconciler's alone.
 *
 * It runs under plain node on the built product (dist/), as the controller
 * does: bench/reconcile.ts strips this file's types into a temp .mjs (no tsx
 * loader in the process, which alone would add ~35 MB RSS).
 * Usage: node noop-probe.mjs <projectRoot> <repoDir> <environment> <runs> [controller|defaults]
 * (controller: the V8 settings `pm2-gitops run` applies; defaults: node's own)
 * Prints one JSON line: per-run times, stage split, and RSS.
 */
import { pathToFileURL } from 'node:url';
import type * as Git from '../../src/adapters/git.js';
import type * as Pm2 from '../../src/adapters/pm2.js';
import type * as Read from '../../src/live/read.js';
import type * as Load from '../../src/manifest/load.js';
import type * as Reconcile from '../../src/reconcile.js';
import type * as Runtime from '../../src/controller/runtime.js';
import type * as Deliver from '../../src/delivery/deliver.js';
import type * as ReadCode from '../../src/delivery/read-code.js';
import type * as Session from '../../src/cli/session.js';

const [root, repoDir, environment, runsArg, settings = 'controller'] = process.argv.slice(2);
if (!root || !repoDir || !environment) throw new Error('usage: noop-probe <projectRoot> <repoDir> <environment> [runs]');
const runs = Number(runsArg ?? 5);

const mb = (bytes: number): number => Math.round((bytes / 1024 / 1024) * 10) / 10;
const baselineRss = process.memoryUsage().rss;
let sampledPeak = baselineRss;
const sample = (): void => { sampledPeak = Math.max(sampledPeak, process.memoryUsage().rss); };
const sampler = setInterval(sample, 5);

const dist = (path: string): string => pathToFileURL(`${root}/dist/${path}`).href;
if (settings === 'controller') ((await import(dist('controller/runtime.js'))) as typeof Runtime).preferSmallHeap();
const { workingTreeRevision } = (await import(dist('adapters/git.js'))) as typeof Git;
const { Pm2Client } = (await import(dist('adapters/pm2.js'))) as typeof Pm2;
const { readLive, resolveDesired } = (await import(dist('live/read.js'))) as typeof Read;
const { loadDesiredState, manifestFilePaths } = (await import(dist('manifest/load.js'))) as typeof Load;
const { reconcileOnce, deliveredCodeOf } = (await import(dist('reconcile.js'))) as typeof Reconcile;
const { deliver, codeTaskOf } = (await import(dist('delivery/deliver.js'))) as typeof Deliver;
const { readWorkingTreeCode } = (await import(dist('delivery/read-code.js'))) as typeof ReadCode;
const { defaultStateDir } = (await import(dist('cli/session.js'))) as typeof Session;

const t0 = performance.now();
const state = loadDesiredState({ repoRoot: repoDir }, environment);
const loadMs = performance.now() - t0;
const revision = await workingTreeRevision(repoDir, '.', state);
// Delivered as `apply` delivers (the build store of this daemon), so that the tasks `apply` started are in sync.
const stateDir = defaultStateDir();
const snapshot = await readWorkingTreeCode({ dir: repoDir, stateDir, tasks: state.tasks.map(codeTaskOf), manifestFiles: manifestFilePaths({ repoRoot: repoDir }) });
const delivery = { stateDir, snapshot };
const pm2 = await Pm2Client.connect();
try {
  const totals: number[] = [];
  const observe: number[] = [];
  const plan: number[] = [];
  let actions = -1;
  let live = -1;
  // One warm-up run (JIT, first use of the connection), then the measured runs.
  for (let i = 0; i <= runs; i++) {
    const s = performance.now();
    const result = await reconcileOnce({ state, repoDir, revision, apply: false, delivery }, { pm2 });
    const ms = performance.now() - s;
    sample();
    actions = result.plan.actions.length;
    live = result.live.length;
    if (i === 0) continue;
    totals.push(ms);
    observe.push(result.timings.observeMs);
    plan.push(result.timings.planMs);
  }
  // Where observe goes: the desired side (PM2's option resolution) and the live side (list + normalize).
  const resolveMs: number[] = [];
  const readMs: number[] = [];
  const code = deliveredCodeOf(await deliver({ stateDir, state, snapshot, build: false }), stateDir, state.namespace);
  for (let i = 0; i < runs; i++) {
    let s = performance.now();
    resolveDesired(state, pm2, { repoDir, revision, code });
    resolveMs.push(performance.now() - s);
    s = performance.now();
    await readLive(pm2, state);
    readMs.push(performance.now() - s);
    sample();
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
    resolveMs,
    readMs,
    baselineRssMb: mb(baselineRss),
    sampledPeakRssMb: mb(sampledPeak),
    maxRssMb: Math.round((process.resourceUsage().maxRSS / 1024) * 10) / 10,
  })}\n`);
} finally {
  clearInterval(sampler);
  await pm2.disconnect();
}
