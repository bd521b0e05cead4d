/**
 * Checks of `spec.policy` the schema cannot make (pure): cron schedules that
 * parse, time zones this runtime knows, windows no longer than a week.
 */
import type { Policy } from '../domain/manifest.js';
import { CronError, parseCron } from './cron.js';
import { durationMs } from './duration.js';
import { knownTimeZone, MAX_WINDOW_MS } from './windows.js';

/** Problems of an Environment's policy, each at its JSON pointer. */
export function checkPolicy(policy: Partial<Policy> | undefined): Array<{ pointer: string; message: string }> {
  const out: Array<{ pointer: string; message: string }> = [];
  const windows = Array.isArray(policy?.syncWindows) ? policy.syncWindows : [];
  for (const [i, w] of windows.entries()) {
    const at = `/spec/policy/syncWindows/${i}`;
    // Values of the wrong type were reported by the schema.
    if (!w || typeof w.schedule !== 'string' || typeof w.duration !== 'string') continue;
    try {
      parseCron(w.schedule);
    } catch (err) {
      if (!(err instanceof CronError)) throw err;
      out.push({ pointer: `${at}/schedule`, message: `must be a cron schedule: ${err.message}` });
    }
    if (typeof w.timeZone === 'string' && !knownTimeZone(w.timeZone)) out.push({ pointer: `${at}/timeZone`, message: 'must be an IANA time zone such as Europe/Paris or UTC' });
    try {
      const ms = durationMs(w.duration);
      if (ms < 60_000 || ms > MAX_WINDOW_MS) out.push({ pointer: `${at}/duration`, message: 'must be between 1m and 7d' });
    } catch {
      // The schema reported the form already.
    }
  }
  return out;
}

/** Problems of an Environment's `spec.rollout` the schema cannot see: a host in two waves, `*` twice. */
export function checkRollout(rollout: unknown): Array<{ pointer: string; message: string }> {
  const waves = (rollout as { waves?: unknown } | undefined)?.waves;
  if (!Array.isArray(waves)) return [];
  const out: Array<{ pointer: string; message: string }> = [];
  const seen = new Set<string>();
  waves.forEach((wave: unknown, i) => {
    if (!Array.isArray(wave)) return;
    wave.forEach((host: unknown, j) => {
      if (typeof host !== 'string') return;
      if (seen.has(host)) out.push({ pointer: `/spec/rollout/waves/${i}/${j}`, message: host === '*' ? 'must appear in one wave only ("*" is every host not named)' : 'must name a host that no earlier wave names' });
      seen.add(host);
    });
  });
  return out;
}
