/**
 * The one redaction step, end to end: a secret planted in a task's env, and a
 * manifest whose error quotes it (a patch selecting by a label that carries
 * it). The controller's status branch (status file and signed evidence), its
 * log, and the CLI's stderr and stdout hold the secret's sha256: prefix, never
 * the secret; the evidence still verifies.
 */
import { readdirSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { secretDigest } from '../src/domain/secrets.js';
import { cli } from './helpers/cli.js';
import { controllerWait, startController, type RunningController } from './helpers/controller.js';
import { branchHistoryText, git, gitFixture, type GitFixture } from './helpers/git.js';
import { isolatedPm2, type IsolatedPm2 } from './helpers/pm2.js';
import { tinyRepo } from './helpers/tiny-repo.js';

const PORT = 27510;
const NS = 'secret-redaction';
const SECRET = 'tok-live-5e8f2a91c3';

/** The environment, with a patch whose target quotes the secret (a label selector matching no task) when `leak`. */
function environment(leak: boolean): string {
  return `apiVersion: pm2-gitops/v1
kind: Environment
metadata: { name: dev }
spec:
  resources: [../../base]
  namespace: ${NS}
  policy: { prune: true, selfHeal: true }
${leak ? `  patches:
    - target: { labels: { token: "${SECRET}" } }
      merge: { spec: { process: { instances: 1 } } }
` : ''}`;
}

function statusText(repo: string): string {
  return git(repo, ['show', 'pm2-gitops/status:status/dev.md']);
}

describe('secrets never leave the process', () => {
  let pm2: IsolatedPm2;
  let repo: GitFixture;
  let ctl: RunningController;
  const waitFor = controllerWait(() => ctl, () => statusText(repo.remote));

  beforeAll(() => {
    pm2 = isolatedPm2();
    repo = gitFixture();
    repo.commit('a patch that selects by a secret label', { ...tinyRepo({ env: 'dev', namespace: NS, port: PORT, secret: SECRET }), 'environments/dev/environment.yaml': environment(true) });
    ctl = startController({ repo: repo.remote, env: pm2.env, args: ['--env', 'dev', '--allow-root', '/opt', '--max-instances', '16'] });
  });

  afterAll(async () => {
    if (ctl.child.exitCode === null) await ctl.stop();
    await pm2.kill();
    repo.cleanup();
  });

  it('[secret-redaction] the CLI reports the invalid manifest with the secret\'s prefix on stderr, never the secret', async () => {
    for (const cmd of ['render', 'plan', 'apply']) {
      const r = await cli([cmd, '--repo', repo.work, '--env', 'dev'], { env: pm2.env });
      expect(r.code, r.stderr).toBe(2);
      expect(r.stderr).toContain(`patch target { labels token=${secretDigest(SECRET)} } matches no task of this environment`);
      expect(r.stderr + r.stdout).not.toContain(SECRET);
    }
  });

  it('[secret-redaction] the status file and the signed evidence name the problem by the secret\'s prefix; the evidence verifies', async () => {
    const head = repo.head();
    await waitFor('status of the invalid revision', () => { try { return statusText(repo.remote).includes(head); } catch { return false; } });
    const status = statusText(repo.remote);
    expect(status).toContain('**invalid manifests**');
    expect(status).toContain(`labels token=${secretDigest(SECRET)}`);
    const evidence = git(repo.remote, ['ls-tree', '--name-only', 'pm2-gitops/status:evidence/dev']).split('\n').filter(Boolean);
    expect(evidence.length).toBeGreaterThan(0);
    expect(git(repo.remote, ['show', `pm2-gitops/status:evidence/dev/${evidence[evidence.length - 1]!}`])).toContain(secretDigest(SECRET));
    expect(branchHistoryText(repo.remote, 'pm2-gitops/status')).not.toContain(SECRET);
    const keyDir = readdirSync(ctl.stateDir).find((d) => readdirSync(join(ctl.stateDir, d)).includes('signing.pub'))!;
    const verified = await cli(['verify', '--repo', repo.remote, '--public-key', join(ctl.stateDir, keyDir, 'signing.pub')]);
    expect(verified.code, verified.stdout + verified.stderr).toBe(0);
  });

  it('[secret-redaction] once fixed, the task runs with the secret, and neither status branch nor log ever held it', async () => {
    const sha = repo.commit('drop the patch', { 'environments/dev/environment.yaml': environment(false) });
    await waitFor('the fixed revision converged', () => statusText(repo.remote).includes(sha) && statusText(repo.remote).includes('| result | converged |'), 45_000);
    const res = await fetch(`http://127.0.0.1:${PORT}/`);
    expect(((await res.json()) as { token: string }).token).toBe('set');
    expect(branchHistoryText(repo.remote, 'pm2-gitops/status')).not.toContain(SECRET);
    expect(await ctl.stop()).toBe(0);
    expect(ctl.logs()).toContain('dev: converged');
    expect(ctl.logs()).not.toContain(SECRET);
  });

  it('[secret-redaction] render prints env values as prefixes unless --show-env asks for them', async () => {
    const hidden = await cli(['render', '--repo', repo.work, '--env', 'dev', '--json']);
    expect(hidden.code, hidden.stderr).toBe(0);
    const web = (JSON.parse(hidden.stdout) as { tasks: Array<{ name: string; process: { env: Record<string, string> } }> }).tasks.find((t) => t.name === 'web')!;
    expect(web.process.env.SECRET_TOKEN).toBe(secretDigest(SECRET));
    expect(hidden.stdout).not.toContain(SECRET);
    const shown = await cli(['render', '--repo', repo.work, '--env', 'dev', '--show-env']);
    expect(shown.code, shown.stderr).toBe(0);
    expect(shown.stdout).toContain(`SECRET_TOKEN: ${SECRET}`);
  });
});
