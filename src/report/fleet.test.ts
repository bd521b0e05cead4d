import { describe, expect, it } from 'vitest';
import { assessFleet, buildFleetSummary, isFleetSummary } from './fleet.js';
import { parseStatus } from './status-parse.js';
import { buildStatus, type StatusInput } from './status.js';
import { backoffMs } from './status-repo.js';

const A = 'a'.repeat(40);
const B = 'b'.repeat(40);
const CODE = 'c'.repeat(64);

function hostStatus(host: string, over: Partial<StatusInput> = {}): { host: string; text: string } {
  return {
    host,
    text: buildStatus({
      environment: 'prod', namespace: 'prod', host, outcome: 'converged', reconciledAt: '2026-01-01T00:10:00.000Z', running: B,
      provenance: { revision: B, author: { name: 'A', email: 'a@example.com' }, committer: { name: 'A', email: 'a@example.com' }, subject: 'ship', signature: { verified: false, detail: '' }, approvers: [] },
      tasks: [{ task: 'api', type: 'service', state: 'online', pids: [1], restarts: 0, code: { running: CODE, desired: CODE } }],
      holds: [], problems: [], badRevisions: [], ...over,
    }),
  };
}

const now = new Date('2026-01-01T00:11:00.000Z');
const hostTimeoutMs = 10 * 60_000;

describe('assessFleet', () => {
  it('[fleet-lost] tells current, lagging, failed and lost hosts apart', () => {
    const fleet = assessFleet({
      environment: 'prod', now, hostTimeoutMs,
      hosts: [
        hostStatus('web-1'),
        hostStatus('web-2', { running: A, reconciledAt: '2026-01-01T00:09:00.000Z' }),
        hostStatus('web-3', { outcome: 'rolled-back', running: A }),
        hostStatus('web-4', { reconciledAt: '2025-12-31T23:59:00.000Z' }),
      ],
    });
    expect(fleet.newest).toBe(B);
    expect(fleet.hosts.map((h) => [h.host, h.standing])).toEqual([['web-1', 'current'], ['web-2', 'lagging'], ['web-3', 'failed'], ['web-4', 'lost']]);
    expect(fleet.hosts[0]!.code).toEqual([{ task: 'api', digest: CODE.slice(0, 12) }]);
    expect(fleet.hosts[3]!.lastSeen).toBe('2025-12-31T23:59:00.000Z');
  });
});

describe('buildFleetSummary', () => {
  it('[fleet-summary] many hosts: one row each, names of the lagging, failed and lost ones', () => {
    const text = buildFleetSummary({ environment: 'prod', now, hostTimeoutMs, hosts: [hostStatus('web-2', { running: A }), hostStatus('web-1'), hostStatus('db-1', { reconciledAt: '2025-01-01T00:00:00.000Z' })] });
    expect(isFleetSummary(text)).toBe(true);
    expect(text).toContain('| hosts | 3: 1 up to date, 1 lagging, 0 failed, 1 lost |');
    expect(text).toContain('| lost | db-1 |');
    const rows = text.split('\n').filter((l) => /^\| (web|db)-\d /.test(l));
    expect(rows.map((r) => r.split(' | ')[0])).toEqual(['| db-1', '| web-1', '| web-2']);
    expect(rows[1]).toContain(`\`${B.slice(0, 12)}\``);
    expect(rows[1]).toContain(`api \`${CODE.slice(0, 12)}\``);
  });

  it('[fleet-summary] a fleet of one reads as that host\'s full status, with the fleet after it', () => {
    const one = hostStatus('web-1');
    const text = buildFleetSummary({ environment: 'prod', now, hostTimeoutMs, hosts: [one] });
    expect(text.startsWith(one.text.trimEnd())).toBe(true);
    const parsed = parseStatus(text);
    expect(parsed.fields.running).toBe(B);
    expect(parsed.tasks.map((t) => t.task)).toEqual(['api']);
    expect(parsed.converged).toBe(true);
  });

  it('is the same text for the same files and time', () => {
    const hosts = [hostStatus('web-1'), hostStatus('web-2')];
    expect(buildFleetSummary({ environment: 'prod', now, hostTimeoutMs, hosts })).toBe(buildFleetSummary({ environment: 'prod', now, hostTimeoutMs, hosts: [...hosts].reverse() }));
  });
});

describe('backoffMs', () => {
  it('[fleet-backoff] grows from 50 ms, is capped, and is spread by the random draw', () => {
    expect(backoffMs(0, 0.5)).toBe(50);
    expect(backoffMs(3, 0.5)).toBe(400);
    expect(backoffMs(20, 0.5)).toBe(3_200);
    expect(backoffMs(2, 0)).toBe(100);
    expect(backoffMs(2, 0.999)).toBeLessThanOrEqual(300);
  });
});

describe('the rollout row of the summary', () => {
  it('[fleet-rollout] says where a stopped rollout stopped and which hosts it holds back', () => {
    const stopped = 'wave 2 of 2: stopped, revision `aaaaaaaaaaaa` failed in wave 1 on h1 (rolled back to the last good revision); this host keeps its revision';
    const text = buildFleetSummary({
      environment: 'prod', now, hostTimeoutMs,
      hosts: [hostStatus('h1', { outcome: 'rolled-back', running: A, rollout: 'wave 1 of 2: applies new revisions first' }), hostStatus('h2', { outcome: 'waiting', running: A, rollout: stopped }), hostStatus('h3', { outcome: 'waiting', running: A, rollout: stopped })],
    });
    expect(text).toContain('| rollout | stopped at wave 1: revision aaaaaaaaaaaa failed on h1 (rolled back to the last good revision); held back: h2, h3 |');
    // Hosts a rollout holds back are behind, not failed; the host that rolled back failed.
    expect(text).toContain('| hosts | 3: 0 up to date, 2 lagging, 1 failed, 0 lost |');
    const waiting = buildFleetSummary({ environment: 'prod', now, hostTimeoutMs, hosts: [hostStatus('h1', { rollout: 'wave 1 of 2: applies new revisions first' }), hostStatus('h2', { outcome: 'waiting', rollout: 'wave 2 of 2: waits for wave 1 (h1) to report revision `aaaaaaaaaaaa` healthy' })] });
    expect(waiting).toContain('| rollout | in progress; waiting for earlier waves: h2 |');
    expect(buildFleetSummary({ environment: 'prod', now, hostTimeoutMs, hosts: [hostStatus('h1'), hostStatus('h2')] })).not.toContain('| rollout |');
  });
});
