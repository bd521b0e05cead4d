/**
 * Sync windows (pure): given an environment's windows and a point in time,
 * whether a new revision may be applied now, whether the running one may be
 * self-healed, and when that may change. Like Argo CD's: deny wins over
 * allow; with allow windows, applying happens only inside one.
 */
import type { SyncWindow } from '../domain/manifest.js';
import { cronMatches, parseCron, type CronSchedule, type MinuteFields } from './cron.js';
import { durationMs } from './duration.js';

/** The longest a window may stay open: a schedule is searched back this far at most. */
export const MAX_WINDOW_MS = 7 * 24 * 3_600_000;
const MINUTE = 60_000;

/** What the windows say at one point in time. */
export interface WindowGate {
  /** A new revision may be applied. */
  apply: boolean;
  /** The running revision may be self-healed. */
  selfHeal: boolean;
  /** The windows that keep new revisions out now, in words (`deny "0 22 * * *" for 8h until …`). */
  closedBy: string[];
  /** When the gate may open (the end of an open deny window, the next allow window); absent when it is open or opens later than a week ahead. */
  opensAt?: Date;
}

const formatters = new Map<string, Intl.DateTimeFormat>();

/** The calendar fields of the minute of `t` in `timeZone` (UTC by default). */
function fieldsAt(t: number, timeZone: string | undefined): MinuteFields {
  const d = new Date(t);
  if (!timeZone || timeZone === 'UTC') return { minute: d.getUTCMinutes(), hour: d.getUTCHours(), day: d.getUTCDate(), month: d.getUTCMonth() + 1, weekday: d.getUTCDay() };
  let f = formatters.get(timeZone);
  if (!f) {
    f = new Intl.DateTimeFormat('en-US', { timeZone, hourCycle: 'h23', minute: 'numeric', hour: 'numeric', day: 'numeric', month: 'numeric', weekday: 'short' });
    formatters.set(timeZone, f);
  }
  const parts = Object.fromEntries(f.formatToParts(d).map((p) => [p.type, p.value]));
  const weekday = ['Sun', 'Mon', 'Tue', 'Wed', 'Thu', 'Fri', 'Sat'].indexOf(parts.weekday ?? '');
  return { minute: Number(parts.minute), hour: Number(parts.hour), day: Number(parts.day), month: Number(parts.month), weekday };
}

/** Whether `timeZone` is a zone this runtime knows. */
export function knownTimeZone(timeZone: string): boolean {
  try {
    new Intl.DateTimeFormat('en-US', { timeZone });
    return true;
  } catch {
    return false;
  }
}

interface Parsed { w: SyncWindow; schedule: CronSchedule; ms: number }

/** The start of the opening of `p` that covers `t`, if one does (the latest such start). */
function openingAt(p: Parsed, t: number): number | undefined {
  const minute = Math.floor(t / MINUTE) * MINUTE;
  for (let start = minute; t - start < p.ms; start -= MINUTE) {
    if (cronMatches(p.schedule, fieldsAt(start, p.w.timeZone))) return start;
  }
  return undefined;
}

/** The first start of `p` after `t`, within a week. */
function nextStart(p: Parsed, t: number): number | undefined {
  const first = Math.floor(t / MINUTE) * MINUTE + MINUTE;
  for (let start = first; start - t <= MAX_WINDOW_MS; start += MINUTE) {
    if (cronMatches(p.schedule, fieldsAt(start, p.w.timeZone))) return start;
  }
  return undefined;
}

function describe(p: Parsed, until?: number): string {
  const zone = p.w.timeZone ? ` ${p.w.timeZone}` : '';
  return `${p.w.kind} "${p.w.schedule}"${zone} for ${p.w.duration}${until !== undefined ? ` until ${new Date(until).toISOString()}` : ''}`;
}

/**
 * What `windows` say at `now`. Windows whose schedule or duration cannot be
 * read were refused by validation; here they are left out.
 */
export function windowGate(windows: readonly SyncWindow[] | undefined, now: Date): WindowGate {
  const t = now.getTime();
  const parsed: Parsed[] = [];
  for (const w of windows ?? []) {
    try {
      parsed.push({ w, schedule: parseCron(w.schedule), ms: Math.min(durationMs(w.duration), MAX_WINDOW_MS) });
    } catch {
      continue;
    }
  }
  if (!parsed.length) return { apply: true, selfHeal: true, closedBy: [] };
  const closing: Array<{ p: Parsed; until?: number }> = [];
  for (const p of parsed.filter((x) => x.w.kind === 'deny')) {
    const start = openingAt(p, t);
    if (start !== undefined) closing.push({ p, until: start + p.ms });
  }
  const allows = parsed.filter((x) => x.w.kind === 'allow');
  const inAllow = allows.some((p) => openingAt(p, t) !== undefined);
  if (allows.length && !inAllow) {
    for (const p of allows) closing.push({ p, ...(nextStart(p, t) !== undefined ? { until: nextStart(p, t)! } : {}) });
  }
  if (!closing.length) return { apply: true, selfHeal: true, closedBy: [] };
  const denyEnds = closing.filter((c) => c.p.w.kind === 'deny').map((c) => c.until!);
  const allowOpens = closing.filter((c) => c.p.w.kind === 'allow' && c.until !== undefined).map((c) => c.until!);
  // Open once every deny window has ended and (with allow windows) one has begun: the later of the two.
  const lastDeny = denyEnds.length ? Math.max(...denyEnds) : undefined;
  const firstAllow = allowOpens.length ? Math.min(...allowOpens) : undefined;
  const needsAllow = allows.length > 0 && !inAllow;
  const opensAt = needsAllow ? (firstAllow !== undefined ? Math.max(firstAllow, lastDeny ?? 0) : undefined) : lastDeny;
  return {
    apply: false,
    selfHeal: closing.every((c) => c.p.w.selfHeal === true),
    closedBy: closing.map((c) => (c.p.w.kind === 'deny' ? describe(c.p, c.until) : `outside allow ${describe(c.p)}`)),
    ...(opensAt !== undefined ? { opensAt: new Date(opensAt) } : {}),
  };
}
