/**
 * What an environment's reconcile may change in this pass (pure): everything
 * (`apply`), only the running revision's drift (`heal`), or nothing
 * (`observe`: PM2 is read and reported, never changed). A suspension, a
 * closed sync window and the backoff of a failed apply each narrow it.
 */
import type { Policy, RetryPolicy } from '../domain/manifest.js';
import type { Outcome } from '../report/evidence.js';
import { suspensionText, type Suspension } from '../report/suspension.js';
import { retriesLeft, retryDelayMs } from '../policy/retry.js';
import { windowGate } from '../policy/windows.js';
import type { EnvMemory, RetryNote } from './state-store.js';

export type GateMode = 'apply' | 'heal' | 'observe';

export interface Gate {
  mode: GateMode;
  /** The outcome to report instead of the verdict's, when the gate held something back. */
  outcome?: Outcome;
  message?: string;
  problems: string[];
  /** When the gate may open: the controller looks again then. */
  wakeAt?: Date;
  /** Set when self-heal is paused by a window: a drift found then is reported, not healed. */
  healPaused?: string;
}

export interface GateInput {
  environment: string;
  tip: string;
  /** The tip is valid, approved and not marked bad: it would be applied. */
  tipAccepted: boolean;
  lastGood?: string;
  suspension?: Suspension;
  /** Policy of the revision that runs (its windows are in force), else of the tip. */
  runningPolicy?: Policy;
  /** Policy of the tip (its retry settings apply to its own failures). */
  tipPolicy?: Policy;
  retry?: RetryNote;
  now: Date;
}

/** Decides what this pass may change. */
export function decideGate(g: GateInput): Gate {
  const newRevision = g.tipAccepted && g.tip !== g.lastGood;
  if (g.suspension?.suspended) {
    return {
      mode: 'observe',
      outcome: 'suspended',
      message: suspensionText(g.suspension),
      problems: [
        `${suspensionText(g.suspension)}: observed and reported, nothing is changed until it is resumed (pm2-gitops resume --env ${g.environment})`,
        ...(newRevision ? [`revision ${g.tip} is not applied while the environment is suspended`] : []),
      ],
    };
  }
  const windows = windowGate(g.runningPolicy?.syncWindows, g.now);
  const healMode: GateMode = g.lastGood && (windows.apply || windows.selfHeal) ? 'heal' : 'observe';
  if (newRevision && g.retry?.revision === g.tip && g.now < new Date(g.retry.nextAt)) {
    const message = `revision ${g.tip} failed (${g.retry.message}); attempt ${g.retry.failures + 1} of ${(g.tipPolicy?.retry?.limit ?? 0) + 1} at ${g.retry.nextAt}`;
    return { mode: healMode, outcome: 'waiting', message, problems: [message], wakeAt: new Date(g.retry.nextAt) };
  }
  if (windows.apply) return { mode: 'apply', problems: [] };
  const closed = windows.closedBy.join('; ');
  const wake = windows.opensAt ? { wakeAt: windows.opensAt } : {};
  if (newRevision) {
    const message = `revision ${g.tip} waits for its sync window: ${closed}`;
    return { mode: healMode, outcome: 'waiting', message, problems: [message], ...wake };
  }
  if (windows.selfHeal) return { mode: 'apply', problems: [] };
  return { mode: 'observe', problems: [], healPaused: `self-heal is paused by the sync window: ${closed}`, ...wake };
}

/**
 * The retry bookkeeping after the tip was applied: a failure under a retry
 * policy schedules the next attempt, or, with no attempts left, marks the
 * revision bad. Returns the memory change and the problem line to add.
 */
export function afterAttempt(m: { retry?: RetryNote }, a: { tip: string; policy?: RetryPolicy; failed: boolean; reason?: string; message?: string; now: Date }): { retry?: RetryNote; exhausted?: { failures: number }; problem?: string } {
  if (!a.policy || !a.failed) return {};
  const failures = (m.retry?.revision === a.tip ? m.retry.failures : 0) + 1;
  const message = (a.message ?? a.reason ?? 'the apply failed').split('\n')[0]!;
  if (!retriesLeft(a.policy, failures)) {
    return { exhausted: { failures }, problem: `revision ${a.tip} failed ${failures} time${failures === 1 ? '' : 's'} (retry limit ${a.policy.limit}); not retried until a new commit` };
  }
  const nextAt = new Date(a.now.getTime() + retryDelayMs(a.policy, failures)).toISOString();
  return {
    retry: { revision: a.tip, failures, nextAt, message },
    problem: `attempt ${failures} of ${a.policy.limit + 1} failed; the next attempt is at ${nextAt}`,
  };
}

/** Whether memory holds a retry note for another revision than the tip (dropped: a new commit starts afresh). */
export function staleRetry(m: EnvMemory, tip: string): boolean {
  return m.retry !== undefined && m.retry.revision !== tip;
}
