import { describe, expect, it } from 'vitest';
import { parseCron, cronMatches } from './cron.js';
import { checkPolicy } from './validate.js';
import { retryDelayMs } from './retry.js';
import { windowGate } from './windows.js';

const at = (iso: string): Date => new Date(iso);

describe('sync windows', () => {
  it('[ops-sync-window] cron fields: lists, ranges, steps, macros, Sunday as 0 or 7', () => {
    const s = parseCron('*/15 9-17 * * 1-5');
    expect(cronMatches(s, { minute: 30, hour: 9, day: 2, month: 12, weekday: 3 })).toBe(true);
    expect(cronMatches(s, { minute: 31, hour: 9, day: 2, month: 12, weekday: 3 })).toBe(false);
    expect(cronMatches(s, { minute: 30, hour: 9, day: 6, month: 12, weekday: 6 })).toBe(false);
    expect(cronMatches(parseCron('0 0 * * 7'), { minute: 0, hour: 0, day: 6, month: 12, weekday: 0 })).toBe(true);
    expect(cronMatches(parseCron('@daily'), { minute: 0, hour: 0, day: 9, month: 3, weekday: 1 })).toBe(true);
    // Both day fields restricted: either matches, as in cron.
    expect(cronMatches(parseCron('0 0 1 * 1'), { minute: 0, hour: 0, day: 9, month: 3, weekday: 1 })).toBe(true);
    expect(() => parseCron('61 * * * *')).toThrow(/minute "61"/);
    expect(() => parseCron('* * *')).toThrow(/five fields/);
  });

  it('[ops-sync-window] a deny window holds new revisions from its start for its duration, self-heal by its flag', () => {
    const windows = [{ kind: 'deny' as const, schedule: '0 22 * * *', duration: '8h', selfHeal: true }];
    expect(windowGate(windows, at('2026-12-02T21:59:00Z'))).toMatchObject({ apply: true, selfHeal: true });
    const closed = windowGate(windows, at('2026-12-03T03:00:00Z'));
    expect(closed).toMatchObject({ apply: false, selfHeal: true });
    expect(closed.opensAt?.toISOString()).toBe('2026-12-03T06:00:00.000Z');
    expect(closed.closedBy[0]).toBe('deny "0 22 * * *" for 8h until 2026-12-03T06:00:00.000Z');
    expect(windowGate(windows, at('2026-12-03T06:00:00Z')).apply).toBe(true);
    expect(windowGate([{ ...windows[0]!, selfHeal: false }], at('2026-12-02T23:00:00Z')).selfHeal).toBe(false);
  });

  it('[ops-sync-window] allow windows: applying only inside one; deny wins; time zones', () => {
    const allow = [{ kind: 'allow' as const, schedule: '0 9 * * 1-5', duration: '8h' }];
    expect(windowGate(allow, at('2026-12-02T10:00:00Z')).apply).toBe(true);
    const night = windowGate(allow, at('2026-12-02T18:00:00Z'));
    expect(night).toMatchObject({ apply: false, selfHeal: false });
    expect(night.opensAt?.toISOString()).toBe('2026-12-03T09:00:00.000Z');
    expect(windowGate([...allow, { kind: 'deny', schedule: '0 12 * * *', duration: '1h' }], at('2026-12-02T12:30:00Z')).apply).toBe(false);
    // 09:00 in Paris is 08:00 UTC in winter.
    expect(windowGate([{ ...allow[0]!, timeZone: 'Europe/Paris' }], at('2026-12-02T08:30:00Z')).apply).toBe(true);
  });

  it('[ops-sync-window] validation names the window and field', () => {
    expect(checkPolicy({ syncWindows: [{ kind: 'deny', schedule: '0 25 * * *', duration: '8h' }, { kind: 'allow', schedule: '@daily', duration: '30d', timeZone: 'Mars/Olympus' }] })).toEqual([
      { pointer: '/spec/policy/syncWindows/0/schedule', message: 'must be a cron schedule: hour "25": values must lie in 0-23' },
      { pointer: '/spec/policy/syncWindows/1/timeZone', message: 'must be an IANA time zone such as Europe/Paris or UTC' },
      { pointer: '/spec/policy/syncWindows/1/duration', message: 'must be between 1m and 7d' },
    ]);
  });

  it('[ops-retry] backoff: duration × factor^(n-1), at most maxDuration', () => {
    const policy = { limit: 5, backoff: { duration: '1s', factor: 2, maxDuration: '5s' } };
    expect([1, 2, 3, 4, 5].map((n) => retryDelayMs(policy, n))).toEqual([1000, 2000, 4000, 5000, 5000]);
    expect(retryDelayMs({ limit: 1 }, 1)).toBe(5000);
  });
});
