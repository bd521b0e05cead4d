import { describe, expect, it } from 'vitest';
import type { Pm2Entry } from '../domain/live.js';
import { diff } from '../diff/diff.js';
import { plan } from '../plan/plan.js';
import { formatMarker, instanceCount, normalizeAppConfig, normalizeLive, normalizeLiveOf, parseMarker, WORKER_VARIANTS } from './normalize.js';

const entry = (pmId: number | string, name: string, namespace: string, over: Record<string, unknown> = {}): Pm2Entry => ({
  name,
  pid: 1000 + Number(pmId),
  pm_id: pmId as number,
  pm2_env: {
    name, namespace, pm_id: pmId, status: 'online', restart_time: 2, pm_uptime: 5, unstable_restarts: 0,
    pm_exec_path: '/srv/app.cjs', pm_cwd: '/srv', exec_interpreter: 'node', exec_mode: 'cluster_mode', instances: 2,
    node_args: [], args: ['--port', '1'], max_memory_restart: 314572800, autorestart: true, vizion: true,
    pm_out_log_path: `/home/.pm2/logs/${name}-out-${String(pmId)}.log`, pm_pid_path: `/home/.pm2/pids/${name}-${String(pmId)}.pid`,
    env: { PATH: '/usr/bin', SECRET: 's3', PORT: 4000, HOME: '/root' }, PATH: '/usr/bin', status_extra: 'ignored',
    ...over,
  },
});

describe('normalizeLive', () => {
  it('folds the workers of one app into one task of its namespace only', () => {
    const tasks = normalizeLive([
      entry(3, 'api', 'prod'), entry(1, 'api', 'prod'), entry(2, 'api', 'other'), entry('_old_1', 'api', 'prod'), entry(4, 'jobs', 'prod', { exec_mode: 'fork_mode', status: 'stopped', exit_code: 0 }),
    ], 'prod', (name) => (name === 'api' ? ['PORT'] : []));
    expect(tasks.map((t) => t.name)).toEqual(['api', 'jobs']);
    const api = tasks[0]!;
    expect(api.instances.map((i) => i.pmId)).toEqual([1, 3]);
    expect(api.process).toEqual({
      script: '/srv/app.cjs', cwd: '/srv', args: ['--port', '1'], node_args: [], exec_interpreter: 'node', exec_mode: 'cluster', instances: 2,
      out_file: '/home/.pm2/logs/api-out.log', pid_file: '/home/.pm2/pids/api.pid',
      max_memory_restart: 314572800, autorestart: true, vizion: true, env: { PORT: '4000' },
    });
    expect(tasks[1]!.instances[0]).toMatchObject({ status: 'stopped', exitCode: 0, restarts: 2 });
  });

  it('[import-pwd-env] reads the marker as the JSON text pm2-gitops stores, and as the object earlier versions stored', () => {
    const marker = { environment: 'p', task: 'api', revision: 'r', envKeys: ['PORT'], specDigest: 'd' };
    expect(parseMarker(formatMarker(marker))).toEqual(marker);
    expect(typeof formatMarker(marker)).toBe('string');
    expect(parseMarker(marker)).toEqual(marker);
    const [task] = normalizeLive([entry(0, 'api', 'p', { pm2_gitops: formatMarker(marker) })], 'p');
    expect(task!.marker).toEqual(marker);
    for (const other of ['not json', '"api"', '{"environment":"p"}', 42, null]) expect(parseMarker(other)).toBeUndefined();
  });

  it('compares env keys named by the marker even when the manifest dropped them', () => {
    const [task] = normalizeLive([entry(0, 'api', 'p', { pm2_gitops: { environment: 'p', task: 'api', revision: 'r', envKeys: ['SECRET'] } })], 'p', () => ['PORT']);
    expect(task!.process.env).toEqual({ PORT: '4000', SECRET: 's3' });
    expect(task!.marker).toEqual({ environment: 'p', task: 'api', revision: 'r', envKeys: ['SECRET'] });
  });

  it('marks a cluster app whose workers differ, even when the lowest pm_id matches the manifest', () => {
    const same = [entry(0, 'api', 'prod'), entry(1, 'api', 'prod')];
    expect(normalizeLive(same, 'prod', () => ['PORT'])[0]!.process).not.toHaveProperty(WORKER_VARIANTS);

    // Worker 1 was restarted by hand with another PORT and a memory limit worker 0 does not have.
    const handEdited = [entry(0, 'api', 'prod', { max_memory_restart: undefined }), entry(1, 'api', 'prod', { env: { PORT: 4001, SECRET: 'other' } })];
    const [api] = normalizeLive(handEdited, 'prod', () => ['PORT']);
    expect(api!.process[WORKER_VARIANTS]).toEqual({ 1: ['env.PORT', 'max_memory_restart'] });
    expect(api!.process.env).toEqual({ PORT: '4000' });
    expect(api!.process.max_memory_restart).toBe(314572800); // only worker 1 has it: kept so it is unset on replace
    expect(JSON.stringify(api!.process)).not.toContain('other');

    // The desired side equals worker 0 exactly; the diff still shows the drift, and the plan reloads.
    const desired = normalizeAppConfig(handEdited[0]!.pm2_env, { envKeys: ['PORT'], instances: 2 });
    const drifts = diff([{ name: 'api', type: 'service', comparable: desired }], [api!]);
    expect(drifts[0]!.kind).toBe('changed');
    expect(drifts[0]!.patch).toEqual([
      { op: 'remove', path: '/max_memory_restart' },
      { op: 'remove', path: `/${WORKER_VARIANTS}` },
    ]);
    const p = plan({
      environment: 'prod', namespace: 'prod', revision: 'r', live: [api!], drifts, policy: { prune: true, selfHeal: true },
      tasks: [{ name: 'api', type: 'service', dependsOn: [], execMode: 'cluster', instances: 2, specDigest: 'd' }],
    });
    expect(p.actions).toMatchObject([{ task: 'api', action: 'reload', pmIds: [0, 1] }]);
    expect(p.actions[0]!.reason).toContain(WORKER_VARIANTS);
  });

  it('does not mark the env variables PM2 numbers per worker (increment_var, instance_var)', () => {
    const worker = (id: number) => entry(id, 'api', 'p', { increment_var: 'WORKER_PORT', env: { PORT: 4000, WORKER_PORT: 5000 + id, NODE_APP_INSTANCE: id } });
    const [api] = normalizeLive([worker(0), worker(1)], 'p', () => ['PORT', 'WORKER_PORT', 'NODE_APP_INSTANCE']);
    expect(api!.process).not.toHaveProperty(WORKER_VARIANTS);
    expect(api!.process.env).toEqual({ NODE_APP_INSTANCE: '0', PORT: '4000', WORKER_PORT: '5000' });
  });

  it('marks workers that differ in env only, and unions the env keys their markers declare', () => {
    const marker = (envKeys: string[]) => ({ pm2_gitops: { environment: 'p', task: 'api', revision: 'r', envKeys } });
    const [api] = normalizeLive([
      entry(0, 'api', 'p', { ...marker(['PORT']), env: { PORT: 4000 } }),
      entry(1, 'api', 'p', { ...marker(['PORT', 'SECRET']), env: { PORT: 4000, SECRET: 's3' } }),
    ], 'p', () => ['PORT']);
    expect(api!.process.env).toEqual({ PORT: '4000', SECRET: 's3' });
    expect(api!.process[WORKER_VARIANTS]).toEqual({ 1: ['env.SECRET'] });
  });
});

describe('normalizeLive with PM2 names', () => {
  it('[import-pm2-name] names the processes of a task by its task name, found by its PM2 name; an undeclared process keeps its PM2 name', () => {
    const tasks = new Map([['API', 'api'], ['Style Guide', 'style-guide'], ['web', 'web']]);
    const live = normalizeLive([entry(0, 'API', 'p'), entry(1, 'Style Guide', 'p'), entry(2, 'web', 'p'), entry(3, 'old', 'p')], 'p', (name) => (name === 'api' ? ['PORT'] : []), tasks);
    expect(live.map((l) => [l.name, l.pm2Name])).toEqual([['api', 'API'], ['old', undefined], ['style-guide', 'Style Guide'], ['web', undefined]]);
    // env keys are those of the task, looked up by task name
    expect(live[0]!.process.env).toEqual({ PORT: '4000' });
    expect(live[0]!.process.out_file).toBe('/home/.pm2/logs/API-out.log');
  });

  it('[import-pm2-name] reads a desired state\'s live tasks by their PM2 names (as apply, plan and the HTTP API do)', () => {
    const state = { namespace: 'p', tasks: [{ name: 'api', pm2Name: 'API', process: { script: 'a.js', env: { PORT: '1' } } }, { name: 'web', process: { script: 'w.js' } }] } as unknown as Parameters<typeof normalizeLiveOf>[1];
    const live = normalizeLiveOf([entry(0, 'API', 'p'), entry(1, 'web', 'p'), entry(2, 'api', 'other')], state);
    expect(live.map((l) => [l.name, l.pm2Name, l.process.env])).toEqual([['api', 'API', { PORT: '4000' }], ['web', undefined, {}]]);
  });

  it('[import-pm2-name] tells apart an undeclared process that has the name of a task PM2 knows by another name', () => {
    // api was started as "api" before its manifest set pm2Name: API; it is not the task's process.
    const live = normalizeLive([entry(0, 'api', 'p'), entry(1, 'API', 'p')], 'p', () => [], new Map([['API', 'api']]));
    expect(live.map((l) => [l.name, l.pm2Name, l.instances[0]!.pmId])).toEqual([['api', 'API', 1], ['api (PM2)', 'api', 0]]);
    const drifts = diff([{ name: 'api', type: 'service', comparable: live[0]!.process }], live);
    expect(drifts.map((d) => [d.task, d.kind])).toEqual([['api', 'in-sync'], ['api (PM2)', 'extra']]);
  });
});

describe('normalizeAppConfig', () => {
  it('turns a string args and a missing interpreter into the stored forms', () => {
    const p = normalizeAppConfig({ pm_exec_path: '/x', pm_cwd: '/', args: 'one', exec_mode: 'fork_mode', env: {} }, { envKeys: [], instances: 1 });
    expect(p).toMatchObject({ args: ['one'], node_args: [], exec_interpreter: 'node', exec_mode: 'fork', env: {} });
  });
});

describe('normalizeAppConfig defaults', () => {
  it('leaves out watch: false and an empty filter_env, which the PM2 CLI stores on stop, start and restart', () => {
    const base = { pm_exec_path: '/x', pm_cwd: '/', exec_mode: 'fork_mode', env: {} };
    const declared = normalizeAppConfig(base, { envKeys: [], instances: 1 });
    const touched = normalizeAppConfig({ ...base, watch: false, filter_env: [], km_link: false }, { envKeys: [], instances: 1 });
    expect(touched).toEqual(declared);
    expect(normalizeAppConfig({ ...base, filter_env: false }, { envKeys: [], instances: 1 })).toEqual(declared);
    expect(normalizeAppConfig({ ...base, watch: true, filter_env: ['npm_'] }, { envKeys: [], instances: 1 })).toMatchObject({ watch: true, filter_env: ['npm_'] });
  });

  it('leaves out merge_logs: true in fork mode, which PM2 sets when a fork app declares no instances', () => {
    const base = { pm_exec_path: '/x', pm_cwd: '/', exec_mode: 'fork_mode', env: {} };
    expect(normalizeAppConfig({ ...base, merge_logs: true }, { envKeys: [], instances: 1 })).toEqual(normalizeAppConfig(base, { envKeys: [], instances: 1 }));
    expect(normalizeAppConfig({ ...base, exec_mode: 'cluster_mode', merge_logs: true }, { envKeys: [], instances: 2 })).toMatchObject({ merge_logs: true });
  });
});

describe('instanceCount', () => {
  it('resolves max, 0 and negative counts against the CPU count', () => {
    expect(instanceCount('max', 8)).toBe(8);
    expect(instanceCount(0, 8)).toBe(8);
    expect(instanceCount(-1, 8)).toBe(7);
    expect(instanceCount(undefined, 8)).toBe(1);
    expect(instanceCount(3, 8)).toBe(3);
  });
});
