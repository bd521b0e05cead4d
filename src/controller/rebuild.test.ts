import { describe, expect, it } from 'vitest';
import type { Pm2Entry } from '../domain/live.js';
import { DEFAULT_POLICY } from '../domain/manifest.js';
import type { EvidenceReport } from '../report/evidence.js';
import { memoryFromEvidence, revisionsFromMarkers } from './rebuild.js';

function report(sequence: number, revision: string, outcome: EvidenceReport['outcome'], over: Partial<EvidenceReport> = {}): EvidenceReport {
  return {
    apiVersion: 'pm2-gitops/v1', kind: 'EvidenceReport', environment: 'dev', host: 'h1', timestamp: `2026-01-01T00:00:0${sequence}.000Z`, sequence, outcome,
    provenance: { revision, signature: { verified: false, detail: '' }, approvers: [] },
    precedence: { policy: { ...DEFAULT_POLICY, prune: true, selfHeal: true, rollback: true }, approvals: { required: 0, granted: 0, ok: true, reasons: [] } },
    reproducibility: {}, drifts: [], actions: [], liveDigest: '', problems: [], previous: null, ...over,
  };
}

const action = (task: string, startedAt: string) => ({ task, type: 'service' as const, action: 'restart' as const, reason: 'changed', pmIds: [0], dependsOn: [], patch: [], result: 'ok' as const, message: 'online', startedAt, durationMs: 5 });

describe('memoryFromEvidence', () => {
  it('[corrupt-state] rebuilds the last good revision, bad revisions, the last report and last actions of this host', () => {
    const reports = [
      report(1, 'r1', 'converged', { actions: [action('web', 't1'), action('job', 't1')] }),
      report(2, 'r2', 'rolled-back', { rollback: { from: 'r2', to: 'r1', reason: 'web unhealthy' }, actions: [action('web', 't2')] }),
      report(3, 'r3', 'invalid'),
      report(4, 'r9', 'converged', { host: 'other' }),
    ];
    expect(memoryFromEvidence(reports, 'h1')).toEqual({
      lastGood: 'r1',
      bad: [{ revision: 'r2', reason: 'web unhealthy' }],
      lastReportKey: 'r3:invalid',
      lastActions: { web: { action: 'restart (ok)', message: 'online', at: 't2' }, job: { action: 'restart (ok)', message: 'online', at: 't1' } },
    });
  });

  it('knows nothing from no reports', () => {
    expect(memoryFromEvidence([], 'h1')).toEqual({ bad: [] });
  });
});

describe('revisionsFromMarkers', () => {
  it('[corrupt-state] takes each environment\'s revision from its most recently started managed process', () => {
    const entry = (env: string, revision: string, uptime: number): Pm2Entry => ({ name: 'x', pid: 1, pm_id: 0, pm2_env: { pm_uptime: uptime, pm2_gitops: { environment: env, task: 'x', revision } } });
    const map = revisionsFromMarkers([entry('dev', 'old', 1), entry('dev', 'new', 5), entry('prod', 'p1', 3), { name: 'y', pid: 2, pm_id: 1, pm2_env: {} }]);
    expect([...map]).toEqual([['dev', 'new'], ['prod', 'p1']]);
  });
});
