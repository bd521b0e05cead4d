import { describe, expect, it } from 'vitest';
import { DEFAULT_POLICY } from '../domain/manifest.js';
import { afterAttempt, decideGate } from './gate.js';

const deny = { ...DEFAULT_POLICY, syncWindows: [{ kind: 'deny' as const, schedule: '0 22 * * *', duration: '8h' }] };
const base = { environment: 'prod', tip: 'b'.repeat(40), tipAccepted: true, lastGood: 'a'.repeat(40), now: new Date('2026-12-02T23:00:00Z') };

describe('the gate of a reconcile', () => {
  it('[ops-suspend] a suspended environment is only observed, whatever the windows say', () => {
    const g = decideGate({ ...base, suspension: { environment: 'prod', suspended: true, by: 'alice', at: '2026-12-02T20:00:00Z' } });
    expect(g).toMatchObject({ mode: 'observe', outcome: 'suspended', message: 'suspended by alice at 2026-12-02T20:00:00Z' });
    expect(g.problems[1]).toBe(`revision ${base.tip} is not applied while the environment is suspended`);
    expect(decideGate({ ...base, suspension: { environment: 'prod', suspended: false, by: 'alice', at: 'x' } }).mode).toBe('apply');
  });

  it('[ops-sync-window] a new revision waits in a deny window; the running one is healed only with selfHeal', () => {
    expect(decideGate({ ...base, runningPolicy: deny })).toMatchObject({ mode: 'observe', outcome: 'waiting', wakeAt: new Date('2026-12-03T06:00:00Z') });
    const healing = { ...deny, syncWindows: [{ ...deny.syncWindows[0]!, selfHeal: true }] };
    expect(decideGate({ ...base, runningPolicy: healing })).toMatchObject({ mode: 'heal', outcome: 'waiting' });
    expect(decideGate({ ...base, tip: base.lastGood, runningPolicy: healing })).toMatchObject({ mode: 'apply' });
    expect(decideGate({ ...base, tip: base.lastGood, runningPolicy: deny }).healPaused).toMatch(/^self-heal is paused by the sync window: deny/);
    expect(decideGate({ ...base, runningPolicy: deny, now: new Date('2026-12-03T07:00:00Z') }).mode).toBe('apply');
  });

  it('[ops-retry] a failed tip waits for its next attempt, then is marked bad when none is left', () => {
    const policy = { limit: 1, backoff: { duration: '2s' } };
    const now = new Date('2026-12-02T12:00:00Z');
    const first = afterAttempt({}, { tip: base.tip, policy, failed: true, reason: 'apply-failed', message: 'web: unhealthy', now });
    expect(first.retry).toEqual({ revision: base.tip, failures: 1, nextAt: '2026-12-02T12:00:02.000Z', message: 'web: unhealthy' });
    const waiting = decideGate({ ...base, tipPolicy: { ...DEFAULT_POLICY, retry: policy }, retry: first.retry!, now: new Date('2026-12-02T12:00:01Z') });
    expect(waiting).toMatchObject({ mode: 'heal', outcome: 'waiting', message: `revision ${base.tip} failed (web: unhealthy); attempt 2 of 2 at 2026-12-02T12:00:02.000Z` });
    expect(decideGate({ ...base, retry: first.retry!, now: new Date('2026-12-02T12:00:02Z') }).mode).toBe('apply');
    const second = afterAttempt({ retry: first.retry! }, { tip: base.tip, policy, failed: true, now });
    expect(second.exhausted).toEqual({ failures: 2 });
    expect(second.problem).toBe(`revision ${base.tip} failed 2 times (retry limit 1); not retried until a new commit`);
  });
});
