import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { cli } from './helpers/cli.js';
import { controllerWait, startController, type RunningController } from './helpers/controller.js';
import { branchHistoryText, git, gitFixture, type GitFixture } from './helpers/git.js';
import { isolatedPm2, type IsolatedPm2 } from './helpers/pm2.js';
import { tinyRepo } from './helpers/tiny-repo.js';

const PORT = 24100;
const NS = 'ctl-basic';

async function getJson(url: string): Promise<Record<string, unknown>> {
  const res = await fetch(url);
  return (await res.json()) as Record<string, unknown>;
}

function statusText(repo: string): string {
  return git(repo, ['show', 'pm2-gitops/status:status/dev.md']);
}

describe('the controller (run)', () => {
  let pm2: IsolatedPm2;
  let repo: GitFixture;
  let ctl: RunningController;
  const waitFor = controllerWait(() => ctl, () => statusText(repo.remote));

  beforeAll(() => {
    pm2 = isolatedPm2();
    repo = gitFixture();
    repo.commit('initial', tinyRepo({ env: 'dev', namespace: NS, port: PORT, greeting: 'hello', secret: 'tok-first-7f3a9c' }));
    ctl = startController({ repo: repo.remote, env: pm2.env, args: ['--env', 'dev'] });
  });

  afterAll(async () => {
    if (ctl.child.exitCode === null) await ctl.stop();
    await pm2.kill();
    repo.cleanup();
  });

  it('applies the first revision and pushes a status commit naming it', async () => {
    const head = repo.head();
    await waitFor('status for the first revision', () => { try { return statusText(repo.remote).includes(head); } catch { return false; } });
    const body = await getJson(`http://127.0.0.1:${PORT}/`);
    expect(body.greeting).toBe('hello');
    const status = statusText(repo.remote);
    expect(status).toContain('| result | converged |');
    expect(status).toMatch(/\| web \| service \| ○ online \| \d+ \|/);
    expect(status).toMatch(/\| setup \| job \| □ completed \|/);
    const list = await pm2.jlist();
    expect(list.filter((p) => p.pm2_env.namespace === NS).map((p) => p.name).sort()).toEqual(['setup', 'web']);
  });

  it('applies a pushed change and reports it', async () => {
    const before = (await pm2.jlist()).find((p) => p.name === 'web')!;
    const sha = repo.commit('greet differently', { 'base/web.yaml': repo.read('base/web.yaml').replace('GREETING: hello', 'GREETING: bonjour') });
    await waitFor('the new greeting', async () => (await getJson(`http://127.0.0.1:${PORT}/`)).greeting === 'bonjour');
    await waitFor('status for the new revision', () => statusText(repo.remote).includes(sha));
    const after = (await pm2.jlist()).find((p) => p.name === 'web')!;
    expect(after.pm_id).toBe(before.pm_id);
    expect(after.pid).not.toBe(before.pid);
    const evidence = git(repo.remote, ['ls-tree', '--name-only', 'pm2-gitops/status:evidence/dev']).split('\n');
    expect(evidence.some((f) => f.endsWith(`-${sha.slice(0, 12)}.json`))).toBe(true);
  });

  it('leaves everything running when a push fails validation, and shows the errors', async () => {
    const before = (await pm2.jlist()).filter((p) => p.pm2_env.namespace === NS).map((p) => [p.name, p.pid, p.pm2_env.restart_time]);
    const sha = repo.commit('break it', { 'base/web.yaml': repo.read('base/web.yaml').replace('    script: apps/server.cjs', '    script: apps/server.cjs\n    instances: lots') });
    await waitFor('status for the broken revision', () => statusText(repo.remote).includes(sha), 30_000);
    const status = statusText(repo.remote);
    expect(status).toContain('**invalid manifests**');
    expect(status).toMatch(/base\/web\.yaml:\d+:\d+ \/spec\/process\/instances: must be an integer >= 0 or "max"/);
    const after = (await pm2.jlist()).filter((p) => p.pm2_env.namespace === NS).map((p) => [p.name, p.pid, p.pm2_env.restart_time]);
    expect(after).toEqual(before);
    expect((await getJson(`http://127.0.0.1:${PORT}/`)).greeting).toBe('bonjour');
  });

  it('never writes an env value to the status branch', async () => {
    repo.commit('rotate the token', { 'base/web.yaml': repo.read('base/web.yaml').replace('instances: lots', 'instances: 1').replace('tok-first-7f3a9c', 'tok-second-0b1d2e') });
    const sha = repo.head();
    await waitFor('status for the token rotation', () => statusText(repo.remote).includes(sha) && statusText(repo.remote).includes('| result | converged |'), 30_000);
    expect((await getJson(`http://127.0.0.1:${PORT}/`)).token).toBe('set');
    const history = branchHistoryText(repo.remote, 'pm2-gitops/status');
    expect(history.length).toBeGreaterThan(1000);
    for (const secret of ['tok-first-7f3a9c', 'tok-second-0b1d2e', 'bonjour']) expect(history).not.toContain(secret);
  });

  it('heals a process stopped by hand as soon as PM2 reports it (selfHeal)', async () => {
    const web = (await pm2.jlist()).find((p) => p.name === 'web' && p.pm2_env.namespace === NS)!;
    const stop = await pm2.pm2(['stop', String(web.pm_id)]);
    expect(stop.code).toBe(0);
    const stoppedAt = Date.now();
    const healed = await waitFor('web online again', async () => {
      const p = (await pm2.jlist()).find((x) => x.pm_id === web.pm_id);
      return p && p.pm2_env.status === 'online' && p.pid !== web.pid ? p : undefined;
    }, 20_000, 200);
    expect(healed.pm_id).toBe(web.pm_id);
    expect(Date.now() - stoppedAt).toBeLessThan(15_000);
    if (!/process web (stop|exit)/.test(ctl.logs())) console.log(ctl.logs().split('\n').slice(-25).join('\n'));
    expect(ctl.logs()).toMatch(/process web (stop|exit)/);
  });

  it('stops on SIGTERM with exit 0 after finishing its step', async () => {
    const code = await ctl.stop();
    expect(code).toBe(0);
    expect(ctl.logs()).toContain('stopping after the current step');
    const r = await cli(['status', '--repo', repo.remote, '--env', 'dev']);
    expect(r.code).toBe(0);
    expect(r.stdout).toContain('# dev');
  });
});
