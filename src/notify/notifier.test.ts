import { describe, expect, it } from 'vitest';
import { silentLogger } from '../adapters/logger.js';
import type { EnvironmentReport } from '../controller/observer.js';
import { Notifier } from './notifier.js';
import { notificationsOfReport } from './notifications.js';

const report = (over: Partial<EnvironmentReport>): EnvironmentReport => ({
  correlationId: 'c1', environment: 'prod', tip: 'b'.repeat(40), running: 'a'.repeat(40), outcome: 'converged', problems: [],
  decision: { ok: true, required: 0, granted: 0, approvers: [], reasons: [] }, results: [], lastActions: {}, at: '2026-12-02T12:00:00Z', ...over,
});

describe('notifications', () => {
  it('[ops-notify] a failure, refusal or rollback is said once while it stands; healed drift each time', () => {
    const failed = report({ outcome: 'failed', reason: 'apply-failed', problems: ['web: unhealthy'] });
    expect(notificationsOfReport(undefined, failed, 'h1')).toEqual([expect.objectContaining({ event: 'reconcile-failed', environment: 'prod', revision: failed.tip, outcome: 'failed', reason: 'apply-failed', correlationId: 'c1', host: 'h1' })]);
    expect(notificationsOfReport(failed, failed, 'h1')).toEqual([]);
    expect(notificationsOfReport(undefined, report({ outcome: 'not-approved' }), 'h1')[0]!.event).toBe('approval-refused');
    expect(notificationsOfReport(undefined, report({ outcome: 'rolled-back' }), 'h1')[0]!.text).toContain('rolled back to aaaaaaaaaaaa');
    const action = { task: 'web', action: 'restart' as const, reason: 'stopped', patch: [], dependsOn: [], type: 'service' as const, pmIds: [0], result: 'ok' as const, startedAt: 'x', durationMs: 1 };
    const healed = report({ healed: true, results: [action] });
    expect(notificationsOfReport(healed, healed, 'h1')).toEqual([expect.objectContaining({ event: 'drift-healed', task: 'web' })]);
  });

  it('[ops-notify] posts are retried with a doubling delay after a server error, in order', async () => {
    const posts: Array<{ body: string; at: number }> = [];
    const answers = [500, 503, 200, 200];
    const start = Date.now();
    const n = new Notifier({ urls: ['http://sink.invalid/x'], host: 'h1', logger: silentLogger, firstDelayMs: 20, send: async (_url, body) => { posts.push({ body, at: Date.now() - start }); return answers.shift()!; } });
    n.reported(report({ outcome: 'failed', reason: 'apply-failed' }));
    n.reported(report({ outcome: 'rolled-back', correlationId: 'c2' }));
    await new Promise((r) => { setTimeout(r, 300); });
    n.close();
    expect(posts.map((p) => (JSON.parse(p.body) as { event: string }).event)).toEqual(['reconcile-failed', 'reconcile-failed', 'reconcile-failed', 'rolled-back']);
    expect(posts[2]!.at - posts[1]!.at).toBeGreaterThanOrEqual(posts[1]!.at - posts[0]!.at);
  });
});
