import { describe, expect, it } from 'vitest';
import { FakeOps } from '../../test/helpers/fake-ops.js';
import type { Pm2Entry } from '../domain/live.js';
import type { Action, Plan } from '../domain/plan.js';
import { execute, type ExecTask } from './execute.js';
import type { Clock, Prober } from './ops.js';
import { keysToUnset } from './perform.js';

let fakeNow = 0;
const clock: Clock = { now: () => fakeNow, sleep: async (ms) => { fakeNow += ms; } };
const prober: Prober = { http: async () => ({ ok: true, detail: '200' }), tcp: async () => ({ ok: true, detail: 'open' }) };

const task = (name: string, over: Partial<ExecTask> = {}): ExecTask => ({
  name, type: 'service', dependsOn: [], instances: 1, health: { minUptimeSeconds: 0 },
  app: { name, namespace: 'ns', env: {} }, comparable: {}, ...over,
});

const action = (t: ExecTask, kind: Action['action'], pmIds: number[] = []): Action => ({
  task: t.name, action: kind, reason: 'test', patch: [], dependsOn: t.dependsOn, type: t.type, pmIds,
});

const planOf = (actions: Action[]): Plan => ({ environment: 'e', namespace: 'ns', revision: 'r', actions, holds: [], inSync: [] });

describe('execute', () => {
  it('runs dependencies first and skips the dependents of a failed job', async () => {
    const ops = new FakeOps();
    const job = task('migrate', { type: 'job', app: { name: 'migrate', namespace: 'ns', autorestart: false, env: { EXIT_CODE: '1' } } });
    const api = task('api', { dependsOn: ['migrate'] });
    const other = task('other');
    const results = await execute({ plan: planOf([action(job, 'create'), action(api, 'create'), action(other, 'create')]), tasks: [job, api, other], live: [], ops, prober, clock });
    expect(results.map((r) => [r.task, r.result])).toEqual([['migrate', 'failed'], ['api', 'skipped'], ['other', 'ok']]);
    expect(results[0]!.message).toBe('job exited with code 1 (stopped)');
    expect(results[1]!.message).toMatch(/^dependency migrate is not ready/);
    expect(ops.calls).not.toContain('create api');
    expect(ops.calls).toContain('create other');
  });

  it('[import-pm2-name] waits for a task\'s processes under its PM2 name, and its dependents for it by task name', async () => {
    const ops = new FakeOps();
    const api = task('api', { pm2Name: 'API', app: { name: 'API', namespace: 'ns', env: {} } });
    const web = task('web', { dependsOn: ['api'] });
    const results = await execute({ plan: planOf([action(web, 'create'), action(api, 'create')]), tasks: [web, api], live: [], ops, prober, clock });
    expect(results.map((r) => [r.task, r.result, r.message])).toEqual([['web', 'ok', 'online'], ['api', 'ok', 'online']]);
    expect(ops.calls).toEqual(['create API', 'create web']);
  });

  it('starts a dependent only after its dependency is ready', async () => {
    const ops = new FakeOps();
    const db = task('db');
    const web = task('web', { dependsOn: ['db'] });
    await execute({ plan: planOf([action(web, 'create'), action(db, 'create')]), tasks: [web, db], live: [], ops, prober, clock });
    expect(ops.calls).toEqual(['create db', 'create web']);
  });

  it('reports a refused PM2 call as failed and keeps going', async () => {
    const ops = new FakeOps();
    ops.failOn.add('create a');
    const a = task('a');
    const b = task('b');
    const results = await execute({ plan: planOf([action(a, 'create'), action(b, 'create')]), tasks: [a, b], live: [], ops, prober, clock });
    expect(results.map((r) => [r.task, r.result, r.message])).toEqual([['a', 'failed', 'create failed: refused create a'], ['b', 'ok', 'online']]);
  });

  it('scales by duplicating and deleting workers, never restarting the others', async () => {
    const ops = new FakeOps();
    const ids = await ops.create({ name: 'c', namespace: 'ns', instances: 2, env: {} });
    const c = task('c', { instances: 4 });
    await execute({ plan: planOf([{ ...action(c, 'scale', ids), from: 2, to: 4 }]), tasks: [c], live: [], ops, prober, clock });
    expect(ops.calls.slice(1)).toEqual(['duplicate 0', 'duplicate 0']);
    const down = task('c', { instances: 1 });
    await execute({ plan: planOf([{ ...action(down, 'scale', [0, 1, 2, 3]), from: 4, to: 1 }]), tasks: [down], live: [], ops, prober, clock });
    expect(ops.calls.slice(3)).toEqual(['delete 3', 'delete 2', 'delete 1']);
    expect([...ops.procs.keys()]).toEqual([0]);
  });
});

describe('keysToUnset', () => {
  it('names options and env keys the live process has and the desired one lost', () => {
    expect(keysToUnset(
      { script: '/a', max_memory_restart: 1, out_file: '/l', env: { A: '1', GONE: '2' } },
      { script: '/a', env: { A: '1' } },
    )).toEqual(['GONE', 'max_memory_restart', 'pm_out_log_path']);
  });
});

describe('execute on a long dependency chain', () => {
  /** Services that come up online at once; the list is not copied, as FakeOps's is, so that thousands of tasks stay cheap. */
  class InstantOps extends FakeOps {
    private readonly entries: Pm2Entry[] = [];
    override async list(): Promise<Pm2Entry[]> { return this.entries; }
    override async create(app: Record<string, unknown>): Promise<number[]> {
      this.calls.push(`create ${String(app.name)}`);
      const pmId = this.entries.length;
      this.entries.push({ name: String(app.name), pid: 1000 + pmId, pm_id: pmId, pm2_env: { ...app, pm_id: pmId, status: 'online', restart_time: 0, pm_uptime: 0 } });
      return [pmId];
    }
  }

  it('[deep-dependencies] runs a chain of 6,000 tasks in order without overflowing the stack', async () => {
    const n = 6_000;
    const ops = new InstantOps();
    const tasks = Array.from({ length: n }, (_, i) => task(`t${i}`, { dependsOn: i > 0 ? [`t${i - 1}`] : [] }));
    // The last task first: its start waits on the whole chain below it.
    const results = await execute({ plan: planOf(tasks.map((t) => action(t, 'create')).reverse()), tasks, live: [], ops, prober, clock });
    expect(results.filter((r) => r.result !== 'ok')).toEqual([]);
    expect(ops.calls.slice(0, 3)).toEqual(['create t0', 'create t1', 'create t2']);
    expect(ops.calls).toHaveLength(n);
  });
});
