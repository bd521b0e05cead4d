/**
 * The one orchestrator: desired state + PM2 → diff → plan → (apply). Every
 * stage it calls is pure except observe (PM2) and execute (PM2 operations).
 */
import { availableParallelism } from 'node:os';
import { join } from 'node:path';
import { acquireLock } from './adapters/lock.js';
import { silentLogger, type Logger } from './adapters/logger.js';
import type { Pm2Client } from './adapters/pm2.js';
import { probeHttp, probeTcp } from './adapters/probe.js';
import { execute, type ExecTask } from './apply/execute.js';
import { systemClock, type Clock, type Prober } from './apply/ops.js';
import type { LiveTask } from './domain/live.js';
import type { DesiredState } from './domain/manifest.js';
import type { ActionResult, Drift, Plan } from './domain/plan.js';
import { diff } from './diff/diff.js';
import { readLive, resolveDesired, type ResolvedTask } from './live/read.js';
import { plan, type PlanTask } from './plan/plan.js';

export interface ReconcileInput {
  state: DesiredState;
  /** Absolute checkout the rendered paths are relative to. */
  repoDir: string;
  revision: string;
  /** false: observe, diff and plan only. */
  apply: boolean;
}

export interface ReconcileDeps {
  pm2: Pm2Client;
  logger?: Logger;
  clock?: Clock;
  prober?: Prober;
  cpus?: number;
  /** Parallel actions; default 8. */
  concurrency?: number;
  lockTimeoutMs?: number;
  /** Called with the plan about to be executed (apply only), before its first action. */
  onPlan?: (plan: Plan) => void;
  onResult?: (result: ActionResult) => void;
}

export interface ReconcileResult {
  environment: string;
  namespace: string;
  revision: string;
  drifts: Drift[];
  plan: Plan;
  results: ActionResult[];
  /** Live state after apply (before, when only planning). */
  live: LiveTask[];
  /** Every action succeeded and nothing blocks. */
  converged: boolean;
  timings: { observeMs: number; planMs: number; applyMs: number };
}

/** Probes over real HTTP and TCP. */
export const defaultProber: Prober = { http: (url, status) => probeHttp(url, status), tcp: (host, port) => probeTcp(host, port) };

function planTaskOf(r: ResolvedTask): PlanTask {
  return {
    name: r.task.name,
    type: r.task.type,
    dependsOn: r.task.dependsOn,
    execMode: r.comparable.exec_mode === 'cluster' ? 'cluster' : 'fork',
    instances: Number(r.comparable.instances),
    specDigest: r.marker.specDigest ?? '',
  };
}

function execTaskOf(r: ResolvedTask): ExecTask {
  return {
    name: r.task.name,
    type: r.task.type,
    dependsOn: r.task.dependsOn,
    instances: Number(r.comparable.instances),
    ...(r.task.health ? { health: r.task.health } : {}),
    app: r.app,
    comparable: r.comparable,
  };
}

/** Observes, diffs and plans; with `apply`, executes the plan under the daemon's apply lock. */
export async function reconcileOnce(input: ReconcileInput, deps: ReconcileDeps): Promise<ReconcileResult> {
  const clock = deps.clock ?? systemClock;
  const logger = deps.logger ?? silentLogger;
  const { state } = input;
  const release = input.apply
    ? await acquireLock(join(deps.pm2.home, 'pm2-gitops.lock'), { timeoutMs: deps.lockTimeoutMs, note: `${state.environment} ${input.revision}` })
    : undefined;
  try {
    const t0 = clock.now();
    const resolved = resolveDesired(state, deps.pm2, { repoDir: input.repoDir, revision: input.revision, cpus: deps.cpus ?? availableParallelism() });
    const live = await readLive(deps.pm2, state);
    const t1 = clock.now();
    const drifts = diff(resolved.map((r) => ({ name: r.task.name, type: r.task.type, comparable: r.comparable })), live);
    const thePlan = plan({
      environment: state.environment,
      namespace: state.namespace,
      revision: input.revision,
      tasks: resolved.map(planTaskOf),
      drifts,
      live,
      policy: state.policy,
    });
    const t2 = clock.now();
    const base = { environment: state.environment, namespace: state.namespace, revision: input.revision, drifts, plan: thePlan };
    // A refused plan (it would delete more than the prune limit allows) changes nothing that runs.
    if (!input.apply || thePlan.refusal) {
      const converged = thePlan.actions.length === 0 && !thePlan.holds.some((h) => h.blocking) && !thePlan.refusal;
      if (thePlan.refusal) logger.warn({ environment: state.environment, revision: input.revision, deletes: thePlan.refusal.deletes, managed: thePlan.refusal.managed }, thePlan.refusal.reason);
      return { ...base, results: [], live, converged, timings: { observeMs: t1 - t0, planMs: t2 - t1, applyMs: 0 } };
    }
    logger.info({ environment: state.environment, revision: input.revision, actions: thePlan.actions.length }, 'applying plan');
    deps.onPlan?.(thePlan);
    const results = await execute({
      plan: thePlan,
      tasks: resolved.map(execTaskOf),
      live,
      ops: deps.pm2,
      prober: deps.prober ?? defaultProber,
      clock,
      concurrency: deps.concurrency,
      onResult: (r) => {
        logger[r.result === 'ok' ? 'info' : 'warn']({ task: r.task, action: r.action, result: r.result, durationMs: r.durationMs, message: r.message }, `${r.action} ${r.task}: ${r.result}`);
        deps.onResult?.(r);
      },
    });
    const after = await readLive(deps.pm2, state);
    const converged = results.every((r) => r.result === 'ok') && !thePlan.holds.some((h) => h.blocking);
    return { ...base, results, live: after, converged, timings: { observeMs: t1 - t0, planMs: t2 - t1, applyMs: clock.now() - t2 } };
  } finally {
    release?.();
  }
}
