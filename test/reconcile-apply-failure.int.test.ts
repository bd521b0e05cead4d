/**
 * `pm2-gitops apply` against a real PM2 daemon when things go wrong: failing
 * tasks block only their dependents, and two applies at once on one daemon
 * are serialised by the lock.
 */
import { spawn } from 'node:child_process';
import { existsSync, readFileSync, unlinkSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { BIN, cli, type RunResult } from './helpers/cli.js';
import { waitFor } from './helpers/controller.js';
import { type ApplyReport, parseReport, pm2AndRepo, type TaskDef } from './helpers/manifests.js';
import { type IsolatedPm2, type JlistEntry } from './helpers/pm2.js';

async function inNamespace(pm2: IsolatedPm2, namespace: string): Promise<JlistEntry[]> {
  return (await pm2.jlist()).filter((p) => p.pm2_env.namespace === namespace).sort((a, b) => a.pm_id - b.pm_id);
}

/** Starts `pm2-gitops apply --json` in the background: its pid, whether it is still running, and its result. */
function startApply(repoDir: string, env: NodeJS.ProcessEnv): { pid: number; running(): boolean; done: Promise<RunResult> } {
  const child = spawn(process.execPath, [BIN, 'apply', '--repo', repoDir, '--json'], { env, stdio: ['ignore', 'pipe', 'pipe'] });
  let stdout = '';
  let stderr = '';
  let exited = false;
  child.stdout.on('data', (d: Buffer) => { stdout += d.toString(); });
  child.stderr.on('data', (d: Buffer) => { stderr += d.toString(); });
  const done = new Promise<RunResult>((resolve, reject) => {
    child.on('error', reject);
    child.on('exit', () => { exited = true; });
    child.on('close', (code) => resolve({ code: code ?? -1, stdout, stderr }));
  });
  return { pid: child.pid!, running: () => !exited, done };
}

const summary = (report: ApplyReport): Record<string, [string, string]> =>
  Object.fromEntries(report.actions.map((a) => [a.task, [a.action, a.result]]));

describe('apply: failing tasks', () => {
  const NS = 'apply-fail';
  const { pm2, repo } = pm2AndRepo();
  const tasks: TaskDef[] = [
    // A job that exits 1, and a service that needs it.
    { name: 'setup', type: 'job', process: { script: 'apps/exit.cjs', env: { EXIT_CODE: '1' } } },
    { name: 'web', dependsOn: ['setup'] },
    // A service that exits 1 at once (PM2 gives up after max_restarts), a service that needs it, and one that needs that one.
    { name: 'crashy', health: { timeoutSeconds: 20, minUptimeSeconds: 0.5 }, process: { script: 'apps/crash.cjs', max_restarts: 2, min_uptime: 2000 } },
    { name: 'needs-crashy', dependsOn: ['crashy'] },
    { name: 'needs-needs-crashy', dependsOn: ['needs-crashy'] },
    // Independent of all that.
    { name: 'alone' },
    { name: 'good-job', type: 'job', process: { script: 'apps/exit.cjs' } },
    { name: 'after-good-job', dependsOn: ['good-job'] },
  ];

  beforeAll(() => repo.write({ namespace: NS }, tasks));

  it('exits 4, skips the dependents of what failed and still starts everything independent', async () => {
    const r = await cli(['apply', '--repo', repo.dir, '--json'], { env: pm2.env });
    expect(r.code, r.stderr).toBe(4);
    expect(r.stderr).toContain('did not converge');
    const report = parseReport(r.stdout, r.stderr);
    expect(report.converged).toBe(false);
    expect(summary(report)).toEqual({
      setup: ['create', 'failed'],
      web: ['create', 'skipped'],
      crashy: ['create', 'failed'],
      'needs-crashy': ['create', 'skipped'],
      'needs-needs-crashy': ['create', 'skipped'],
      alone: ['create', 'ok'],
      'good-job': ['create', 'ok'],
      'after-good-job': ['create', 'ok'],
    });
    const byTask = Object.fromEntries(report.actions.map((a) => [a.task, a]));
    expect(byTask.setup!.message).toContain('exited with code 1');
    expect(byTask.crashy!.message).toContain('errored');
    expect(byTask.web!.message).toContain('dependency setup is not ready');
    expect(byTask['needs-crashy']!.message).toContain('dependency crashy is not ready');
    expect(byTask['needs-needs-crashy']!.message).toContain('dependency needs-crashy is not ready');

    const list = await inNamespace(pm2, NS);
    const status = Object.fromEntries(list.map((p) => [p.name, p.pm2_env.status]));
    // Skipped tasks were never started.
    expect(Object.keys(status).sort()).toEqual(['after-good-job', 'alone', 'crashy', 'good-job', 'setup']);
    expect(status).toEqual({ setup: 'stopped', crashy: 'errored', alone: 'online', 'good-job': 'stopped', 'after-good-job': 'online' });
    expect(list.find((p) => p.name === 'setup')!.pm2_env.exit_code).toBe(1);
    expect(list.find((p) => p.name === 'good-job')!.pm2_env.exit_code).toBe(0);
    for (const p of list.filter((e) => e.pm2_env.status === 'online')) expect(() => process.kill(p.pid, 0)).not.toThrow();
  });

  it('a second apply does not rerun the failed job, keeps blocking its dependent, and leaves the rest alone', async () => {
    const before = Object.fromEntries((await inNamespace(pm2, NS)).map((p) => [p.name, [p.pid, p.pm2_env.restart_time, p.pm2_env.pm_uptime]]));
    const r = await cli(['apply', '--repo', repo.dir, '--json'], { env: pm2.env });
    expect(r.code, r.stderr).toBe(4);
    const report = parseReport(r.stdout, r.stderr);
    expect(report.holds).toContainEqual({ task: 'setup', blocking: true, reason: expect.stringContaining('job failed with this spec and code') });
    expect(summary(report).web).toEqual(['create', 'skipped']);
    expect(Object.keys(summary(report))).not.toContain('setup');
    const after = Object.fromEntries((await inNamespace(pm2, NS)).map((p) => [p.name, [p.pid, p.pm2_env.restart_time, p.pm2_env.pm_uptime]]));
    expect(after.setup).toEqual(before.setup);
    expect(after.alone).toEqual(before.alone);
    expect(after['after-good-job']).toEqual(before['after-good-job']);
    expect(after['good-job']).toEqual(before['good-job']);
    expect(after.web).toBeUndefined();
  });

  it('once the job is fixed, its dependent starts', async () => {
    repo.write({ namespace: NS }, tasks.map((t) => (t.name === 'setup' ? { ...t, process: { script: 'apps/exit.cjs', env: { EXIT_CODE: '0' } } } : t)));
    const r = await cli(['apply', '--repo', repo.dir, '--json'], { env: pm2.env });
    expect(r.code).toBe(4); // crashy still fails
    const report = parseReport(r.stdout, r.stderr);
    expect(summary(report).setup).toEqual(['restart', 'ok']);
    expect(summary(report).web).toEqual(['create', 'ok']);
    const list = await inNamespace(pm2, NS);
    expect(list.find((p) => p.name === 'setup')!.pm2_env.exit_code).toBe(0);
    expect(list.find((p) => p.name === 'web')!.pm2_env.status).toBe('online');
  });
});

describe('apply: two applies at once on one daemon', () => {
  const NS = 'apply-lock';
  const { pm2, repo } = pm2AndRepo();
  const tasks: TaskDef[] = [
    // The job keeps the first apply busy for a while, so the two overlap.
    { name: 'prepare', type: 'job', process: { script: 'apps/exit.cjs', env: { DELAY_MS: '1500' } } },
    ...Array.from({ length: 5 }, (_, i): TaskDef => ({ name: `svc-${i}`, dependsOn: ['prepare'] })),
    { name: 'free', process: { instances: 2, exec_mode: 'cluster' } },
  ];

  beforeAll(() => repo.write({ namespace: NS }, tasks));

  it('do not interleave: the second waits for the lock and then finds nothing to do', async () => {
    const lockFile = join(pm2.home, 'pm2-gitops.lock');
    // Start the daemon first, so both applies connect to the same one.
    await pm2.jlist();
    const env = { ...pm2.env, PM2_GITOPS_LOG_LEVEL: 'info' };
    const applies = [startApply(repo.dir, env), startApply(repo.dir, env)];
    // Samples of who holds the lock while the other apply is still running.
    const heldWhileOtherRuns = new Set<number>();
    let watching = true;
    const watch = (async () => {
      while (watching) {
        try {
          const holder = Number(readFileSync(lockFile, 'utf8').split('\n')[0]);
          const other = applies.find((a) => a.pid !== holder);
          if (applies.some((a) => a.pid === holder) && other?.running()) heldWhileOtherRuns.add(holder);
        } catch { /* not held right now */ }
        await new Promise((r) => { setTimeout(r, 20); });
      }
    })();
    let results: RunResult[];
    try {
      results = await Promise.all(applies.map((a) => a.done));
    } finally {
      watching = false;
      await watch;
    }
    for (const r of results) expect(r.code, r.stderr).toBe(0);
    const reports = results.map((r) => parseReport(r.stdout, r.stderr));
    expect(reports.every((rep) => rep.converged)).toBe(true);

    // Exactly one of them did the work; the other observed PM2 after it finished.
    const counts = reports.map((rep) => rep.actions.length).sort();
    expect(counts).toEqual([0, tasks.length]);
    const [worker, waiter] = reports[0]!.actions.length ? [reports[0]!, reports[1]!] : [reports[1]!, reports[0]!];
    expect(worker.actions.every((a) => a.action === 'create' && a.result === 'ok')).toBe(true);
    expect(waiter.inSync.sort()).toEqual(tasks.map((t) => t.name).sort());

    // The applies overlapped: the one that did the work held the lock while the other was running; the lock is gone at the end.
    const workerPid = applies[reports.indexOf(worker)]!.pid;
    expect([...heldWhileOtherRuns]).toContain(workerPid);
    expect(existsSync(lockFile)).toBe(false);

    // The one that waited logged its plan only after the other's last action ended.
    const logTimes = (r: RunResult, msg: string): number[] => r.stderr.split('\n').filter((l) => l.startsWith('{'))
      .map((l) => JSON.parse(l) as { msg?: string; time?: number }).filter((l) => l.msg === msg).map((l) => l.time!);
    const workerRun = results[reports.indexOf(worker)]!;
    const waiterRun = results[reports.indexOf(waiter)]!;
    const lastEnd = Math.max(...logTimes(workerRun, 'create prepare: ok'), ...worker.actions.map((a) => Date.parse(a.startedAt) + a.durationMs));
    const [waiterPlan] = logTimes(waiterRun, 'applying plan');
    expect(waiterPlan).toBeGreaterThanOrEqual(lastEnd);

    // One PM2 entry per process: nothing was started twice.
    const list = await inNamespace(pm2, NS);
    const perName = (n: string): number => list.filter((p) => p.name === n).length;
    for (const t of tasks) expect(perName(t.name), t.name).toBe(t.name === 'free' ? 2 : 1);
    expect(list).toHaveLength(tasks.length + 1);
    expect(list.find((p) => p.name === 'prepare')!.pm2_env.restart_time).toBe(0);
  });

  it('an apply waits while the lock is held, and goes ahead once it is released', async () => {
    const lockFile = join(pm2.home, 'pm2-gitops.lock');
    const before = (await inNamespace(pm2, NS)).map((p) => [p.pm_id, p.pid]);
    repo.write({ namespace: NS }, [...tasks, { name: 'late' }]);
    writeFileSync(lockFile, `${process.pid}\nheld by the test\n`);
    const pending = startApply(repo.dir, pm2.env);
    try {
      // Give it time to reach the lock; it must not act while the lock is held.
      await new Promise((r) => { setTimeout(r, 3000); });
      expect(pending.running()).toBe(true);
      expect((await inNamespace(pm2, NS)).map((p) => p.name)).not.toContain('late');
    } finally {
      try { unlinkSync(lockFile); } catch { /* gone */ }
    }
    const r = await pending.done;
    expect(r.code, r.stderr).toBe(0);
    expect(summary(parseReport(r.stdout, r.stderr))).toEqual({ late: ['create', 'ok'] }); // the job's spec and code did not change: it does not run again
    const list = await inNamespace(pm2, NS);
    expect(list.find((p) => p.name === 'late')!.pm2_env.status).toBe('online');
    expect(list.filter((p) => p.name !== 'late').map((p) => [p.pm_id, p.pid])).toEqual(before);
  });

  it('a lock left by a process that is gone is taken over', async () => {
    const lockFile = join(pm2.home, 'pm2-gitops.lock');
    const gone = spawn(process.execPath, ['-e', '0']);
    await new Promise((r) => gone.on('exit', r));
    writeFileSync(lockFile, `${gone.pid}\nleft behind\n`);
    repo.write({ namespace: NS }, tasks);
    const r = await cli(['apply', '--repo', repo.dir, '--json'], { env: pm2.env });
    expect(r.code, r.stderr).toBe(0);
    expect(summary(parseReport(r.stdout, r.stderr))).toEqual({ late: ['delete', 'ok'] });
    expect(existsSync(lockFile)).toBe(false);
    await waitFor('late to be gone', async () => !(await inNamespace(pm2, NS)).some((p) => p.name === 'late'));
  });
});
