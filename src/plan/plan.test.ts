import { describe, expect, it } from 'vitest';
import type { ComparableProcess, LiveTask } from '../domain/live.js';
import { diff, type DesiredSide } from '../diff/diff.js';
import { checkPruneLimit, plan, dependencyLevels, type PlanTask } from './plan.js';

const proc = (over: Partial<ComparableProcess> = {}): ComparableProcess => ({
  script: '/repo/app.cjs', cwd: '/repo', args: [], node_args: [], exec_interpreter: 'node', exec_mode: 'fork', instances: 1, autorestart: true, env: { A: '1' }, ...over,
});

const task = (name: string, over: Partial<PlanTask> = {}): PlanTask => ({
  name, type: 'service', dependsOn: [], execMode: 'fork', instances: 1, specDigest: 'd1', ...over,
});

const live = (name: string, p: ComparableProcess, over: Partial<LiveTask> = {}, statuses: string[] = ['online']): LiveTask => ({
  name, namespace: 'ns', process: p,
  instances: statuses.map((status, i) => ({ pmId: i + 10, pid: status === 'online' ? 100 + i : 0, status, restarts: 0, startedAt: 1, unstableRestarts: 0 })),
  ...over,
});

function planFor(tasks: PlanTask[], desired: Record<string, ComparableProcess>, lives: LiveTask[], policy = { prune: false, selfHeal: false }, revision = 'r2') {
  const sides: DesiredSide[] = tasks.map((t) => ({ name: t.name, type: t.type, comparable: desired[t.name]! }));
  return plan({ environment: 'dev', namespace: 'ns', revision, tasks, drifts: diff(sides, lives), live: lives, policy });
}

describe('plan', () => {
  it('is empty when live matches desired', () => {
    const p = planFor([task('a')], { a: proc() }, [live('a', proc())]);
    expect(p.actions).toEqual([]);
    expect(p.inSync).toEqual(['a']);
    expect(p.holds).toEqual([]);
  });

  it('creates what is missing, in dependency order', () => {
    const tasks = [task('web', { dependsOn: ['db'] }), task('db', { dependsOn: ['migrate'] }), task('migrate', { type: 'job' }), task('aux')];
    const p = planFor(tasks, { web: proc(), db: proc(), migrate: proc(), aux: proc() }, []);
    expect(p.actions.map((a) => [a.task, a.action])).toEqual([['aux', 'create'], ['migrate', 'create'], ['db', 'create'], ['web', 'create']]);
    expect(p.actions.find((a) => a.task === 'web')!.dependsOn).toEqual(['db']);
  });

  it('restarts a fork task whose env changed, with a redacted patch', () => {
    const p = planFor([task('a')], { a: proc({ env: { A: 'secret-2' } }) }, [live('a', proc({ env: { A: 'secret-1' } }))]);
    expect(p.actions).toHaveLength(1);
    expect(p.actions[0]).toMatchObject({ task: 'a', action: 'restart', pmIds: [10] });
    const digest = expect.stringMatching(/^sha256:[0-9a-f]{12}$/);
    expect(p.actions[0]!.patch).toEqual([{ op: 'replace', path: '/env/A', value: digest, oldValue: digest }]);
    expect(JSON.stringify(p)).not.toMatch(/secret-[12]/);
  });

  it('reloads a changed cluster task and scales when only instances differ', () => {
    const cl = (over: Partial<ComparableProcess> = {}) => proc({ exec_mode: 'cluster', instances: 2, ...over });
    const reload = planFor([task('a', { execMode: 'cluster', instances: 2 })], { a: cl({ kill_timeout: 5000 }) }, [live('a', cl(), {}, ['online', 'online'])]);
    expect(reload.actions[0]).toMatchObject({ action: 'reload', pmIds: [10, 11] });
    expect(reload.actions[0]!.from).toBeUndefined();
    const scale = planFor([task('a', { execMode: 'cluster', instances: 4 })], { a: cl({ instances: 4 }) }, [live('a', cl(), {}, ['online', 'online'])]);
    expect(scale.actions[0]).toMatchObject({ action: 'scale', from: 2, to: 4, reason: 'instances 2 → 4' });
    const both = planFor([task('a', { execMode: 'cluster', instances: 3 })], { a: cl({ instances: 3, kill_timeout: 1 }) }, [live('a', cl(), {}, ['online', 'online'])]);
    expect(both.actions[0]).toMatchObject({ action: 'reload', from: 2, to: 3 });
  });

  it('restarts a changed cluster task with a stopped worker: a reload would leave it stopped', () => {
    const cl = (over: Partial<ComparableProcess> = {}) => proc({ exec_mode: 'cluster', instances: 2, ...over });
    const p = planFor([task('a', { execMode: 'cluster', instances: 2 })], { a: cl({ kill_timeout: 5000 }) }, [live('a', cl(), {}, ['online', 'stopped'])]);
    expect(p.actions[0]).toMatchObject({ action: 'restart', pmIds: [10, 11] });
  });

  it('restarts instead of reloading when the exec mode changes', () => {
    const p = planFor([task('a', { execMode: 'cluster' })], { a: proc({ exec_mode: 'cluster' }) }, [live('a', proc())]);
    expect(p.actions[0]!.action).toBe('restart');
  });

  it('deletes undeclared processes last, only with prune', () => {
    const lives = [live('a', proc()), live('old', proc())];
    const kept = planFor([task('a')], { a: proc() }, lives);
    expect(kept.actions).toEqual([]);
    expect(kept.holds).toEqual([{ task: 'old', blocking: false, reason: 'no longer declared; kept because prune is off' }]);
    const pruned = planFor([task('a'), task('b')], { a: proc(), b: proc() }, lives, { prune: true, selfHeal: false });
    expect(pruned.actions.map((a) => [a.task, a.action])).toEqual([['b', 'create'], ['old', 'delete']]);
    expect(pruned.actions[1]!.pmIds).toEqual([10]);
  });

  it('heals stopped and errored services only with selfHeal', () => {
    const lives = [live('s', proc(), {}, ['stopped']), live('e', proc({ instances: 2 }), {}, ['online', 'errored'])];
    const off = planFor([task('s'), task('e', { instances: 2 })], { s: proc(), e: proc({ instances: 2 }) }, lives);
    expect(off.actions).toEqual([]);
    expect(off.holds.map((h) => h.reason)).toEqual(['errored in PM2 but selfHeal is off', 'stopped in PM2 but selfHeal is off']);
    const on = planFor([task('s'), task('e', { instances: 2 })], { s: proc(), e: proc({ instances: 2 }) }, lives, { prune: false, selfHeal: true });
    expect(on.actions.map((a) => [a.task, a.action, a.pmIds])).toEqual([['e', 'restart', [11]], ['s', 'start', [10]]]);
  });

  it('[delivery-jobs] runs a job once per spec and code, whatever the revision, and holds a failed one', () => {
    const marker = (revision: string, specDigest = 'd1') => ({ environment: 'dev', task: 'j', revision, envKeys: [], specDigest });
    const job = task('j', { type: 'job' });
    const done = live('j', proc(), { marker: marker('r2') }, ['stopped']);
    done.instances[0]!.exitCode = 0;
    expect(planFor([job], { j: proc() }, [done]).actions).toEqual([]);
    // Run for an older revision with the same spec and code: nothing to run again.
    const older = { ...done, marker: marker('r1') };
    expect(planFor([job], { j: proc() }, [older]).actions).toEqual([]);
    // New code is a difference of the comparable process: the job runs again.
    const newCode = planFor([job], { j: proc({ code: 'b'.repeat(64) }) }, [{ ...older, process: proc({ code: 'a'.repeat(64) }) }]);
    expect(newCode.actions[0]).toMatchObject({ action: 'restart', reason: 'job code changed; run it again' });
    const changedSpec = { ...done, marker: marker('r2', 'other') };
    expect(planFor([job], { j: proc() }, [changedSpec]).actions[0]!.action).toBe('restart');
    const failed = live('j', proc(), { marker: marker('r2') }, ['stopped']);
    failed.instances[0]!.exitCode = 3;
    const p = planFor([job], { j: proc() }, [failed]);
    expect(p.actions).toEqual([]);
    expect(p.holds).toEqual([{ task: 'j', blocking: true, reason: 'job failed with this spec and code (status stopped, exit code 3); push a fix to run it again' }]);
  });

  it('[import-job-waiting-restart] a job PM2 shows waiting restart has run: exit 0 is done, another code is held', () => {
    const marker = { environment: 'dev', task: 'j', revision: 'r1', envKeys: [], specDigest: 'd1' };
    const job = task('j', { type: 'job' });
    const done = live('j', proc(), { marker }, ['waiting restart']);
    done.instances[0]!.exitCode = 0;
    expect(planFor([job], { j: proc() }, [done])).toMatchObject({ actions: [], holds: [] });
    const failed = live('j', proc(), { marker }, ['waiting restart']);
    failed.instances[0]!.exitCode = 2;
    expect(planFor([job], { j: proc() }, [failed]).holds).toEqual([{ task: 'j', blocking: true, reason: 'job failed with this spec and code (status waiting restart, exit code 2); push a fix to run it again' }]);
  });

  it('[import-corpus] a job pm2 start ran (no marker, in sync where it ran) is not run again; one that failed is held', () => {
    const job = task('j', { type: 'job' });
    const ran = live('j', proc(), {}, ['stopped']);
    ran.instances[0]!.exitCode = 0;
    expect(planFor([job], { j: proc() }, [ran])).toMatchObject({ actions: [], holds: [] });
    const failed = live('j', proc(), {}, ['stopped']);
    failed.instances[0]!.exitCode = 1;
    expect(planFor([job], { j: proc() }, [failed]).holds).toHaveLength(1);
    // A marker of another spec still runs it again.
    const other = live('j', proc(), { marker: { environment: 'dev', task: 'j', revision: 'r1', envKeys: [], specDigest: 'd0' } }, ['stopped']);
    other.instances[0]!.exitCode = 0;
    expect(planFor([job], { j: proc() }, [other]).actions.map((a) => a.action)).toEqual(['restart']);
  });

  it('orders deterministically whatever the input order', () => {
    const tasks = ['e', 'c', 'a', 'd', 'b'].map((n) => task(n, { dependsOn: n === 'a' ? ['b'] : [] }));
    const desired = Object.fromEntries(tasks.map((t) => [t.name, proc()]));
    const one = planFor(tasks, desired, []);
    const two = planFor([...tasks].reverse(), desired, []);
    expect(one.actions.map((a) => a.task)).toEqual(['b', 'c', 'd', 'e', 'a']);
    expect(two).toEqual(one);
  });

  it('computes dependency levels without looping on cycles', () => {
    const levels = dependencyLevels([task('a', { dependsOn: ['b'] }), task('b', { dependsOn: ['a'] }), task('c', { dependsOn: ['a'] })]);
    expect([...levels.keys()].sort()).toEqual(['a', 'b', 'c']);
  });

  it('[prune-limit] holds a plan that deletes more managed tasks than the prune limit allows (default 50%)', () => {
    const lives = ['a', 'b', 'c', 'd'].map((n) => live(n, proc()));
    const prune = { prune: true, selfHeal: true };
    // Two of four (50%) may go; three may not, even though creates come with them.
    const two = planFor([task('c'), task('d')], { c: proc(), d: proc() }, lives, prune);
    expect(two.refusal).toBeUndefined();
    expect(two.actions.filter((a) => a.action === 'delete')).toHaveLength(2);
    const three = planFor([task('d'), task('new')], { d: proc(), new: proc() }, lives, prune);
    expect(three.refusal).toMatchObject({ kind: 'prune-limit', deletes: 3, managed: 4, limit: '"50%"' });
    expect(three.refusal!.reason).toContain('raise spec.policy.pruneLimit');
    const raised = planFor([task('d'), task('new')], { d: proc(), new: proc() }, lives, { ...prune, pruneLimit: 3 } as typeof prune);
    expect(raised.refusal).toBeUndefined();
  });

  it('[prune-limit] holds a plan that deletes every managed task unless the limit says "100%"', () => {
    const lives = [live('only', proc())];
    const gone = planFor([task('renamed')], { renamed: proc() }, lives, { prune: true, selfHeal: true });
    expect(gone.refusal?.reason).toMatch(/every managed task \(1 of 1\)/);
    expect(checkPruneLimit(4, 4, 10)).toBeUndefined();
    expect(checkPruneLimit(4, 4, '90%')?.kind).toBe('prune-limit');
    expect(checkPruneLimit(4, 4, '100%')).toBeUndefined();
    expect(checkPruneLimit(0, 0, 0)).toBeUndefined();
    expect(checkPruneLimit(1, 10, 0)?.deletes).toBe(1);
    expect(checkPruneLimit(2, 10, '25%')).toBeUndefined();
    expect(checkPruneLimit(3, 10, '25%')?.deletes).toBe(3);
  });
});
