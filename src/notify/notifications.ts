/**
 * What is worth telling people (pure): from an environment's report (and the
 * one before it) and from build steps, the notifications `run --notify`
 * posts. Each says the same thing once: a failure, refusal or rollback that
 * stands is not repeated at every pass. Slack-compatible (`text`) with the
 * structured fields beside it.
 */
import type { EnvironmentReport } from '../controller/observer.js';
import type { BuildEvent } from '../delivery/types.js';

export type NotificationEvent = 'reconcile-failed' | 'build-failed' | 'approval-refused' | 'rolled-back' | 'drift-healed';

/** One notification as posted (JSON). */
export interface Notification {
  /** Slack's (and Mattermost's, Teams' incoming webhooks') message text. */
  text: string;
  event: NotificationEvent;
  environment: string;
  revision: string;
  outcome: string;
  reason?: string;
  /** The task it is about, when it is about one (a failed build). */
  task?: string;
  correlationId: string;
  host: string;
  at: string;
}

const short = (sha: string): string => sha.slice(0, 12);

function base(r: EnvironmentReport, host: string): Omit<Notification, 'text' | 'event'> {
  return { environment: r.environment, revision: r.tip, outcome: r.outcome, ...(r.reason ? { reason: r.reason } : {}), correlationId: r.correlationId, host, at: r.at };
}

/** Whether `before` already said what `r` says (same tip, outcome and reason). */
function same(before: EnvironmentReport | undefined, r: EnvironmentReport): boolean {
  return before !== undefined && before.tip === r.tip && before.outcome === r.outcome && before.reason === r.reason;
}

/** The notifications of a report, given the environment's previous one. */
export function notificationsOfReport(before: EnvironmentReport | undefined, r: EnvironmentReport, host: string): Notification[] {
  const out: Notification[] = [];
  const where = `${r.environment} on ${host}`;
  const first = r.problems[0] ? `: ${r.problems[0]}` : '';
  if ((r.outcome === 'failed' || r.outcome === 'invalid') && r.reason !== 'build-failed' && !same(before, r)) {
    const running = r.running ? `; ${short(r.running)} keeps running` : '';
    out.push({ ...base(r, host), event: 'reconcile-failed', text: `:x: ${where}: reconcile of ${short(r.tip)} ${r.outcome === 'invalid' ? 'found invalid manifests' : `failed (${r.reason ?? 'failed'})`}${first}${running}` });
  }
  if (r.outcome === 'not-approved' && !same(before, r)) {
    out.push({ ...base(r, host), event: 'approval-refused', text: `:no_entry: ${where}: ${short(r.tip)} is not applied: ${r.decision.granted} of ${r.decision.required} approvals${r.decision.reasons[0] ? ` (${r.decision.reasons[0]})` : ''}` });
  }
  if (r.outcome === 'rolled-back' && !same(before, r)) {
    out.push({ ...base(r, host), event: 'rolled-back', text: `:rewind: ${where}: ${short(r.tip)} was rolled back${r.running ? ` to ${short(r.running)}` : ''}${first}` });
  }
  if (r.healed && r.results.length) {
    const tasks = [...new Set(r.results.map((a) => a.task))].sort();
    const ok = r.results.every((a) => a.result === 'ok');
    out.push({
      ...base(r, host), event: 'drift-healed', ...(tasks.length === 1 ? { task: tasks[0]! } : {}),
      text: `:adhesive_bandage: ${where}: ${ok ? 'healed drift' : 'tried to heal drift'} of ${tasks.join(', ')} (${r.results.map((a) => `${a.action} ${a.task} ${a.result}`).join(', ')})`,
    });
  }
  return out;
}

/** The notification of a failed build step, if `event` is one. */
export function notificationOfBuild(e: { correlationId: string; environment: string; event: BuildEvent; at: string; revision?: string }, host: string): Notification | undefined {
  const ev = e.event;
  if (ev.phase !== 'end' || ev.status !== 'failed') return undefined;
  const code = ev.exitCode !== undefined && ev.exitCode !== null ? ` with exit code ${ev.exitCode}` : '';
  return {
    text: `:hammer_and_wrench: ${e.environment} on ${host}: the ${ev.step} step of ${ev.task} failed${code}; its processes were not touched`,
    event: 'build-failed', environment: e.environment, revision: e.revision ?? '', outcome: 'failed', reason: 'build-failed', task: ev.task,
    correlationId: e.correlationId, host, at: e.at,
  };
}
