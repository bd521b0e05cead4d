/**
 * The manifest repository unreachable (moved away) and the watched branch
 * deleted: the last good state keeps running and self-healing, the status
 * says the source is unreachable since when, and the reports made meanwhile
 * reach the remote once it is back, their chain unbroken.
 */
import { mkdtempSync, readdirSync, readFileSync, renameSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { cli } from './helpers/cli.js';
import { controllerWait, startController, type RunningController } from './helpers/controller.js';
import { git, gitFixture, type GitFixture } from './helpers/git.js';
import { isolatedPm2, type IsolatedPm2, type JlistEntry } from './helpers/pm2.js';
import { tinyRepo } from './helpers/tiny-repo.js';

const PORT = 24240;
const NS = 'ctl-source';
const STATUS = 'pm2-gitops/status';

describe('the manifest repository unreachable', () => {
  let pm2: IsolatedPm2;
  let repo: GitFixture;
  let ctl: RunningController;
  let keyDir: string;
  let head = '';
  const statusText = (): string => git(repo.remote, ['show', `${STATUS}:status/dev.md`]);
  /** The status file in the controller's own clone of the status branch (readable while the remote is away). */
  const localStatus = (): string => {
    const dir = readdirSync(ctl.stateDir).find((n) => n.startsWith('remote-'))!;
    return readFileSync(join(ctl.stateDir, dir, 'status', 'status', 'dev.md'), 'utf8');
  };
  const waitFor = controllerWait(() => ctl, () => { try { return localStatus(); } catch { return statusText(); } });
  const web = async (): Promise<JlistEntry> => (await pm2.jlist()).find((p) => p.name === 'web' && p.pm2_env.namespace === NS)!;

  /** Stops web by hand and waits for the controller to start it again. */
  async function stopAndHeal(): Promise<void> {
    const before = await web();
    expect((await pm2.pm2(['stop', String(before.pm_id)])).code).toBe(0);
    const healed = await waitFor('web online again', async () => { const p = await web(); return p.pm2_env.status === 'online' && p.pid !== before.pid ? p : undefined; }, 20_000, 200);
    expect(healed.pm_id).toBe(before.pm_id);
    const body = await waitFor('web to answer', async () => { try { return (await (await fetch(`http://127.0.0.1:${PORT}/`)).json()) as { greeting: string }; } catch { return undefined; } });
    expect(body.greeting).toBe('hello');
  }

  beforeAll(async () => {
    pm2 = isolatedPm2();
    repo = gitFixture();
    keyDir = mkdtempSync(join(tmpdir(), 'pm2gt-source-keys-'));
    expect((await cli(['keygen', '--out', keyDir])).code).toBe(0);
    head = repo.commit('initial', tinyRepo({ env: 'dev', namespace: NS, port: PORT }));
    ctl = startController({ repo: repo.remote, env: pm2.env, args: ['--env', 'dev', '--signing-key', join(keyDir, 'signing.key')] });
  });

  afterAll(async () => {
    try { renameSync(`${repo.remote}.away`, repo.remote); } catch { /* already back */ }
    if (ctl.child.exitCode === null) await ctl.stop();
    await pm2.kill();
    repo.cleanup();
    rmSync(keyDir, { recursive: true, force: true });
  });

  it('applies the first revision', async () => {
    await waitFor('converged', () => { try { const s = statusText(); return s.includes(head) && s.includes('| result | converged |'); } catch { return false; } });
  });

  it('[source-unreachable] the remote moved away: a stopped process is healed and the status says since when the source is unreachable', async () => {
    const before = git(repo.remote, ['rev-parse', STATUS]);
    renameSync(repo.remote, `${repo.remote}.away`);
    const movedAt = new Date();
    await stopAndHeal();
    const local = await waitFor('the local status to name the outage', () => { const s = localStatus(); return s.includes('| source | **unreachable**') ? s : undefined; });
    const since = /\| source \| \*\*unreachable\*\* since (\S+):/.exec(local)![1]!;
    expect(new Date(since).getTime()).toBeGreaterThanOrEqual(movedAt.getTime() - 1000);
    expect(local).toMatch(/does not appear to be a git repository|No such file|not found/i);
    expect(local).toContain('| result | converged |');
    expect(local).toContain(`| running | \`${head}\` |`);

    // Started again while the remote is away, it runs on from its mirror and its status clone.
    expect(await ctl.stop()).toBe(0);
    ctl = startController({ repo: repo.remote, env: pm2.env, stateDir: ctl.stateDir, args: ['--env', 'dev', '--signing-key', join(keyDir, 'signing.key')] });
    await waitFor('the restarted controller to pass', () => /"msg":"dev: converged"/.test(ctl.logs()));
    await stopAndHeal();

    renameSync(`${repo.remote}.away`, repo.remote);
    // What was committed meanwhile reaches the remote: the heal's evidence and the outage in the history.
    await waitFor('the kept reports on the remote', () => git(repo.remote, ['rev-parse', STATUS]) !== before && git(repo.remote, ['log', '-p', STATUS, '--', 'status/dev.md']).includes('| source | **unreachable** since'));
    await waitFor('the outage over in the status', () => !statusText().includes('| source |'));
    const verify = await cli(['verify', '--repo', repo.remote, '--env', 'dev', '--public-key', join(keyDir, 'signing.pub')]);
    expect(verify.stdout).toMatch(/all valid/);
    expect(verify.code).toBe(0);
  });

  it('[source-unreachable] the watched branch deleted: a stopped process is healed and the status says the branch is gone', async () => {
    git(repo.remote, ['update-ref', '-d', 'refs/heads/main']);
    await stopAndHeal();
    const status = await waitFor('the status to say the branch is gone', () => { const s = statusText(); return s.includes('| source | **unreachable**') ? s : undefined; });
    expect(status).toMatch(/\| source \| \*\*unreachable\*\* since \S+: branch main was deleted from the repository;/);
    expect(status).toContain(`| running | \`${head}\` |`);

    git(repo.work, ['push', '--quiet', 'origin', 'HEAD:refs/heads/main']);
    await waitFor('the branch back in the status', () => !statusText().includes('| source |'));
    expect(statusText()).toContain('| result | converged |');
  });
});
