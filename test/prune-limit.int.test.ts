/**
 * The prune limit: a revision that would delete more managed tasks than
 * `spec.policy.pruneLimit` allows (default 50%) is held whole, by `apply` and
 * by the controller, and the last good state keeps running.
 */
import { rmSync } from 'node:fs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { cli } from './helpers/cli.js';
import { controllerWait, startController, type RunningController } from './helpers/controller.js';
import { git, gitFixture, type GitFixture } from './helpers/git.js';
import { IDLE_CJS, parseReport, pm2AndRepo } from './helpers/manifests.js';
import { isolatedPm2, type IsolatedPm2 } from './helpers/pm2.js';

const NAMES = ['alpha', 'beta', 'gamma', 'delta'];

function taskYaml(name: string): string {
  return `apiVersion: pm2-gitops/v1
kind: Task
metadata: { name: ${name} }
spec:
  health: { minUptimeSeconds: 0.2, timeoutSeconds: 20 }
  process: { script: apps/idle.cjs }
`;
}

function envYaml(namespace: string, pruneLimit?: string): string {
  return `apiVersion: pm2-gitops/v1
kind: Environment
metadata: { name: dev }
spec:
  resources: [../../base]
  namespace: ${namespace}
  policy:
    prune: true
    selfHeal: true
${pruneLimit ? `    pruneLimit: ${pruneLimit}\n` : ''}`;
}

/** Every file of the repository with `tasks` declared: null deletes the files of the others. */
function files(namespace: string, tasks: string[], pruneLimit?: string): Record<string, string | null> {
  const out: Record<string, string | null> = { 'apps/idle.cjs': IDLE_CJS, 'environments/dev/environment.yaml': envYaml(namespace, pruneLimit) };
  for (const n of NAMES) out[`base/${n}.yaml`] = tasks.includes(n) ? taskYaml(n) : null;
  return out;
}

async function running(pm2: IsolatedPm2, namespace: string): Promise<Array<[string, number]>> {
  return (await pm2.jlist()).filter((p) => p.pm2_env.namespace === namespace && p.pm2_env.status === 'online')
    .map((p) => [p.name, p.pid] as [string, number]).sort(([a], [b]) => a.localeCompare(b));
}

describe('apply: the prune limit', () => {
  const NS = 'prune-apply';
  const { pm2, repo } = pm2AndRepo();

  it('[prune-limit] holds a plan deleting 3 of 4 tasks: exit 4, nothing deleted, nothing created, the reason says how to allow it', async () => {
    const write = (tasks: string[], limit?: string) => repo.files(Object.fromEntries(Object.entries(files(NS, tasks, limit)).filter(([, v]) => v !== null)) as Record<string, string>);
    write(NAMES);
    const first = await cli(['apply', '--repo', repo.dir, '--env', 'dev', '--json'], { env: pm2.env });
    expect(first.code, first.stderr).toBe(0);
    const before = await running(pm2, NS);
    expect(before.map(([n]) => n)).toEqual(['alpha', 'beta', 'delta', 'gamma']);

    // A bad merge leaves one task and adds another: three deletions, 75% > 50%.
    for (const n of ['alpha', 'beta', 'gamma']) rmSync(`${repo.dir}/base/${n}.yaml`);
    repo.files({ 'base/epsilon.yaml': taskYaml('epsilon') });
    const plan = await cli(['plan', '--repo', repo.dir, '--env', 'dev'], { env: pm2.env });
    expect(plan.code, plan.stderr).toBe(0);
    expect(plan.stdout).toMatch(/HELD .*would delete 3 of 4 managed tasks/);
    const held = await cli(['apply', '--repo', repo.dir, '--env', 'dev', '--json'], { env: pm2.env });
    expect(held.code).toBe(4);
    expect(held.stderr).toContain('raise spec.policy.pruneLimit');
    const report = parseReport<{ actions: unknown[]; refusal?: { deletes: number; managed: number } }>(held.stdout, held.stderr);
    expect(report.actions).toEqual([]);
    expect(report.refusal).toMatchObject({ deletes: 3, managed: 4 });
    expect(await running(pm2, NS)).toEqual(before);

    // Raised in the manifest, the same change applies.
    repo.files({ 'environments/dev/environment.yaml': envYaml(NS, '3') });
    const allowed = await cli(['apply', '--repo', repo.dir, '--env', 'dev', '--json'], { env: pm2.env });
    expect(allowed.code, allowed.stderr).toBe(0);
    expect((await running(pm2, NS)).map(([n]) => n)).toEqual(['delta', 'epsilon']);
  });
});

describe('the controller: the prune limit', () => {
  const NS = 'prune-ctl';
  let pm2: IsolatedPm2;
  let repo: GitFixture;
  let ctl: RunningController;
  const status = (): string => git(repo.remote, ['show', 'pm2-gitops/status:status/dev.md']);
  const waitFor = controllerWait(() => ctl, status);

  beforeAll(() => {
    pm2 = isolatedPm2();
    repo = gitFixture();
    repo.commit('four tasks', files(NS, NAMES));
    ctl = startController({ repo: repo.remote, env: pm2.env, args: ['--env', 'dev'] });
  });

  afterAll(async () => {
    if (ctl.child.exitCode === null) await ctl.stop();
    await pm2.kill();
    repo.cleanup();
  });

  it('[prune-limit] holds a revision that deletes every task but one, keeps the last good revision running and self-healing', async () => {
    const good = repo.head();
    await waitFor('the first revision converged', () => { try { return status().includes(good) && status().includes('| result | converged |'); } catch { return false; } });
    const before = await running(pm2, NS);
    expect(before).toHaveLength(4);

    const bad = repo.commit('drop three tasks', files(NS, ['delta']));
    await waitFor('the held revision reported', () => status().includes(bad) && status().includes('**held**'));
    const text = status();
    expect(text).toContain(`| running | \`${good}\` |`);
    expect(text).toMatch(/would delete 3 of 4 managed tasks.*raise spec\.policy\.pruneLimit/);
    expect(await running(pm2, NS)).toEqual(before);

    // Self-heal goes on from the last good revision.
    const stop = await pm2.pm2(['stop', 'alpha']);
    expect(stop.code, stop.stderr).toBe(0);
    await waitFor('alpha healed', async () => (await running(pm2, NS)).some(([n]) => n === 'alpha'));
    expect((await running(pm2, NS)).map(([n]) => n)).toEqual(['alpha', 'beta', 'delta', 'gamma']);

    const allowed = repo.commit('allow the deletions', files(NS, ['delta'], '"100%"'));
    await waitFor('the allowed revision converged', () => status().includes(allowed) && status().includes('| result | converged |'));
    expect((await running(pm2, NS)).map(([n]) => n)).toEqual(['delta']);
  });
});
