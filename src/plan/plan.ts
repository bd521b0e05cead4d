/**
 * plan (pure): drifts + desired tasks + policy → the minimal ordered actions
 * (DESIGN.md section 3), with holds for what it deliberately leaves alone.
 */
import { CODE_KEY, hasExited, type LiveTask } from '../domain/live.js';
import type { Policy, PruneLimit } from '../domain/manifest.js';
import type { Action, Drift, Hold, Plan, PlanRefusal } from '../domain/plan.js';

/** What the planner needs to know of a desired task. */
export interface PlanTask {
  name: string;
  type: 'service' | 'job';
  dependsOn: string[];
  /** Desired exec mode and process count. */
  execMode: 'fork' | 'cluster';
  instances: number;
  /** Digest of the job's spec, compared with the marker of its last run. */
  specDigest: string;
}

export interface PlanInput {
  environment: string;
  namespace: string;
  revision: string;
  tasks: readonly PlanTask[];
  drifts: readonly Drift[];
  live: readonly LiveTask[];
  policy: Pick<Policy, 'prune' | 'selfHeal'> & Partial<Pick<Policy, 'pruneLimit'>>;
}

/** The most deletes `limit` allows among `managed` tasks. */
function allowedDeletes(limit: PruneLimit, managed: number): number {
  if (typeof limit === 'number') return limit;
  return Math.floor((Number(limit.slice(0, -1)) * managed) / 100);
}

/**
 * The refusal of a plan that deletes more managed tasks than the policy allows,
 * or every one of them (a typo in `resources`, a damaged checkout) unless the
 * limit is "100%" or a count that covers them all on purpose.
 */
export function checkPruneLimit(deletes: number, managed: number, limit: PruneLimit = '50%'): PlanRefusal | undefined {
  if (deletes === 0) return undefined;
  const all = deletes >= managed;
  const explicitAll = limit === '100%' || (typeof limit === 'number' && limit >= managed);
  if (deletes <= allowedDeletes(limit, managed) && (!all || explicitAll)) return undefined;
  const written = typeof limit === 'number' ? String(limit) : `"${limit}"`;
  const what = all ? `every managed task (${deletes} of ${managed})` : `${deletes} of ${managed} managed tasks`;
  return {
    kind: 'prune-limit',
    deletes,
    managed,
    limit: written,
    reason: `held: this revision would delete ${what}, more than spec.policy.pruneLimit ${written} allows; nothing of it was applied. `
      + 'If the deletions are intended, raise spec.policy.pruneLimit in the Environment manifest (a count, or "100%" to allow deleting every task) and commit.',
  };
}

/**
 * Dependency depth of each task (0 for tasks without dependencies); the plan's
 * primary order. Walked with an explicit stack: a chain of many thousand tasks
 * would overflow the call stack of a recursive walk.
 */
export function dependencyLevels(tasks: readonly PlanTask[]): Map<string, number> {
  const byName = new Map(tasks.map((t) => [t.name, t]));
  const levels = new Map<string, number>();
  const depsOf = (name: string): string[] => byName.get(name)?.dependsOn.filter((d) => byName.has(d)) ?? [];
  for (const t of tasks) {
    if (levels.has(t.name)) continue;
    const seen = new Set<string>([t.name]);
    const stack = [{ name: t.name, deps: depsOf(t.name), next: 0, level: 0 }];
    while (stack.length > 0) {
      const top = stack[stack.length - 1]!;
      if (top.next < top.deps.length) {
        const dep = top.deps[top.next++]!;
        const known = levels.get(dep);
        // A task already on the way counts as depth 0: cycles are rejected by validation; never loop here.
        if (known !== undefined || seen.has(dep)) top.level = Math.max(top.level, 1 + (known ?? 0));
        else {
          seen.add(dep);
          stack.push({ name: dep, deps: depsOf(dep), next: 0, level: 0 });
        }
        continue;
      }
      stack.pop();
      levels.set(top.name, top.level);
      const parent = stack[stack.length - 1];
      if (parent) parent.level = Math.max(parent.level, 1 + top.level);
    }
  }
  return levels;
}

function describePatch(drift: Drift): string {
  const fields = [...new Set(drift.patch.map((op) => op.path.split('/').slice(1, 3).join('.')))];
  return fields.length > 4 ? `${fields.slice(0, 4).join(', ')} and ${fields.length - 4} more` : fields.join(', ');
}

/** What changed, for an action's reason: the code (a new build), options, or both. */
function describeChange(drift: Drift): string {
  const code = drift.patch.some((op) => op.path === `/${CODE_KEY}`);
  const options = describePatch({ ...drift, patch: drift.patch.filter((op) => op.path !== `/${CODE_KEY}`) });
  if (code && options) return `code and options changed: ${options}`;
  return code ? 'code changed' : `options changed: ${options}`;
}

function onlyInstances(drift: Drift): boolean {
  return drift.patch.length > 0 && drift.patch.every((op) => op.path === '/instances');
}

function jobAction(task: PlanTask, drift: Drift, live: LiveTask | undefined, input: PlanInput, base: Omit<Action, 'action' | 'reason'>): Action | Hold | undefined {
  // A job runs once per (spec, code): a revision that changes neither does not run it again.
  if (drift.kind === 'missing' || !live) return { ...base, action: 'create', reason: 'job has not run with this spec and code' };
  const marker = live.marker;
  // A job without a marker, in sync where it ran (adopted from `pm2 start`), has run with this spec: it is not run again.
  if (drift.kind === 'changed' || (marker !== undefined && marker.specDigest !== task.specDigest)) return { ...base, action: 'restart', reason: `job ${drift.kind === 'changed' ? describeChange(drift) : 'spec changed'}; run it again` };
  const failed = live.instances.find((i) => i.status === 'errored' || (hasExited(i.status) && i.exitCode !== undefined && i.exitCode !== 0));
  if (failed) return { task: task.name, blocking: true, reason: `job failed with this spec and code (status ${failed.status}${failed.exitCode !== undefined ? `, exit code ${failed.exitCode}` : ''}); push a fix to run it again` };
  return undefined;
}

function serviceAction(task: PlanTask, drift: Drift, live: LiveTask | undefined, input: PlanInput, base: Omit<Action, 'action' | 'reason'>): Action | Hold | undefined {
  if (drift.kind === 'missing' || !live) return { ...base, action: 'create', reason: 'declared but not running in PM2', to: task.instances };
  const count = live.instances.length;
  if (onlyInstances(drift)) return { ...base, action: 'scale', reason: `instances ${count} → ${task.instances}`, from: count, to: task.instances };
  if (drift.kind === 'changed') {
    const liveCluster = live.process.exec_mode === 'cluster';
    const countChange = count !== task.instances ? { from: count, to: task.instances } : {};
    // PM2's reload leaves stopped workers stopped: a restart starts them with the new options.
    if (task.execMode === 'cluster' && liveCluster && drift.unhealthy.length === 0) return { ...base, ...countChange, action: 'reload', reason: `${describeChange(drift)}; zero-downtime reload` };
    return { ...base, ...countChange, action: 'restart', reason: describeChange(drift) };
  }
  if (drift.unhealthy.length) {
    const states = [...new Set(drift.unhealthy.map((u) => u.status))].join(', ');
    if (!input.policy.selfHeal) return { task: task.name, blocking: false, reason: `${states} in PM2 but selfHeal is off` };
    const allStopped = drift.unhealthy.every((u) => u.status === 'stopped');
    return {
      ...base,
      pmIds: drift.unhealthy.map((u) => u.pmId),
      action: allStopped ? 'start' : 'restart',
      reason: `${states} in PM2 (selfHeal)`,
    };
  }
  return undefined;
}

/** Plans one reconcile. Actions are ordered by phase (deletes last), dependency level, then name. */
export function plan(input: PlanInput): Plan {
  const liveByName = new Map(input.live.map((l) => [l.name, l]));
  const tasksByName = new Map(input.tasks.map((t) => [t.name, t]));
  const levels = dependencyLevels(input.tasks);
  const actions: Action[] = [];
  const holds: Hold[] = [];
  const inSync: string[] = [];
  for (const drift of input.drifts) {
    const task = tasksByName.get(drift.task);
    const live = liveByName.get(drift.task);
    if (!task) {
      if (input.policy.prune) {
        actions.push({ task: drift.task, action: 'delete', reason: 'no longer declared (prune)', patch: [], dependsOn: [], type: 'service', pmIds: live?.instances.map((i) => i.pmId) ?? [] });
      } else {
        holds.push({ task: drift.task, blocking: false, reason: 'no longer declared; kept because prune is off' });
      }
      continue;
    }
    const base = { task: task.name, patch: drift.patch, dependsOn: [...task.dependsOn], type: task.type, pmIds: live?.instances.map((i) => i.pmId) ?? [] };
    const step = task.type === 'job' ? jobAction(task, drift, live, input, base) : serviceAction(task, drift, live, input, base);
    if (!step) inSync.push(task.name);
    else if ('action' in step) actions.push(step);
    else holds.push(step);
  }
  const phase = (a: Action): number => (a.action === 'delete' ? 1 : 0);
  actions.sort((a, b) => phase(a) - phase(b) || (levels.get(a.task) ?? 0) - (levels.get(b.task) ?? 0) || a.task.localeCompare(b.task));
  const refusal = checkPruneLimit(actions.filter((a) => a.action === 'delete').length, input.live.length, input.policy.pruneLimit);
  return {
    environment: input.environment,
    namespace: input.namespace,
    revision: input.revision,
    actions,
    holds: holds.sort((a, b) => a.task.localeCompare(b.task)),
    inSync: inSync.sort(),
    ...(refusal ? { refusal } : {}),
  };
}
