/**
 * `pm2-gitops apply` against a real PM2 daemon: scaling a cluster without
 * restarting its workers, pruning on and off, and a same-named process in
 * another namespace that no apply touches.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { cli } from './helpers/cli.js';
import { type ApplyReport, type EnvDef, type ManifestRepo, manifestRepo, parseReport, pm2AndRepo, type TaskDef } from './helpers/manifests.js';
import { isolatedPm2, type IsolatedPm2, type JlistEntry } from './helpers/pm2.js';

async function inNamespace(pm2: IsolatedPm2, namespace: string, name?: string): Promise<JlistEntry[]> {
  return (await pm2.jlist()).filter((p) => p.pm2_env.namespace === namespace && (name === undefined || p.name === name)).sort((a, b) => a.pm_id - b.pm_id);
}

async function apply(pm2: IsolatedPm2, repo: ManifestRepo, expectCode = 0): Promise<ApplyReport> {
  const r = await cli(['apply', '--repo', repo.dir, '--json'], { env: pm2.env });
  expect(r.code, r.stderr).toBe(expectCode);
  return parseReport(r.stdout, r.stderr);
}

const summary = (report: ApplyReport): string[][] => report.actions.map((a) => [a.task, a.action, a.result]);

describe('apply: changing only instances of a cluster task scales it', () => {
  const NS = 'apply-scale';
  const { pm2, repo } = pm2AndRepo();
  const pool = (instances: number): TaskDef[] => [{ name: 'pool', process: { exec_mode: 'cluster', instances, env: { ROLE: 'pool' } } }];
  const workers = async (): Promise<Map<number, [number, number]>> =>
    new Map((await inNamespace(pm2, NS, 'pool')).map((p) => [p.pm_id, [p.pid, p.pm2_env.restart_time]]));

  it('creates 2 cluster workers', async () => {
    repo.write({ namespace: NS }, pool(2));
    expect(summary(await apply(pm2, repo))).toEqual([['pool', 'create', 'ok']]);
    const list = await inNamespace(pm2, NS, 'pool');
    expect(list).toHaveLength(2);
    expect(list.every((p) => p.pm2_env.exec_mode === 'cluster_mode' && p.pm2_env.status === 'online' && p.pid > 0)).toBe(true);
  });

  it('2 → 3 adds one worker and leaves the two running ones alone', async () => {
    const before = await workers();
    repo.write({ namespace: NS }, pool(3));
    const report = await apply(pm2, repo);
    expect(summary(report)).toEqual([['pool', 'scale', 'ok']]);
    expect(report.actions[0]!.reason).toContain('2 → 3');
    const after = await workers();
    expect(after.size).toBe(3);
    for (const [pmId, identity] of before) expect(after.get(pmId)).toEqual(identity);
    const list = await inNamespace(pm2, NS, 'pool');
    expect(list.every((p) => p.pm2_env.status === 'online' && p.pid > 0 && p.pm2_env.exec_mode === 'cluster_mode')).toBe(true);
    expect(new Set(list.map((p) => p.pid)).size).toBe(3);
    const added = list.find((p) => !before.has(p.pm_id))!;
    expect(added.pm2_env.env.ROLE).toBe('pool');

    // Converged: nothing left to do.
    expect((await apply(pm2, repo)).actions).toEqual([]);
  });

  it('3 → 2 removes one worker and leaves the other two alone', async () => {
    const before = await workers();
    repo.write({ namespace: NS }, pool(2));
    const report = await apply(pm2, repo);
    expect(summary(report)).toEqual([['pool', 'scale', 'ok']]);
    expect(report.actions[0]!.reason).toContain('3 → 2');
    const after = await workers();
    expect(after.size).toBe(2);
    for (const [pmId, identity] of after) expect(identity).toEqual(before.get(pmId));
    expect((await inNamespace(pm2, NS, 'pool')).every((p) => p.pm2_env.status === 'online')).toBe(true);
    expect((await apply(pm2, repo)).actions).toEqual([]);
  });
});

describe('apply: a fork task that declared no instances scales without a restart', () => {
  const NS = 'apply-scale-fork';
  const { pm2, repo } = pm2AndRepo();

  it('unset → 2 adds one worker; the first keeps its pid', async () => {
    repo.write({ namespace: NS }, [{ name: 'solo', process: { exec_mode: 'fork', env: { ROLE: 'solo' } } }]);
    expect(summary(await apply(pm2, repo))).toEqual([['solo', 'create', 'ok']]);
    const [first] = await inNamespace(pm2, NS, 'solo');
    expect(first!.pm2_env.exec_mode).toBe('fork_mode');

    repo.write({ namespace: NS }, [{ name: 'solo', process: { exec_mode: 'fork', instances: 2, env: { ROLE: 'solo' } } }]);
    expect(summary(await apply(pm2, repo))).toEqual([['solo', 'scale', 'ok']]);
    const list = await inNamespace(pm2, NS, 'solo');
    expect(list).toHaveLength(2);
    expect(list.find((p) => p.pm_id === first!.pm_id)?.pid).toBe(first!.pid);
    expect(list.every((p) => p.pm2_env.status === 'online' && p.pm2_env.exec_mode === 'fork_mode')).toBe(true);
    expect((await apply(pm2, repo)).actions).toEqual([]);
  });
});

describe('apply: a task removed from the manifests', () => {
  const NS = 'apply-prune';
  const { pm2, repo } = pm2AndRepo();
  const both: TaskDef[] = [{ name: 'keep' }, { name: 'gone' }];
  const one: TaskDef[] = [{ name: 'keep' }];

  it('keeps running with prune: false, and plan and apply say so', async () => {
    repo.write({ namespace: NS, prune: false }, both);
    await apply(pm2, repo);
    const [gone] = await inNamespace(pm2, NS, 'gone');
    expect(gone?.pm2_env.status).toBe('online');

    repo.write({ namespace: NS, prune: false }, one);
    const plan = await cli(['plan', '--repo', repo.dir, '--json'], { env: pm2.env });
    expect(plan.code, plan.stderr).toBe(0);
    const planned = parseReport<{ actions: unknown[]; holds: ApplyReport['holds'] }>(plan.stdout, plan.stderr);
    expect(planned.actions).toEqual([]);
    expect(planned.holds).toEqual([{ task: 'gone', blocking: false, reason: expect.stringContaining('prune is off') }]);

    const report = await apply(pm2, repo);
    expect(report.actions).toEqual([]);
    expect(report.converged).toBe(true);
    expect(report.holds).toEqual([{ task: 'gone', blocking: false, reason: expect.stringContaining('prune is off') }]);
    const [still] = await inNamespace(pm2, NS, 'gone');
    expect(still).toBeDefined();
    expect([still!.pm_id, still!.pid, still!.pm2_env.restart_time, still!.pm2_env.status]).toEqual([gone!.pm_id, gone!.pid, gone!.pm2_env.restart_time, 'online']);
  });

  it('is deleted with prune: true; the declared task is not touched', async () => {
    const [keep] = await inNamespace(pm2, NS, 'keep');
    repo.write({ namespace: NS, prune: true }, one);
    const report = await apply(pm2, repo);
    expect(summary(report)).toEqual([['gone', 'delete', 'ok']]);
    const list = await inNamespace(pm2, NS);
    expect(list.map((p) => p.name)).toEqual(['keep']);
    expect([list[0]!.pid, list[0]!.pm2_env.restart_time]).toEqual([keep!.pid, keep!.pm2_env.restart_time]);
    expect((await apply(pm2, repo)).actions).toEqual([]);
  });
});

describe('apply: a same-named process in another namespace', () => {
  const NS = 'apply-owned';
  let pm2: IsolatedPm2;
  let repo: ManifestRepo;
  let stranger: JlistEntry;
  const env: EnvDef = { namespace: NS, prune: true };

  const strangerNow = async (): Promise<JlistEntry> => {
    const found = await inNamespace(pm2, 'other', 'web');
    expect(found).toHaveLength(1);
    return found[0]!;
  };
  const expectStrangerUntouched = async (): Promise<void> => {
    const now = await strangerNow();
    expect([now.pm_id, now.pid, now.pm2_env.restart_time, now.pm2_env.pm_uptime, now.pm2_env.status])
      .toEqual([stranger.pm_id, stranger.pid, stranger.pm2_env.restart_time, stranger.pm2_env.pm_uptime, 'online']);
  };

  beforeAll(async () => {
    pm2 = isolatedPm2();
    repo = manifestRepo();
    repo.write(env, [{ name: 'web', process: { exec_mode: 'fork', instances: 1 } }]);
    const r = await pm2.pm2(['start', 'apps/idle.cjs', '--name', 'web', '--namespace', 'other'], { cwd: repo.dir });
    expect(r.code, r.stderr).toBe(0);
    stranger = await strangerNow();
    expect(stranger.pid).toBeGreaterThan(0);
  });

  afterAll(async () => {
    await pm2.kill();
    repo.cleanup();
  });

  it('survives the create of the managed task of the same name', async () => {
    expect(summary(await apply(pm2, repo))).toEqual([['web', 'create', 'ok']]);
    const managed = await inNamespace(pm2, NS, 'web');
    expect(managed).toHaveLength(1);
    expect(managed[0]!.pid).not.toBe(stranger.pid);
    await expectStrangerUntouched();
  });

  it('survives a change of the managed task', async () => {
    repo.write(env, [{ name: 'web', process: { exec_mode: 'fork', instances: 1, env: { PM2GT_MODE: 'changed' } } }]);
    expect(summary(await apply(pm2, repo))).toEqual([['web', 'restart', 'ok']]);
    const [managed] = await inNamespace(pm2, NS, 'web');
    expect(managed!.pm2_env.env.PM2GT_MODE).toBe('changed');
    expect(managed!.pm2_env.restart_time).toBe(1);
    await expectStrangerUntouched();
    expect((await strangerNow()).pm2_env.env.PM2GT_MODE).toBeUndefined();
  });

  it('survives a scale of the managed task', async () => {
    repo.write(env, [{ name: 'web', process: { exec_mode: 'fork', env: { PM2GT_MODE: 'changed' }, instances: 2 } }]);
    expect(summary(await apply(pm2, repo))).toEqual([['web', 'scale', 'ok']]);
    expect(await inNamespace(pm2, NS, 'web')).toHaveLength(2);
    await expectStrangerUntouched();
  });

  it('survives the prune of the managed task of the same name', async () => {
    // Replacing the only task deletes every managed task: the prune limit must allow it.
    repo.write({ ...env, pruneLimit: '100%' }, [{ name: 'other-task' }]);
    const report = await apply(pm2, repo);
    expect(summary(report).sort()).toEqual([['other-task', 'create', 'ok'], ['web', 'delete', 'ok']]);
    expect((await inNamespace(pm2, NS)).map((p) => p.name)).toEqual(['other-task']);
    await expectStrangerUntouched();
  });
});
