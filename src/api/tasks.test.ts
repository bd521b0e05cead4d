import { describe, expect, it } from 'vitest';
import type { EnvironmentReport } from '../controller/observer.js';
import type { LiveTask } from '../domain/live.js';
import type { DesiredState } from '../domain/manifest.js';
import { formatEvent } from './events.js';
import { environmentView, taskStateChanges, taskViews, withoutEnvValues } from './tasks.js';

const state: DesiredState = {
  environment: 'dev', namespace: 'ns', file: 'environments/dev/environment.yaml', policy: { prune: true, selfHeal: true, rollback: false, pruneLimit: '50%', approvals: { required: 0 } },
  tasks: [
    { name: 'web', sourceName: 'web', file: 'base/web.yaml', type: 'service', dependsOn: [], labels: {}, context: {} as never, process: { script: 'server.js', env: { API_TOKEN: 'tok-very-secret-1' }, env_production: { X: 'y-secret-2' } } },
    { name: 'migrate', sourceName: 'migrate', file: 'base/migrate.yaml', type: 'job', dependsOn: [], labels: {}, context: {} as never, process: { script: 'migrate.js' } },
  ],
};

function liveTask(name: string, status: string, exitCode = 0): LiveTask {
  return { name, namespace: 'ns', process: { script: '/abs/server.js', env: { API_TOKEN: 'tok-very-secret-1' } }, instances: [{ pmId: 3, pid: status === 'online' ? 42 : 0, status, restarts: 1, startedAt: 1000, unstableRestarts: 0, exitCode, cpu: 2, memory: 4096 }] };
}

function report(live: LiveTask[]): EnvironmentReport {
  return {
    correlationId: 'c-1', environment: 'dev', tip: 'a'.repeat(40), running: 'a'.repeat(40), outcome: 'converged', problems: [],
    decision: { required: 0, granted: 0, ok: true, approvers: [], reasons: [] }, state,
    result: { live, code: [{ task: 'web', desired: 'd'.repeat(64), running: 'd'.repeat(64) }] } as never,
    results: [], lastActions: { web: { action: 'create (ok)', at: '2026-01-01T00:00:00.000Z' } }, at: '2026-01-01T00:00:01.000Z',
  };
}

describe('API views', () => {
  it('[api-tasks] shows desired and live state, shape, code and last action, with env maps as digests', () => {
    const views = taskViews(report([liveTask('web', 'online'), liveTask('migrate', 'stopped')]));
    expect(views.map((v) => [v.name, v.state, v.shape])).toEqual([['migrate', 'completed', '□ completed'], ['web', 'online', '○ online']]);
    const web = views.find((v) => v.name === 'web')!;
    expect(web.code).toEqual({ desired: 'd'.repeat(64), running: 'd'.repeat(64) });
    expect(web.lastAction).toEqual({ action: 'create (ok)', at: '2026-01-01T00:00:00.000Z' });
    expect(web.live.instances).toEqual([{ pmId: 3, pid: 42, status: 'online', restarts: 1, startedAt: 1000, cpu: 2, memory: 4096 }]);
    const text = JSON.stringify(views);
    expect(text).not.toContain('tok-very-secret-1');
    expect(text).not.toContain('y-secret-2');
    expect((web.desired!.process as Record<string, Record<string, string>>).env!.API_TOKEN).toMatch(/^sha256:[0-9a-f]{12}$/);
  });

  it('[api-tasks] reads live state given now over the last reconcile\'s, and says unknown when neither exists', () => {
    const r = report([liveTask('web', 'online')]);
    expect(taskViews(r, [liveTask('web', 'stopped')]).find((v) => v.name === 'web')!.state).toBe('stopped');
    expect(taskViews({ ...r, result: undefined }).map((v) => v.state)).toEqual(['unknown', 'unknown']);
    expect(environmentView(r)).toMatchObject({ name: 'dev', namespace: 'ns', outcome: 'converged', tasks: 2, correlationId: 'c-1' });
  });

  it('[api-sse] names each task whose state changed, and new tasks without a previous state', () => {
    expect(taskStateChanges([{ name: 'web', state: 'online' }, { name: 'job', state: 'completed' }], [{ name: 'web', state: 'stopped' }, { name: 'job', state: 'completed' }, { name: 'api', state: 'starting' }]))
      .toEqual([{ task: 'web', from: 'online', to: 'stopped' }, { task: 'api', to: 'starting' }]);
  });

  it('[api-sse] frames an event as one data line of JSON, whatever its text holds', () => {
    const frame = formatEvent(7, { type: 'process', correlationId: 'c', at: 't', data: { note: 'two\nlines' } });
    expect(frame).toBe('id: 7\nevent: process\ndata: {"type":"process","correlationId":"c","at":"t","data":{"note":"two\\nlines"}}\n\n');
    expect(withoutEnvValues({ env: { A: 'b' }, script: 'x' })).toEqual({ env: { A: expect.stringMatching(/^sha256:/) }, script: 'x' });
  });
});
