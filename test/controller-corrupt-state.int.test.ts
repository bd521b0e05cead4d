/**
 * State files damaged between two runs (a truncated state.json, a truncated
 * git index of the status clone): the controller starts anyway, says so in
 * its log and status, rebuilds what it lost from git and PM2, and converges
 * without running jobs again or restarting services.
 */
import { readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { controllerWait, startController, type RunningController } from './helpers/controller.js';
import { git, gitFixture, type GitFixture } from './helpers/git.js';
import { isolatedPm2, type IsolatedPm2 } from './helpers/pm2.js';
import { tinyRepo } from './helpers/tiny-repo.js';

const PORT = 24250;
const NS = 'ctl-corrupt';
const STATUS = 'pm2-gitops/status';

function truncate(file: string): void {
  const bytes = readFileSync(file);
  writeFileSync(file, bytes.subarray(0, Math.floor(bytes.length / 2)));
}

describe('damaged state files', () => {
  let pm2: IsolatedPm2;
  let repo: GitFixture;
  let ctl: RunningController;
  let head = '';
  const statusText = (): string => git(repo.remote, ['show', `${STATUS}:status/dev.md`]);
  const waitFor = controllerWait(() => ctl, statusText);
  const stateDir = (): string => join(ctl.stateDir, readdirSync(ctl.stateDir).find((n) => n.startsWith('remote-'))!);
  const snapshot = async (): Promise<Array<[string, number, number, number, unknown]>> => (await pm2.jlist())
    .filter((p) => p.pm2_env.namespace === NS)
    .map((p): [string, number, number, number, unknown] => [p.name, p.pm_id, p.pid, p.pm2_env.restart_time, p.pm2_env.pm_uptime])
    .sort((a, b) => a[1] - b[1]);

  beforeAll(() => {
    pm2 = isolatedPm2();
    repo = gitFixture();
    head = repo.commit('initial', tinyRepo({ env: 'dev', namespace: NS, port: PORT }));
    ctl = startController({ repo: repo.remote, env: pm2.env, args: ['--env', 'dev', '--resync', '1s'] });
  });

  afterAll(async () => {
    if (ctl.child.exitCode === null) await ctl.stop();
    await pm2.kill();
    repo.cleanup();
  });

  it('applies the first revision', async () => {
    await waitFor('converged', () => { try { const s = statusText(); return s.includes(head) && s.includes('| result | converged |'); } catch { return false; } });
    expect(JSON.parse(readFileSync(join(stateDir(), 'state.json'), 'utf8')).environments.dev.lastGood).toBe(head);
  });

  it('[corrupt-state] a truncated state.json and a truncated status clone index: it starts, warns, rebuilds and converges without re-running jobs or restarting services', async () => {
    expect(await ctl.stop()).toBe(0);
    const dir = stateDir();
    const before = await snapshot();
    expect(before.map((p) => p[0])).toEqual(['setup', 'web']);
    truncate(join(dir, 'state.json'));
    truncate(join(dir, 'status', '.git', 'index'));
    const reports = git(repo.remote, ['ls-tree', '--name-only', `${STATUS}:evidence/dev`]).split('\n').filter(Boolean);

    ctl = startController({ repo: repo.remote, env: pm2.env, stateDir: ctl.stateDir, args: ['--env', 'dev', '--resync', '1s'] });
    const status = await waitFor('the status to warn about the repair', () => { const s = statusText(); return s.includes('## Warnings') ? s : undefined; });
    expect(status).toContain('| result | converged |');
    expect(status).toMatch(/- state\.json could not be read \(.+\) and was rebuilt at \S+ from the status branch and PM2: dev \(last good [0-9a-f]{12}\)/);
    expect(status).toContain("- the status clone's git index was damaged and has been rebuilt from its last commit; nothing was lost");
    expect(ctl.logs()).toContain('state.json could not be read');
    expect(ctl.logs()).toContain('the status clone cannot be read; repairing it');
    expect(ctl.child.exitCode).toBeNull();

    const state = JSON.parse(readFileSync(join(dir, 'state.json'), 'utf8')) as { environments: Record<string, { lastGood?: string }> };
    expect(state.environments.dev?.lastGood).toBe(head);
    expect(readdirSync(dir).some((n) => n.startsWith('state.json.damaged-'))).toBe(true);
    // Nothing ran again: the job's single run and the service's pid and restart count are as before.
    await waitFor('two more passes', () => (ctl.logs().match(/"msg":"dev: converged"/g) ?? []).length >= 2, 20_000);
    expect(await snapshot()).toEqual(before);
    const after = git(repo.remote, ['ls-tree', '--name-only', `${STATUS}:evidence/dev`]).split('\n').filter(Boolean);
    expect(after).toEqual(reports);
  });

  it('[corrupt-state] after the repair, a stopped service is healed and the next commit applies', async () => {
    const web = (await pm2.jlist()).find((p) => p.name === 'web' && p.pm2_env.namespace === NS)!;
    expect((await pm2.pm2(['stop', String(web.pm_id)])).code).toBe(0);
    await waitFor('web online again', async () => { const p = (await pm2.jlist()).find((x) => x.pm_id === web.pm_id); return p?.pm2_env.status === 'online' && p.pid !== web.pid; }, 20_000, 200);
    head = repo.commit('greet differently', { 'base/web.yaml': repo.read('base/web.yaml').replace('GREETING: hello', 'GREETING: salut') });
    await waitFor('converged on the next commit', () => statusText().includes(head) && statusText().includes('| result | converged |'));
  });
});
