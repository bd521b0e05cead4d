import { describe, expect, it } from 'vitest';
import type { LiveTask } from './domain/live.js';
import type { ResolvedTask } from './live/read.js';
import { codeConverged, codeStates } from './reconcile.js';

const A = 'a'.repeat(64);
const B = 'b'.repeat(64);
const resolved = (codeDigest?: string): ResolvedTask => ({ task: { name: 'web' }, app: {}, comparable: {}, marker: { environment: 'dev', task: 'web', revision: 'r', envKeys: [], ...(codeDigest ? { codeDigest } : {}) } }) as unknown as ResolvedTask;
const live = (process: Record<string, unknown>, marked = true): LiveTask => ({
  name: 'web', namespace: 'dev', process,
  instances: [{ pmId: 0, pid: 1, status: 'online', restarts: 0, startedAt: 0, unstableRestarts: 0 }, { pmId: 1, pid: 2, status: 'online', restarts: 0, startedAt: 0, unstableRestarts: 0 }],
  ...(marked ? { marker: { environment: 'dev', task: 'web', revision: 'r', envKeys: [] } } : {}),
});

describe('code states', () => {
  it('[delivery-status] converged only when every worker runs the desired build', () => {
    expect(codeConverged(codeStates([resolved(A)], [resolved(A)], [live({ code: A })]))).toBe(true);
    expect(codeStates([resolved(B)], [resolved(B)], [live({ code: A })])).toEqual([{ task: 'web', desired: B, running: A }]);
    expect(codeConverged(codeStates([resolved(B)], [resolved(B)], [live({ code: A })]))).toBe(false);
    // A reload cut short: the first worker runs the new build, another the old one.
    const mixed = codeStates([resolved(A)], [resolved(A)], [live({ code: A, workers_differ: { 1: ['code'] } })]);
    expect(mixed).toEqual([{ task: 'web', desired: A, running: A, mixed: true }]);
    expect(codeConverged(mixed)).toBe(false);
  });

  it('[delivery-status] a process adopted as it runs from the repository counts as running its code', () => {
    const adopted = codeStates([resolved(A)], [resolved()], [live({}, false)]);
    expect(adopted).toEqual([{ task: 'web', desired: A, adopted: true }]);
    expect(codeConverged(adopted)).toBe(true);
  });
});
