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

/** The pm2_env key of the marker pm2-gitops stores on every process it starts. */
export const MARKER_KEY = 'pm2_gitops';

/** What pm2-gitops stores on every process it starts (in pm2_env under MARKER_KEY, as JSON text; never in the app's env). */
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

/**
 * Whether a process in this PM2 status has exited and is not running: `stopped`,
 * `errored`, or `waiting restart`, which PM2 shows after the exit of an app with
 * a `restart_delay` (lib/God.js handleExit), also when `autorestart: false`
 * means the restart never comes. A job (never autorestarted) in any of them has
 * finished; its exit code says how.
 */
export function hasExited(status: ProcessStatus): boolean {
  return status === 'stopped' || status === 'errored' || status === 'waiting restart';
}

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
