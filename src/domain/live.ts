/**
 * Live state as read from PM2, and the comparable shape both desired and live
 * state are normalised into before they are diffed.
 */

/** A process entry as PM2's `getMonitorData` / `jlist` returns it (the fields read). */
export interface Pm2Entry {
  name: string;
  pid: number;
  pm_id: number;
  monit?: { memory?: number; cpu?: number };
  pm2_env: Record<string, unknown>;
}

/** What pm2-gitops stores on every process it starts (kept in pm2_env, never in the process env). */
export interface ManagedMarker {
  environment: string;
  task: string;
  revision: string;
  /** Env keys the manifest declared, so that removed keys can be detected and unset. */
  envKeys: string[];
  /** Digest of the comparable spec (code digest included) a process was started with: a job runs once per value. */
  specDigest?: string;
  /** Code digest (DESIGN section 9) of the build the process runs. */
  codeDigest?: string;
}

export type ProcessStatus = 'online' | 'launching' | 'stopping' | 'stopped' | 'errored' | 'one-launch-status' | 'waiting restart' | string;

/** One PM2 process (one worker of a cluster app). */
export interface LiveInstance {
  pmId: number;
  pid: number;
  status: ProcessStatus;
  restarts: number;
  /** Epoch milliseconds of the last (re)start. */
  startedAt: number;
  unstableRestarts: number;
  exitCode?: number;
  memory?: number;
  cpu?: number;
}

/**
 * The options of an app in one comparable form: PM2's stored values (bytes,
 * milliseconds, arrays), absolute `script` and `cwd`, `exec_mode` without the
 * `_mode` suffix, `instances` as a process count, and only managed env keys.
 */
export type ComparableProcess = Record<string, unknown>;

/**
 * Key of the comparable process that holds the code digest: the live side
 * reads it from the process marker, the desired side from the task's code, so
 * that a code change is a difference like any option.
 */
export const CODE_KEY = 'code';

/** All PM2 processes of one name in the environment's namespace, folded into one task. */
export interface LiveTask {
  /** The task the processes belong to (found by its PM2 name), else their PM2 name. */
  name: string;
  /** The processes' name in PM2, when it is not `name`. */
  pm2Name?: string;
  namespace: string;
  instances: LiveInstance[];
  process: ComparableProcess;
  marker?: ManagedMarker;
}
