/**
 * The one orchestrator: desired state + PM2 → diff → plan → (apply). Every
 * stage it calls is pure except observe (PM2) and execute (PM2 operations).
 */
import { availableParallelism } from 'node:os';
import { join } from 'node:path';
import { acquireLock } from './adapters/lock.js';
import { silentLogger, withBindings, type Logger } from './adapters/logger.js';
import type { Pm2Client } from './adapters/pm2.js';
import { probeHttp, probeTcp } from './adapters/probe.js';
import { execute, type ExecTask } from './apply/execute.js';
import { deliver, filesCwd, resolveCwd, type TaskDelivery } from './delivery/deliver.js';
import { formatBuildFailure } from './delivery/failure.js';
import { collectBuilds } from './delivery/gc.js';
import { linkedDigest, removeLink, switchLink } from './delivery/links.js';
import type { BuildEvent, BuildFailure, CodeSnapshot } from './delivery/types.js';
import { systemClock, type Clock, type Prober } from './apply/ops.js';
import { CODE_KEY, type LiveTask } from './domain/live.js';
import type { DesiredState } from './domain/manifest.js';
import type { Action, ActionResult, Drift, Plan } from './domain/plan.js';
import { diff } from './diff/diff.js';
import { adopt, inPlaceMarker } from './live/adopt.js';
import { WORKER_VARIANTS } from './live/normalize.js';
import { readLive, resolveDesired, type DeliveredCode, type ResolvedTask } from './live/read.js';
import { plan, type PlanTask } from './plan/plan.js';

/** What delivers the tasks' code (DESIGN section 9): the build store and the code of this revision. */
export interface DeliveryInput {
  /** Root of the build store (the state dir): builds/, links/, shared by `apply` and `run`. */
  stateDir: string;
  /** The code of every task of the state (readCommitCode or readWorkingTreeCode). */
  snapshot: CodeSnapshot;
  /** Builds kept per task after an apply (`--keep-builds`); default 5. */
  keepBuilds?: number;
  /** Run the steps again for a digest whose build failed before (default: report the recorded failure). */
  retryFailed?: boolean;
  onProgress?: (event: BuildEvent) => void;
}

export interface ReconcileInput {
  state: DesiredState;
  /** Absolute checkout the rendered paths are relative to (for tasks that are not delivered). */
  repoDir: string;
  revision: string;
  /** false: observe, diff and plan only (builds are looked up, never made). */
  apply: boolean;
  /** Without it processes run from `repoDir` and code is not compared. */
  delivery?: DeliveryInput;
}

/**
 * The code of one delivered task (DESIGN section 9): the digest the revision
 * wants, the one its processes run (from their marker; `mixed` when workers
 * run different builds), or `adopted` when its processes run from the
 * repository as they were found.
 */
export interface TaskCodeState {
  task: string;
  desired: string;
  running?: string;
  mixed?: boolean;
  adopted?: boolean;
}

/** One task's build in a reconcile: its digest, whether an existing build was reused, or why it failed. */
export interface BuildReport {
  task: string;
  codeDigest: string;
  built: boolean;
  reused?: boolean;
  failure?: BuildFailure;
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
  /** Called as each action starts. */
  onStart?: (action: Action) => void;
  /** Called when an action's PM2 calls are done and its health is awaited. */
  onHealth?: (action: Action) => void;
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
  /** The builds of the delivered tasks (empty without delivery). */
  builds: BuildReport[];
  /** Desired and running code of every delivered task, read from `live` (empty without delivery). */
  code: TaskCodeState[];
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
    ...(r.task.pm2Name !== undefined ? { pm2Name: r.task.pm2Name } : {}),
    type: r.task.type,
    dependsOn: r.task.dependsOn,
    instances: Number(r.comparable.instances),
    ...(r.task.health ? { health: r.task.health } : {}),
    app: r.app,
    comparable: r.comparable,
  };
}

/**
 * Tasks in sync (their processes run the desired code) whose stable link is missing or points at
 * another build (a state dir restored or lost): the link is set to the build
 * their processes run, so that PM2's next own restart loads that code.
 */
function repairLinks(stateDir: string, namespace: string, deliveries: ReadonlyMap<string, TaskDelivery>, thePlan: Plan, logger: Logger): void {
  for (const task of thePlan.inSync) {
    const d = deliveries.get(task);
    if (!d?.built || linkedDigest({ stateDir, env: namespace, task }) === d.code.codeDigest) continue;
    switchLink({ stateDir, env: namespace, task, codeDigest: d.code.codeDigest });
    logger.warn({ task }, `the code link of ${task} was missing or stale; it points at the build its processes run again`);
  }
}

/** Where each delivered task's processes run from and what PM2 resolves their app against. */
export function deliveredCodeOf(deliveries: ReadonlyMap<string, TaskDelivery>, stateDir: string, namespace: string): Map<string, DeliveredCode> {
  return new Map([...deliveries].map(([name, d]) => [name, { cwd: resolveCwd(d), resolveRoot: d.resolveRoot, link: d.link, codeDigest: d.code.codeDigest, filesCwd: filesCwd(stateDir, namespace, d) }]));
}

/** What code each delivered task wants and what its live processes run. */
export function codeStates(delivered: readonly ResolvedTask[], resolved: readonly ResolvedTask[], live: readonly LiveTask[]): TaskCodeState[] {
  const liveByName = new Map(live.map((l) => [l.name, l]));
  const adopted = new Set(resolved.filter((r) => r.marker.codeDigest === undefined).map((r) => r.task.name));
  const out: TaskCodeState[] = [];
  for (const d of delivered) {
    const desired = d.marker.codeDigest;
    if (!desired) continue;
    const l = liveByName.get(d.task.name);
    const state: TaskCodeState = { task: d.task.name, desired };
    if (adopted.has(d.task.name) && l && inPlaceMarker(l)) state.adopted = true;
    else if (l && l.instances.length) {
      const running = typeof l.process[CODE_KEY] === 'string' ? l.process[CODE_KEY] as string : undefined;
      if (running) state.running = running;
      const variants = (l.process[WORKER_VARIANTS] ?? {}) as Record<string, string[]>;
      if (Object.values(variants).some((fields) => fields.includes(CODE_KEY))) state.mixed = true;
    }
    out.push(state);
  }
  return out.sort((a, b) => a.task.localeCompare(b.task));
}

/** Whether every delivered task that has processes runs the desired code, in every worker. */
export function codeConverged(code: readonly TaskCodeState[]): boolean {
  return code.every((c) => c.adopted || (c.running === c.desired && !c.mixed));
}

/** Observes, diffs and plans; with `apply`, executes the plan under the daemon's apply lock. */
export async function reconcileOnce(input: ReconcileInput, deps: ReconcileDeps): Promise<ReconcileResult> {
  const clock = deps.clock ?? systemClock;
  const { state } = input;
  // Every line of a reconcile names its environment, once (a controller's logger may carry it already).
  const logger = withBindings(deps.logger ?? silentLogger, { environment: state.environment });
  const release = input.apply
    ? await acquireLock(join(deps.pm2.home, 'pm2-gitops.lock'), { timeoutMs: deps.lockTimeoutMs, note: `${state.environment} ${input.revision}` })
    : undefined;
  try {
    const t0 = clock.now();
    const deliveries = input.delivery
      ? await deliver({ stateDir: input.delivery.stateDir, state, snapshot: input.delivery.snapshot, build: input.apply, concurrency: deps.concurrency, revision: input.revision, ...(input.delivery.retryFailed ? { retryFailed: true } : {}), ...(input.delivery.onProgress ? { onProgress: input.delivery.onProgress } : {}) })
      : new Map<string, TaskDelivery>();
    const deliveredCode = input.delivery ? deliveredCodeOf(deliveries, input.delivery.stateDir, state.namespace) : new Map<string, DeliveredCode>();
    const builds: BuildReport[] = [...deliveries.values()].map((d) => ({ task: d.code.task, codeDigest: d.code.codeDigest, built: d.built, ...(d.reused !== undefined ? { reused: d.reused } : {}), ...(d.failure ? { failure: d.failure } : {}) }))
      .sort((a, b) => a.task.localeCompare(b.task));
    const cpus = deps.cpus ?? availableParallelism();
    const delivered = resolveDesired(state, deps.pm2, { repoDir: input.repoDir, revision: input.revision, cpus, code: deliveredCode });
    const live = await readLive(deps.pm2, state);
    const resolved = input.delivery
      ? adopt({ pm2: deps.pm2, state, repoDir: input.repoDir, revision: input.revision, cpus, stateDir: input.delivery.stateDir, resolved: delivered, live, record: input.apply })
      : delivered;
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
    const base = { environment: state.environment, namespace: state.namespace, revision: input.revision, drifts, plan: thePlan, builds };
    // A refused plan (it would delete more than the prune limit allows) changes nothing that runs.
    if (!input.apply || thePlan.refusal) {
      const code = codeStates(delivered, resolved, live);
      const converged = thePlan.actions.length === 0 && !thePlan.holds.some((h) => h.blocking) && !thePlan.refusal && codeConverged(code);
      if (thePlan.refusal) logger.warn({ revision: input.revision, deletes: thePlan.refusal.deletes, managed: thePlan.refusal.managed }, thePlan.refusal.reason);
      return { ...base, results: [], live, converged, code, timings: { observeMs: t1 - t0, planMs: t2 - t1, applyMs: 0 } };
    }
    logger.info({ revision: input.revision, actions: thePlan.actions.length }, 'applying plan');
    deps.onPlan?.(thePlan);
    const stateDir = input.delivery?.stateDir;
    if (stateDir) repairLinks(stateDir, state.namespace, deliveries, thePlan, logger);
    const blocked = new Map([...deliveries.values()].filter((d) => d.failure).map((d) => [d.code.task, formatBuildFailure(d.failure!)]));
    const results = await execute({
      blocked,
      onStart: deps.onStart,
      ...(deps.onHealth ? { onHealth: deps.onHealth } : {}),
      beforeAction: (action) => {
        const d = deliveries.get(action.task);
        if (stateDir && d && action.action !== 'delete') switchLink({ stateDir, env: state.namespace, task: action.task, codeDigest: d.code.codeDigest });
      },
      afterDelete: (action) => {
        // A code link is named after the task that started the processes (their marker): an undeclared process
        // pm2-gitops never started has none, and the link of a task still declared (its processes had another PM2 name) stays.
        const task = live.find((l) => l.name === action.task)?.marker?.task;
        if (stateDir && task !== undefined && !state.tasks.some((t) => t.name === task)) removeLink({ stateDir, env: state.namespace, task });
      },
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
    if (stateDir) {
      // What ran before this apply is the last good revision's code (a rollback links it again), and what runs now: both are kept whatever --keep-builds says.
      const protect = [...live, ...after].flatMap((l) => (l.marker?.codeDigest ? [{ task: l.marker.task, codeDigest: l.marker.codeDigest }] : []));
      const gc = await collectBuilds({ stateDir, keep: input.delivery?.keepBuilds, protect });
      if (gc.removed.length) logger.info({ removed: gc.removed.length }, 'removed old builds');
    }
    const code = codeStates(delivered, resolved, after);
    // Converged only when what runs is what the revision wants, code included (never the old build reported as the new).
    const converged = results.every((r) => r.result === 'ok') && !thePlan.holds.some((h) => h.blocking) && codeConverged(code);
    return { ...base, results, live: after, converged, code, timings: { observeMs: t1 - t0, planMs: t2 - t1, applyMs: clock.now() - t2 } };
  } finally {
    release?.();
  }
}
