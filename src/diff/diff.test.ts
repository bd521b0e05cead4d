import { describe, expect, it } from 'vitest';
import type { LiveTask } from '../domain/live.js';
import { diff } from './diff.js';
import { redactPatch, redactValue } from './redact.js';

const live = (name: string, process: Record<string, unknown>, status = 'online'): LiveTask => ({
  name, namespace: 'n', process, instances: [{ pmId: 1, pid: 2, status, restarts: 0, startedAt: 0, unstableRestarts: 0 }],
});

describe('diff', () => {
  it('classifies missing, extra, changed and in-sync tasks, sorted by name', () => {
    const drifts = diff(
      [{ name: 'b', type: 'service', comparable: { a: 1 } }, { name: 'a', type: 'service', comparable: { a: 1 } }, { name: 'c', type: 'service', comparable: { a: 2, z: [1] } }],
      [live('c', { a: 1, y: true }), live('a', { a: 1 }, 'stopped'), live('d', {})],
    );
    expect(drifts.map((d) => [d.task, d.kind])).toEqual([['a', 'in-sync'], ['b', 'missing'], ['c', 'changed'], ['d', 'extra']]);
    expect(drifts[0]!.unhealthy).toEqual([{ pmId: 1, status: 'stopped' }]);
    expect(drifts[2]!.patch).toEqual([
      { op: 'replace', path: '/a', value: 2, oldValue: 1 },
      { op: 'remove', path: '/y' },
      { op: 'add', path: '/z', value: [1] },
    ]);
  });

  it('does not count a job that exited 0 as unhealthy', () => {
    const done = live('j', {}, 'stopped');
    done.instances[0]!.exitCode = 0;
    expect(diff([{ name: 'j', type: 'job', comparable: {} }], [done])[0]!.unhealthy).toEqual([]);
  });

  it('[import-job-waiting-restart] counts a job waiting restart by its exit code, as PM2 shows it after the exit', () => {
    const done = live('j', {}, 'waiting restart');
    done.instances[0]!.exitCode = 0;
    expect(diff([{ name: 'j', type: 'job', comparable: {} }], [done])[0]!.unhealthy).toEqual([]);
    done.instances[0]!.exitCode = 1;
    expect(diff([{ name: 'j', type: 'job', comparable: {} }], [done])[0]!.unhealthy).toEqual([{ pmId: 1, status: 'waiting restart', exitCode: 1 }]);
  });
});

describe('diff of env_* blocks', () => {
  const marker = { environment: 'dev', task: 'web', revision: 'r1', envKeys: [] };
  it('ignores the env_* blocks of an adopted process that the manifest does not declare', () => {
    const adopted = live('web', { a: 1, env_production: { DB: 'x' } });
    expect(diff([{ name: 'web', type: 'service', comparable: { a: 1 } }], [adopted])[0]!.kind).toBe('in-sync');
    const declared = diff([{ name: 'web', type: 'service', comparable: { a: 1, env_production: { DB: 'y' } } }], [adopted])[0]!;
    expect(declared.patch.map((p) => [p.op, p.path])).toEqual([['replace', '/env_production/DB']]);
  });

  it('ignores merge_logs: true that the manifest does not declare (the PM2 CLI stores it on stop and restart)', () => {
    const managed = { ...live('web', { a: 1, exec_mode: 'cluster', merge_logs: true }), marker };
    expect(diff([{ name: 'web', type: 'service', comparable: { a: 1, exec_mode: 'cluster' } }], [managed])[0]!.kind).toBe('in-sync');
    const declared = diff([{ name: 'web', type: 'service', comparable: { a: 1, exec_mode: 'cluster', merge_logs: false } }], [managed])[0]!;
    expect(declared.patch).toEqual([{ op: 'replace', path: '/merge_logs', value: false, oldValue: true }]);
  });

  it('removes an env_* block from a process pm2-gitops started', () => {
    const managed = { ...live('web', { a: 1, env_production: { DB: 'x' } }), marker };
    expect(diff([{ name: 'web', type: 'service', comparable: { a: 1 } }], [managed])[0]!.patch.map((p) => [p.op, p.path])).toEqual([['remove', '/env_production']]);
  });
});

describe('redactPatch', () => {
  it('hides env values, whole env maps and env_* blocks, and nothing else', () => {
    const out = redactPatch([
      { op: 'replace', path: '/env/TOKEN', value: 'hunter2' },
      { op: 'add', path: '/env', value: { A: 'x' } },
      { op: 'add', path: '/env_production/DB', value: 'postgres://u:p@h' },
      { op: 'remove', path: '/env/OLD' },
      { op: 'replace', path: '/kill_timeout', value: 3000 },
    ]);
    expect(out).toEqual([
      { op: 'replace', path: '/env/TOKEN', value: redactValue('hunter2') },
      { op: 'add', path: '/env', value: { A: redactValue('x') } },
      { op: 'add', path: '/env_production/DB', value: redactValue('postgres://u:p@h') },
      { op: 'remove', path: '/env/OLD' },
      { op: 'replace', path: '/kill_timeout', value: 3000 },
    ]);
    expect(JSON.stringify(out)).not.toMatch(/hunter2|postgres/);
    expect(redactValue('hunter2')).toMatch(/^sha256:[0-9a-f]{12}$/);
  });
});
