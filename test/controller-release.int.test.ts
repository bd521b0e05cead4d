/**
 * A release folder damaged in the state dir (a manifest truncated, a file
 * added): the controller notices before it renders, exports the commit again
 * and prunes nothing.
 */
import { chmodSync, readdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { controllerWait, startController, type RunningController } from './helpers/controller.js';
import { git, gitFixture, type GitFixture } from './helpers/git.js';
import { isolatedPm2, type IsolatedPm2 } from './helpers/pm2.js';
import { tinyRepo } from './helpers/tiny-repo.js';

const PORT = 24260;
const NS = 'ctl-release';
const STATUS = 'pm2-gitops/status';

describe('damaged release folders', () => {
  let pm2: IsolatedPm2;
  let repo: GitFixture;
  let ctl: RunningController;
  let head = '';
  const statusText = (): string => git(repo.remote, ['show', `${STATUS}:status/dev.md`]);
  const waitFor = controllerWait(() => ctl, statusText);
  const release = (): string => {
    const dir = readdirSync(ctl.stateDir).find((n) => n.startsWith('remote-'))!;
    return join(ctl.stateDir, dir, 'releases', head);
  };
  const snapshot = async (): Promise<Array<[string, number, number, number]>> => (await pm2.jlist())
    .filter((p) => p.pm2_env.namespace === NS)
    .map((p): [string, number, number, number] => [p.name, p.pm_id, p.pid, p.pm2_env.restart_time])
    .sort((a, b) => a[1] - b[1]);
  const start = (stateDir?: string): RunningController => startController({ repo: repo.remote, env: pm2.env, ...(stateDir ? { stateDir } : {}), args: ['--env', 'dev', '--resync', '1s'] });
  async function restartAfter(damage: () => void): Promise<void> {
    expect(await ctl.stop()).toBe(0);
    damage();
    ctl = start(ctl.stateDir);
  }
  const passes = (): number => (ctl.logs().match(/"msg":"dev: converged"/g) ?? []).length;

  beforeAll(() => {
    pm2 = isolatedPm2();
    repo = gitFixture();
    head = repo.commit('initial', tinyRepo({ env: 'dev', namespace: NS, port: PORT }));
    ctl = start();
  });

  afterAll(async () => {
    if (ctl.child.exitCode === null) await ctl.stop();
    await pm2.kill();
    repo.cleanup();
  });

  it('applies the first revision from a read-only release folder', async () => {
    await waitFor('converged', () => { try { const s = statusText(); return s.includes(head) && s.includes('| result | converged |'); } catch { return false; } });
    expect(statSync(join(release(), 'base', 'web.yaml')).mode & 0o222).toBe(0);
    expect(statSync(join(release(), 'base')).mode & 0o222).toBe(0);
  });

  it('[release-verified] a truncated manifest in releases/<sha> is detected and exported again; nothing is pruned', async () => {
    const before = await snapshot();
    expect(before.map((p) => p[0])).toEqual(['setup', 'web']);
    const evidence = git(repo.remote, ['ls-tree', '--name-only', `${STATUS}:evidence/dev`]);
    // Rendered as it is, the emptied file would drop web from the environment, and prune would delete it.
    // Damaged while the controller is down, so that no pass is half way through reading the folder.
    await restartAfter(() => {
      chmodSync(join(release(), 'base', 'web.yaml'), 0o644);
      writeFileSync(join(release(), 'base', 'web.yaml'), '');
    });
    await waitFor('the repair in the log', () => ctl.logs().includes(`release ${head.slice(0, 12)} differs from the commit (changed or missing: base/web.yaml)`));
    await waitFor('two more passes', () => passes() >= 2, 20_000);
    expect(readFileSync(join(release(), 'base', 'web.yaml'), 'utf8')).toBe(git(repo.remote, ['show', `${head}:base/web.yaml`]) + '\n');
    expect(await snapshot()).toEqual(before);
    expect(git(repo.remote, ['ls-tree', '--name-only', `${STATUS}:evidence/dev`])).toBe(evidence);
  });

  it('[release-verified] a manifest added to releases/<sha> is detected too', async () => {
    const before = await snapshot();
    await restartAfter(() => {
      chmodSync(join(release(), 'base'), 0o755);
      writeFileSync(join(release(), 'base', 'extra.yaml'), 'apiVersion: pm2-gitops/v1\nkind: Task\nmetadata: { name: extra }\nspec: { process: { script: apps/server.cjs } }\n');
    });
    await waitFor('the repair in the log', () => ctl.logs().includes('(not in the commit: base/extra.yaml)'));
    await waitFor('two more passes', () => passes() >= 2, 20_000);
    expect(readdirSync(join(release(), 'base')).sort()).toEqual(['setup.yaml', 'web.yaml']);
    expect(await snapshot()).toEqual(before);
  });
});
