/** Differences, plans and results: the data passed between diff, plan and apply. */

/** One RFC 6902 operation on the comparable process of a task (env values redacted). */
export interface PatchOperation {
  op: 'add' | 'remove' | 'replace' | 'move' | 'copy' | 'test';
  path: string;
  value?: unknown;
  from?: string;
  /** For a `replace` in a diff: the live value it replaces (env values redacted like `value`). */
  oldValue?: unknown;
}

export type DriftKind = 'missing' | 'extra' | 'changed' | 'in-sync';

/** How a task's live state differs from its desired state. */
export interface Drift {
  task: string;
  kind: DriftKind;
  /** From live to desired; empty unless `changed`. */
  patch: PatchOperation[];
  /** Live instance statuses that are not what a healthy task shows (e.g. `stopped`, `errored`). */
  unhealthy: Array<{ pmId: number; status: string; exitCode?: number }>;
}

export type ActionKind = 'create' | 'delete' | 'scale' | 'reload' | 'restart' | 'start';

/** One step of a plan. `dependsOn` lists tasks that must be ready before it runs. */
export interface Action {
  task: string;
  action: ActionKind;
  reason: string;
  patch: PatchOperation[];
  dependsOn: string[];
  type: 'service' | 'job';
  /** Live pm_ids the action works on (empty for create). */
  pmIds: number[];
  /** Process counts, for scale (and for reload/restart that also change the count). */
  from?: number;
  to?: number;
}

/** A task the plan does not act on although it is not healthy, and why. */
export interface Hold {
  task: string;
  reason: string;
  /** True when the task blocks its dependents (a failed job). */
  blocking: boolean;
}

/**
 * Why a whole plan is held: applying it would destroy more than the policy
 * allows. None of its actions runs.
 */
export interface PlanRefusal {
  kind: 'prune-limit';
  /** What is held and how to allow it. */
  reason: string;
  deletes: number;
  /** Managed tasks of the environment in PM2 before the plan. */
  managed: number;
  limit: string;
}

/** The ordered actions that bring live state to the desired state. */
export interface Plan {
  environment: string;
  namespace: string;
  revision: string;
  actions: Action[];
  holds: Hold[];
  inSync: string[];
  /** Set when the plan must not be applied at all. */
  refusal?: PlanRefusal;
}

export type ActionOutcome = 'ok' | 'failed' | 'skipped';

/** What happened when an action ran. */
export interface ActionResult extends Action {
  result: ActionOutcome;
  /** Why it failed or was skipped; health details when it succeeded. */
  message?: string;
  startedAt: string;
  durationMs: number;
}
