/**
 * Cron schedules of sync windows (pure): five fields (minute hour
 * day-of-month month day-of-week) with `*`, lists, ranges and steps, or one
 * of @hourly, @daily, @weekly, @monthly, @yearly. As in cron, when both
 * day fields are restricted a day matches either.
 */

/** A parsed schedule: the allowed values of each field. */
export interface CronSchedule {
  minutes: ReadonlySet<number>;
  hours: ReadonlySet<number>;
  days: ReadonlySet<number>;
  months: ReadonlySet<number>;
  weekdays: ReadonlySet<number>;
  /** Whether day-of-month / day-of-week were `*` (cron's either-day rule needs to know). */
  anyDay: boolean;
  anyWeekday: boolean;
}

/** The calendar fields of one minute, in the schedule's time zone. */
export interface MinuteFields { minute: number; hour: number; day: number; month: number; weekday: number }

const MACROS: Record<string, string> = {
  '@hourly': '0 * * * *',
  '@daily': '0 0 * * *',
  '@midnight': '0 0 * * *',
  '@weekly': '0 0 * * 0',
  '@monthly': '0 0 1 * *',
  '@yearly': '0 0 1 1 *',
  '@annually': '0 0 1 1 *',
};

const FIELDS = [
  { name: 'minute', min: 0, max: 59 },
  { name: 'hour', min: 0, max: 23 },
  { name: 'day of month', min: 1, max: 31 },
  { name: 'month', min: 1, max: 12 },
  { name: 'day of week', min: 0, max: 7 },
] as const;

/** Thrown by parseCron: what is wrong with the schedule (it holds no secret, but says no more than the field). */
export class CronError extends Error {}

function parseField(text: string, f: (typeof FIELDS)[number]): Set<number> {
  const out = new Set<number>();
  for (const part of text.split(',')) {
    const m = /^(\*|(\d+)(?:-(\d+))?)(?:\/(\d+))?$/.exec(part);
    if (!m) throw new CronError(`${f.name} "${part}": expected *, a number, a range a-b, a list, or a step such as */15`);
    const from = m[1] === '*' ? f.min : Number(m[2]);
    const to = m[1] === '*' ? f.max : m[3] !== undefined ? Number(m[3]) : m[4] !== undefined ? f.max : from;
    const step = m[4] !== undefined ? Number(m[4]) : 1;
    if (from < f.min || to > f.max || from > to) throw new CronError(`${f.name} "${part}": values must lie in ${f.min}-${f.max}`);
    if (step < 1) throw new CronError(`${f.name} "${part}": the step must be at least 1`);
    for (let v = from; v <= to; v += step) out.add(v);
  }
  return out;
}

/** Parses a schedule; throws CronError saying which field is wrong. */
export function parseCron(text: string): CronSchedule {
  const expanded = MACROS[text.trim()] ?? text.trim();
  const parts = expanded.split(/\s+/);
  if (parts.length !== 5) throw new CronError(`expected five fields (minute hour day-of-month month day-of-week) or @hourly/@daily/@weekly/@monthly/@yearly, got ${parts.length}`);
  const [minutes, hours, days, months, weekdays] = parts.map((p, i) => parseField(p, FIELDS[i]!)) as [Set<number>, Set<number>, Set<number>, Set<number>, Set<number>];
  // 7 is Sunday too.
  if (weekdays.has(7)) { weekdays.delete(7); weekdays.add(0); }
  return { minutes, hours, days, months, weekdays, anyDay: parts[2] === '*', anyWeekday: parts[4] === '*' };
}

/** Whether the schedule names this minute. */
export function cronMatches(s: CronSchedule, t: MinuteFields): boolean {
  if (!s.minutes.has(t.minute) || !s.hours.has(t.hour) || !s.months.has(t.month)) return false;
  const day = s.days.has(t.day);
  const weekday = s.weekdays.has(t.weekday);
  if (s.anyDay || s.anyWeekday) return day && weekday;
  return day || weekday;
}
