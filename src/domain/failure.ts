/**
 * Why a reconcile failed, in words a script can match: the `reason` of a
 * failed status and evidence report (the human message says the rest).
 */
export type FailureReason =
  /** An unexpected error in this environment's reconcile (a bug, or something pm2-gitops did not foresee). */
  | 'internal'
  /** PM2 refused the rendered configuration (e.g. an interpreter it cannot find). */
  | 'pm2-rejected'
  /** One or more actions failed or did not become healthy, and nothing was rolled back. */
  | 'apply-failed'
  /** A task's install or build step failed: that task's processes were not touched, its old code keeps running. */
  | 'build-failed'
  /** The revision failed before and is not retried until a new commit arrives. */
  | 'marked-bad'
  /** The PM2 daemon cannot be reached; nothing could be observed or changed. */
  | 'daemon-unreachable';

/** Something outside pm2-gitops that is down, since when, and why. */
export interface Outage {
  since: string;
  reason: string;
}

/** The controller's view of what it depends on, shown in every status file. */
export interface Conditions {
  /** The manifest repository cannot be fetched: the last fetched revision keeps being used. */
  source?: Outage & { branchDeleted?: boolean };
  /** The PM2 daemon cannot be reached. */
  daemon?: Outage;
}
