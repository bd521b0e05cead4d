import { describe, expect, it } from 'vitest';
import type { EnvironmentReport } from '../controller/observer.js';
import type { BuildRecord } from '../delivery/types.js';
import { buildView, lastDiffs, type LastDiff } from './task-detail.js';

function report(over: Partial<EnvironmentReport> & { drifts: unknown[]; actions?: unknown[]; live?: Array<{ name: string }> }): EnvironmentReport {
  const { drifts, actions = [], live = [], ...rest } = over;
  return {
    correlationId: 'c-2', environment: 'dev', tip: 'a'.repeat(40), outcome: 'converged', problems: [],
    decision: { required: 0, granted: 0, ok: true, approvers: [], reasons: [] },
    state: { tasks: [{ name: 'web' }, { name: 'worker' }] } as never,
    result: { revision: 'a'.repeat(40), drifts, plan: { actions }, live } as never,
    results: [], lastActions: {}, at: '2026-01-01T00:00:02.000Z', ...rest,
  };
}

describe('the task view', () => {
  it('[api-dashboard] keeps each task\'s last difference from git with the actions taken, until the task is gone', () => {
    const first = lastDiffs(new Map(), report({
      drifts: [
        { task: 'web', kind: 'changed', patch: [{ op: 'replace', path: '/env/GREETING', value: 'sha256:111111111111', oldValue: 'sha256:222222222222' }], unhealthy: [] },
        { task: 'worker', kind: 'in-sync', patch: [], unhealthy: [] },
      ],
      actions: [{ task: 'web', action: 'restart', reason: 'env.GREETING differs' }],
      results: [{ task: 'web', action: 'restart', result: 'ok', message: 'online' }] as never,
    }));
    expect([...first.keys()]).toEqual(['web']);
    expect(first.get('web')).toEqual<LastDiff>({
      at: '2026-01-01T00:00:02.000Z', correlationId: 'c-2', revision: 'a'.repeat(40), kind: 'changed',
      patch: [{ op: 'replace', path: '/env/GREETING', value: 'sha256:111111111111', oldValue: 'sha256:222222222222' }], unhealthy: [],
      actions: [{ action: 'restart', reason: 'env.GREETING differs', result: 'ok', message: 'online' }],
    });
    // A later pass with nothing to do keeps the last difference; a stopped worker is one too.
    const second = lastDiffs(first, report({ correlationId: 'c-3', drifts: [{ task: 'worker', kind: 'in-sync', patch: [], unhealthy: [{ pmId: 4, status: 'stopped' }] }], actions: [{ task: 'worker', action: 'start', reason: 'stopped in PM2 (selfHeal)' }] }));
    expect(second.get('web')!.correlationId).toBe('c-2');
    expect(second.get('worker')).toMatchObject({ correlationId: 'c-3', unhealthy: [{ pmId: 4, status: 'stopped' }], actions: [{ action: 'start', reason: 'stopped in PM2 (selfHeal)' }] });
    // web leaves git and PM2: its entry goes.
    const third = lastDiffs(second, report({ state: { tasks: [{ name: 'worker' }] } as never, drifts: [] }));
    expect([...third.keys()]).toEqual(['worker']);
  });

  it('[api-dashboard] shows each build step with the last 40 lines of its output', () => {
    const output = Array.from({ length: 100 }, (_, i) => `line ${i + 1}`).join('\n') + '\n';
    const record = {
      version: 1, task: 'web', codeDigest: 'd'.repeat(64), status: 'failed', revision: 'b'.repeat(40), cwd: 'apps/web', script: 'dist/server.js', build: {} as never,
      steps: [
        { kind: 'install', command: 'npm ci', status: 'reused', reusedFrom: 'e'.repeat(64), startedAt: 't0', durationMs: 3 },
        { kind: 'run', command: 'npm run build', status: 'failed', exitCode: 2, startedAt: 't1', durationMs: 1200, output },
      ],
      createdAt: 't0', lastUsedAt: 't1',
    } as BuildRecord;
    const view = buildView(record);
    expect(view).toMatchObject({ codeDigest: 'd'.repeat(64), status: 'failed', revision: 'b'.repeat(40) });
    expect(view.steps[0]).toEqual({ kind: 'install', command: 'npm ci', status: 'reused', reusedFrom: 'e'.repeat(64), startedAt: 't0', durationMs: 3, tail: [] });
    expect(view.steps[1]!.tail).toHaveLength(40);
    expect(view.steps[1]!.tail[0]).toBe('line 61');
    expect(view.steps[1]!.tail[39]).toBe('line 100');
    expect(view.steps[1]).toMatchObject({ exitCode: 2, status: 'failed' });
  });
});
