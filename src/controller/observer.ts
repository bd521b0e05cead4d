/**
 * What the controller tells an observer (the HTTP API, metrics, events) as it
 * works: plain data, each piece stamped with the correlation id of the pass it
 * belongs to (the id its log lines and evidence reports carry too). An
 * observer only looks: nothing it does can change what is applied.
 */
import type { FailureReason } from '../domain/failure.js';
import type { DesiredState } from '../domain/manifest.js';
import type { ActionResult } from '../domain/plan.js';
import type { BuildEvent } from '../delivery/types.js';
import type { ReconcileResult } from '../reconcile.js';
import type { Outcome } from '../report/evidence.js';
import type { ApprovalDecision } from '../source/approval.js';
import type { Suspension } from '../report/suspension.js';

/** One environment as its last report saw it. */
export interface EnvironmentReport {
  correlationId: string;
  environment: string;
  /** The tip of the followed branch. */
  tip: string;
  /** The revision that runs (the last good one). */
  running?: string;
  outcome: Outcome;
  reason?: FailureReason;
  problems: string[];
  decision: ApprovalDecision;
  /** The desired state of the revision reconciled (env values as the manifests hold them: redact before showing). */
  state?: DesiredState;
  /** What the reconcile observed and did; absent when PM2 could not be read. */
  result?: ReconcileResult;
  /** Actions of this reconcile. */
  results: ActionResult[];
  /** Each task's last action (of any reconcile). */
  lastActions: Record<string, { action: string; message?: string; at: string }>;
  /** Evidence report written for it, if any. */
  evidence?: string;
  at: string;
  /** Actions ran to bring the running revision back (drift healed), not to apply a new one. */
  healed?: boolean;
  /** Set while the environment is suspended. */
  suspension?: Suspension;
  /** The host whose controller reported it. */
  host?: string;
}

/** A process event of PM2's bus, in a namespace the controller manages. */
export interface ProcessEventReport {
  correlationId: string;
  event: string;
  name: string;
  namespace: string;
  pmId?: number;
  at: string;
}

/** Callbacks of a running controller; every one is optional and must not throw. */
export interface ControllerObserver {
  passStarted?(e: { correlationId: string; revision: string; reasons: string[]; environments: string[]; at: string }): void;
  passFinished?(e: { correlationId: string; revision: string; reasons: string[]; durationMs: number; at: string }): void;
  /** An environment's reconcile ended (after its report): how long it took and its outcome. */
  reconciled?(e: { correlationId: string; environment: string; outcome: Outcome; reason?: FailureReason; durationMs: number; at: string }): void;
  /** An environment was reported (status written): what it looks like now. */
  reported?(report: EnvironmentReport): void;
  build?(e: { correlationId: string; environment: string; event: BuildEvent; at: string }): void;
  processEvent?(e: ProcessEventReport): void;
}

/** An observer that keeps each environment's last report in `reports`, then forwards everything to `next`. */
export function recordingReports(next: ControllerObserver | undefined, reports: Map<string, EnvironmentReport>): ControllerObserver {
  return {
    passStarted: (e) => next?.passStarted?.(e),
    passFinished: (e) => next?.passFinished?.(e),
    reconciled: (e) => next?.reconciled?.(e),
    reported: (r) => { reports.set(r.environment, r); next?.reported?.(r); },
    build: (e) => next?.build?.(e),
    processEvent: (e) => next?.processEvent?.(e),
  };
}

/** One observer that tells each of `observers` in turn; one that throws does not keep the others from hearing. */
export function combineObservers(observers: ReadonlyArray<ControllerObserver | undefined>): ControllerObserver | undefined {
  const list = observers.filter((o): o is ControllerObserver => o !== undefined);
  if (list.length <= 1) return list[0];
  const each = <K extends keyof ControllerObserver>(key: K) => (e: Parameters<NonNullable<ControllerObserver[K]>>[0]): void => {
    for (const o of list) {
      try {
        (o[key] as ((x: typeof e) => void) | undefined)?.call(o, e);
      } catch {
        // An observer only looks; its failure must not change what the controller does.
      }
    }
  };
  return {
    passStarted: each('passStarted'), passFinished: each('passFinished'), reconciled: each('reconciled'),
    reported: each('reported'), build: each('build'), processEvent: each('processEvent'),
  };
}
