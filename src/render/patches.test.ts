import { describe, expect, it } from 'vitest';
import type { PatchSpec } from '../domain/manifest.js';
import { applyOverlay, matchesTarget, mergePatch } from './patches.js';

const task = () => ({
  apiVersion: 'pm2-gitops/v1',
  kind: 'Task',
  metadata: { name: 'api', labels: { tier: 'web', team: 'core' } },
  spec: {
    type: 'service',
    dependsOn: ['db'],
    process: { script: 'server.js', instances: 2, env: { PORT: '3000', DEBUG: '1' }, args: ['--a'] },
  },
});

describe('mergePatch (RFC 7396)', () => {
  it('merges objects recursively, deletes keys set to null, replaces scalars and arrays', () => {
    const out = mergePatch(task(), {
      metadata: { labels: { team: null, zone: 'z1' } },
      spec: { dependsOn: ['cache'], process: { env: { DEBUG: null, PORT: '4000' }, args: null, instances: 4 } },
    });
    expect(out).toEqual({
      apiVersion: 'pm2-gitops/v1',
      kind: 'Task',
      metadata: { name: 'api', labels: { tier: 'web', zone: 'z1' } },
      spec: { type: 'service', dependsOn: ['cache'], process: { script: 'server.js', instances: 4, env: { PORT: '4000' } } },
    });
  });

  it('follows the examples of RFC 7396, appendix A', () => {
    const cases: Array<[unknown, unknown, unknown]> = [
      [{ a: 'b' }, { a: 'c' }, { a: 'c' }],
      [{ a: 'b' }, { b: 'c' }, { a: 'b', b: 'c' }],
      [{ a: 'b' }, { a: null }, {}],
      [{ a: 'b', b: 'c' }, { a: null }, { b: 'c' }],
      [{ a: ['b'] }, { a: 'c' }, { a: 'c' }],
      [{ a: 'c' }, { a: ['b'] }, { a: ['b'] }],
      [{ a: { b: 'c' } }, { a: { b: 'd', c: null } }, { a: { b: 'd' } }],
      [{ a: [{ b: 'c' }] }, { a: [1] }, { a: [1] }],
      [['a', 'b'], ['c', 'd'], ['c', 'd']],
      [{ a: 'b' }, ['c'], ['c']],
      [{ a: 'foo' }, null, null],
      [{ a: 'foo' }, 'bar', 'bar'],
      [{ e: null }, { a: 1 }, { e: null, a: 1 }],
      [[1, 2], { a: 'b', c: null }, { a: 'b' }],
      [{}, { a: { bb: { ccc: null } } }, { a: { bb: {} } }],
    ];
    for (const [target, patch, result] of cases) expect(mergePatch(target, patch)).toEqual(result);
  });

  it('does not mutate the target or the patch', () => {
    const target = task();
    const patch = { spec: { process: { env: { DEBUG: null, NEW: 'x' } } } };
    const before = JSON.stringify([target, patch]);
    const out = mergePatch(target, patch) as ReturnType<typeof task>;
    expect(JSON.stringify([target, patch])).toBe(before);
    out.spec.process.env.PORT = 'changed';
    expect(target.spec.process.env.PORT).toBe('3000');
  });
});

describe('applyOverlay', () => {
  it('applies RFC 6902 operations in order to a copy', () => {
    const original = task();
    const spec: PatchSpec = {
      target: { name: 'api' },
      patch: [
        { op: 'replace', path: '/spec/process/instances', value: 4 },
        { op: 'add', path: '/spec/process/env/REGION', value: 'eu' },
        { op: 'remove', path: '/spec/process/env/DEBUG' },
        { op: 'add', path: '/spec/dependsOn/-', value: 'cache' },
        { op: 'copy', from: '/spec/process/env/PORT', path: '/spec/process/env/HEALTH_PORT' },
        { op: 'move', from: '/spec/process/args', path: '/spec/process/node_args' },
        { op: 'test', path: '/spec/process/instances', value: 4 },
      ],
    };
    const outcome = applyOverlay(original, spec);
    expect(outcome.ok).toBe(true);
    const doc = (outcome as { document: ReturnType<typeof task> & { spec: { process: Record<string, unknown> } } }).document;
    expect(doc.spec.process).toEqual({
      script: 'server.js', instances: 4, env: { PORT: '3000', REGION: 'eu', HEALTH_PORT: '3000' }, node_args: ['--a'],
    });
    expect(doc.spec.dependsOn).toEqual(['db', 'cache']);
    expect(original).toEqual(task());
  });

  it('applies a merge patch when the spec has one', () => {
    const outcome = applyOverlay(task(), { target: { labels: { tier: 'web' } }, merge: { spec: { process: { env: { DEBUG: null } } } } });
    expect(outcome).toEqual({ ok: true, document: { ...task(), spec: { ...task().spec, process: { ...task().spec.process, env: { PORT: '3000' } } } } });
  });

  it('reports the index and a readable reason of the first operation that fails, leaving the input alone', () => {
    const original = task();
    const missing = applyOverlay(original, {
      target: { name: 'api' },
      patch: [
        { op: 'replace', path: '/spec/process/instances', value: 3 },
        { op: 'replace', path: '/spec/health/http/url', value: 'http://x' },
      ],
    });
    expect(missing).toEqual({ ok: false, operation: 1, message: 'path /spec/health/http/url does not exist in the target task' });
    expect(original).toEqual(task());

    const failedTest = applyOverlay(original, { target: {}, patch: [{ op: 'test', path: '/spec/process/instances', value: 9 }] });
    expect(failedTest).toEqual({ ok: false, operation: 0, message: 'test failed: /spec/process/instances does not hold the value the operation expects (an integer)' });

    const removeMissing = applyOverlay(original, { target: {}, patch: [{ op: 'remove', path: '/spec/process/env/NOPE' }] });
    expect(removeMissing).toMatchObject({ ok: false, operation: 0 });

    const pastEnd = applyOverlay(original, { target: {}, patch: [{ op: 'add', path: '/spec/dependsOn/5', value: 'x' }] });
    expect(pastEnd).toEqual({ ok: false, operation: 0, message: 'path /spec/dependsOn/5 is past the end of the list' });
  });

  it('treats an empty operation list as no change', () => {
    expect(applyOverlay(task(), { target: {}, patch: [] })).toEqual({ ok: true, document: task() });
  });
});

describe('matchesTarget', () => {
  const labels = { tier: 'web', team: 'core' };

  it('selects by original name', () => {
    expect(matchesTarget({ name: 'api' }, 'api', labels)).toBe(true);
    expect(matchesTarget({ name: 'api' }, 'stg-api', labels)).toBe(false);
    expect(matchesTarget({ name: 'web' }, 'api', labels)).toBe(false);
  });

  it('selects by labels: every label of the selector must match', () => {
    expect(matchesTarget({ labels: { tier: 'web' } }, 'api', labels)).toBe(true);
    expect(matchesTarget({ labels: { tier: 'web', team: 'core' } }, 'api', labels)).toBe(true);
    expect(matchesTarget({ labels: { tier: 'web', team: 'data' } }, 'api', labels)).toBe(false);
    expect(matchesTarget({ labels: { zone: 'z1' } }, 'api', labels)).toBe(false);
    expect(matchesTarget({ labels: { tier: 'web' } }, 'api', undefined)).toBe(false);
  });

  it('needs both name and labels to match when both are given', () => {
    expect(matchesTarget({ name: 'api', labels: { tier: 'web' } }, 'api', labels)).toBe(true);
    expect(matchesTarget({ name: 'api', labels: { tier: 'data' } }, 'api', labels)).toBe(false);
    expect(matchesTarget({ name: 'other', labels: { tier: 'web' } }, 'api', labels)).toBe(false);
  });

  it('does not treat inherited properties as labels', () => {
    const selector = Object.create({ tier: 'data' }) as Record<string, string>;
    expect(matchesTarget({ labels: selector }, 'api', labels)).toBe(true);
  });
});
