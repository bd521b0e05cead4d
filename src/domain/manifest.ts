/**
 * Manifest kinds as written in the repository (`Task`, `Environment`) and the
 * rendered desired state they produce. Plain data, and the one rule that names a task's processes in PM2.
 */

/** The thirteen context dimensions a Task may declare under `metadata.context`. */
export const CONTEXT_DIMENSIONS = [
  'identity', 'intent', 'stakeholders', 'context', 'scope', 'time', 'space',
  'modality', 'state', 'scale', 'risk', 'evidence', 'ethics',
] as const;

export type ContextDimension = (typeof CONTEXT_DIMENSIONS)[number];
export type Context = Partial<Record<ContextDimension, string | string[]>>;

export const API_VERSION = 'pm2-gitops/v1';

/** A health probe; without one, a service is healthy once PM2 reports it online for `minUptimeSeconds`. */
export interface HealthSpec {
  http?: { url: string; expectStatus?: number };
  tcp?: { host?: string; port: number };
  timeoutSeconds?: number;
  minUptimeSeconds?: number;
}

/** The options of one app in PM2's ecosystem file, with aliases folded to PM2's own names. */
export interface ProcessSpec {
  script: string;
  cwd?: string;
  args?: string | string[];
  node_args?: string | string[];
  exec_interpreter?: string;
  exec_mode?: 'fork' | 'cluster';
  instances?: number;
  env?: Record<string, string>;
  [option: string]: unknown;
}

export type TaskType = 'service' | 'job';

/** `spec.build`: steps that run in the new revision's copy of the task's code before any process is touched. */
export interface BuildSpec {
  install?: string;
  run?: string | string[];
  timeoutSeconds?: number;
}

export interface TaskSpec {
  type: TaskType;
  dependsOn?: string[];
  health?: HealthSpec;
  process: ProcessSpec;
  hosts?: string[];
  hostSelector?: Record<string, string>;
  /** Repository-relative folders and files that are the task's code. */
  source?: string[];
  build?: BuildSpec;
}

export interface TaskManifest {
  apiVersion: typeof API_VERSION;
  kind: 'Task';
  metadata: {
    name: string;
    /** The process name in PM2 when it is not `name` (an app imported from an ecosystem file keeps its own). */
    pm2Name?: string;
    labels?: Record<string, string>;
    annotations?: Record<string, string>;
    context?: Context;
  };
  spec: TaskSpec;
}

export interface PatchTarget { name?: string; labels?: Record<string, string> }

export interface PatchSpec {
  target: PatchTarget;
  /** RFC 6902 operations. */
  patch?: Array<{ op: string; path: string; value?: unknown; from?: string }>;
  /** RFC 7396 merge patch. */
  merge?: Record<string, unknown>;
}

export interface ApprovalPolicy { required: number }

/**
 * How many managed tasks one reconcile may delete: a count (`3`) or a share of
 * the environment's managed tasks (`"50%"`). A plan that deletes more, or every
 * managed task unless the limit is `"100%"`, is held whole.
 */
export type PruneLimit = number | `${number}%`;

/**
 * A cron-style window for applying new revisions (`spec.policy.syncWindows`):
 * it opens at each time `schedule` (five cron fields, or @hourly, @daily,
 * @weekly, @monthly, @yearly) names and stays open for `duration`. While a
 * deny window is open, or while allow windows exist and none is open, a new
 * revision waits; the running one is still self-healed when every window
 * that keeps it closed says `selfHeal: true`.
 */
export interface SyncWindow {
  kind: 'allow' | 'deny';
  schedule: string;
  /** How long each opening lasts: `30m`, `8h`, `1d`. */
  duration: string;
  /** IANA time zone the schedule is read in; default UTC. */
  timeZone?: string;
  selfHeal?: boolean;
}

/** `spec.policy.retry`: how often and how soon a failed apply of a revision is tried again. */
export interface RetryPolicy {
  /** Attempts after the first failed one; then the revision is marked bad until a new commit. */
  limit: number;
  backoff?: { duration?: string; factor?: number; maxDuration?: string };
}

export interface Policy {
  prune: boolean;
  selfHeal: boolean;
  rollback: boolean;
  pruneLimit: PruneLimit;
  approvals: ApprovalPolicy;
  syncWindows?: SyncWindow[];
  retry?: RetryPolicy;
  /** How often the environment is reconciled when nothing changed (instead of `run --resync`). */
  interval?: string;
}

export interface EnvironmentSpec {
  resources: string[];
  namespace: string;
  namePrefix?: string;
  env?: Record<string, string | number | boolean>;
  requiredContext?: ContextDimension[];
  patches?: PatchSpec[];
  policy?: Partial<Policy>;
  hosts?: string[];
  hostSelector?: Record<string, string>;
  rollout?: Rollout;
}

/**
 * How a new revision spreads over the hosts of a fleet (DESIGN section 8):
 * in waves of named hosts (`*`: every host not named), or N hosts at a time
 * in name order. A host applies it once the earlier waves report it healthy.
 */
export type Rollout = { waves: string[][] } | { maxUnavailable: number };

export interface EnvironmentManifest {
  apiVersion: typeof API_VERSION;
  kind: 'Environment';
  metadata: { name: string; labels?: Record<string, string> };
  spec: EnvironmentSpec;
}

/** One task of the rendered desired state: final name, resolved dependencies, folded options. */
export interface DesiredTask {
  /** PM2 app name, after `namePrefix`. */
  name: string;
  /** `metadata.name` as written in the manifest. */
  sourceName: string;
  /**
   * The process name in PM2, after `namePrefix`, when the manifest sets
   * `metadata.pm2Name`; otherwise the process is named `name`. Read it with
   * pm2NameOf(); everything that talks to PM2 by name uses that.
   */
  pm2Name?: string;
  /** Manifest file, relative to the repository root. */
  file: string;
  type: TaskType;
  dependsOn: string[];
  labels: Record<string, string>;
  context: Context;
  health?: HealthSpec;
  hosts?: string[];
  hostSelector?: Record<string, string>;
  /** `spec.source` as written (repository-relative). */
  source?: string[];
  build?: BuildSpec;
  /** Whether the manifest (or a patch) declared `process.cwd`; if not, the task's code defaults to its script's folder. */
  cwdDeclared?: boolean;
  process: ProcessSpec;
}

/** The name of a task's processes in PM2: `metadata.pm2Name` (after `namePrefix`), else the task name. */
export function pm2NameOf(task: Pick<DesiredTask, 'name' | 'pm2Name'>): string {
  return task.pm2Name ?? task.name;
}

/** The rendered, validated desired state of one environment. */
export interface DesiredState {
  environment: string;
  namespace: string;
  /** Environment manifest file, relative to the repository root. */
  file: string;
  policy: Policy;
  /** The Environment's own host targeting (DESIGN section 8), when it has any. */
  hosts?: string[];
  hostSelector?: Record<string, string>;
  /** The Environment's progressive rollout over the fleet, when it has one. */
  rollout?: Rollout;
  tasks: DesiredTask[];
}

export const DEFAULT_POLICY: Policy = {
  prune: false,
  selfHeal: false,
  rollback: false,
  pruneLimit: '50%',
  approvals: { required: 0 },
};
