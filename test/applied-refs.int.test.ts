import { chmodSync, mkdtempSync, readdirSync, readFileSync, rmSync, unlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { cli, type RunResult } from './helpers/cli.js';
import { controllerWait, startController, type RunningController } from './helpers/controller.js';
import { git, gitFixture, type GitFixture } from './helpers/git.js';
import { isolatedPm2, type IsolatedPm2 } from './helpers/pm2.js';
import { tinyRepo } from './helpers/tiny-repo.js';

const STATUS = 'pm2-gitops/status';
const PORT = 24630;
const NS = 'applied-dev';
const APPLIED = 'refs/pm2-gitops/applied/';

describe('[applied-refs] applied revisions stay reachable, so evidence stays verifiable', () => {
  let pm2: IsolatedPm2;
  let repo: GitFixture;
  let ctl: RunningController;
  let work: string;
  let keyDir: string;
  const shas: string[] = [];
  const waitFor = controllerWait(() => ctl, () => statusText());

  const statusText = (): string => git(repo.remote, ['show', `${STATUS}:status/dev.md`]);
  const converged = (sha: string): boolean => { try { const s = statusText(); return s.includes(sha) && s.includes('| result | converged |'); } catch { return false; } };
  const appliedRefs = (): string[] => git(repo.root, ['ls-remote', repo.remote, `${APPLIED}*`]).split('\n').filter(Boolean).map((l) => l.split(/\s+/)[1]!);
  const exists = (sha: string): boolean => { try { git(repo.remote, ['cat-file', '-e', `${sha}^{commit}`]); return true; } catch { return false; } };
  const verify = (repoArg: string, extra: string[] = []): Promise<RunResult> => cli(['verify', '--repo', repoArg, '--env', 'dev', '--public-key', join(keyDir, 'signing.pub'), ...extra]);
  const greet = (g: string): string => repo.commit(`greeting ${g}`, { 'base/web.yaml': repo.read('base/web.yaml').replace(/GREETING: \S+/, `GREETING: ${g}`) });
  const hook = (): string => join(repo.remote, 'hooks', 'pre-receive');

  beforeAll(async () => {
    pm2 = isolatedPm2();
    repo = gitFixture();
    work = mkdtempSync(join(tmpdir(), 'pm2gt-applied-'));
    keyDir = join(work, 'keys');
    expect((await cli(['keygen', '--out', keyDir])).code).toBe(0);
    shas.push(repo.commit('initial', tinyRepo({ env: 'dev', namespace: NS, port: PORT, greeting: 'g0' })));
    ctl = startController({ repo: repo.remote, env: pm2.env, args: ['--env', 'dev', '--resync', '1s', '--signing-key', join(keyDir, 'signing.key')] });
  });

  afterAll(async () => {
    if (ctl.child.exitCode === null && ctl.child.signalCode === null) await ctl.stop();
    await pm2.kill();
    repo.cleanup();
    rmSync(work, { recursive: true, force: true });
  });

  it('[applied-refs] after each apply git ls-remote shows refs/pm2-gitops/applied/<sha>, pushed before the status', async () => {
    await waitFor('the first revision', () => converged(shas[0]!));
    expect(appliedRefs()).toContain(`${APPLIED}${shas[0]}`);
    for (const g of ['g1', 'g2']) {
      const sha = greet(g);
      shas.push(sha);
      await waitFor(`status for ${g}`, () => converged(sha));
      expect(appliedRefs()).toContain(`${APPLIED}${sha}`);
    }
  });

  it('[applied-refs] a push of an applied ref that fails never holds up the controller, and is retried', async () => {
    writeFileSync(hook(), '#!/bin/sh\nwhile read old new ref; do case "$ref" in refs/pm2-gitops/*) echo "refused by the test" >&2; exit 1;; esac; done\nexit 0\n');
    chmodSync(hook(), 0o755);
    const sha = greet('g3');
    shas.push(sha);
    await waitFor('status for g3 while applied refs are refused', () => converged(sha));
    expect(appliedRefs()).not.toContain(`${APPLIED}${sha}`);
    const state = join(ctl.stateDir, readdirSync(ctl.stateDir).find((d) => d.startsWith('remote-'))!, 'applied-refs.json');
    expect((JSON.parse(readFileSync(state, 'utf8')) as { pending: string[] }).pending).toEqual([sha]);
    unlinkSync(hook());
    await waitFor('the refused applied ref to be pushed', () => appliedRefs().includes(`${APPLIED}${sha}`));
    expect(await ctl.stop()).toBe(0);
  });

  it('[applied-refs] after a force-push that drops revisions and git gc --prune=now on the remote, verify exits 0: the applied refs keep them', async () => {
    git(repo.work, ['reset', '--quiet', '--hard', shas[0]!]);
    git(repo.work, ['push', '--quiet', '--force', 'origin', 'HEAD:refs/heads/main']);
    git(repo.remote, ['gc', '--quiet', '--prune=now']);
    for (const sha of shas) expect(exists(sha), sha).toBe(true);
    const r = await verify(repo.remote);
    expect(r.code, r.stdout + r.stderr).toBe(0);
    expect(r.stdout).toMatch(/dev: \d+ reports, all valid\n/);
    expect(r.stdout).not.toContain('warning');
  });

  it('[applied-refs] with the applied ref deleted too, verify exits 0 with a warning that the revision is gone from the remote; --json carries it apart from problems', async () => {
    const dropped = shas[3]!;
    git(repo.remote, ['update-ref', '-d', `${APPLIED}${dropped}`]);
    git(repo.remote, ['gc', '--quiet', '--prune=now']);
    expect(exists(dropped)).toBe(false);
    for (const sha of shas.slice(0, 3)) expect(exists(sha), sha).toBe(true);

    for (const repoArg of [repo.remote, `file://${repo.remote}`]) {
      const r = await verify(repoArg);
      expect(r.code, r.stdout + r.stderr).toBe(0);
      expect(r.stdout).toMatch(/dev: \d+ reports, all valid, 1 warning\n/);
      expect(r.stdout).toContain(`warning: evidence/dev/`);
      expect(r.stdout).toContain(`revision ${dropped} gone from the remote: not reachable from any ref`);
    }
    const json = JSON.parse((await verify(repo.remote, ['--json'])).stdout) as { ok: boolean; problems: unknown[]; warnings: Array<{ file: string; message: string }> };
    expect(json.ok).toBe(true);
    expect(json.problems).toEqual([]);
    expect(json.warnings.map((w) => w.message)).toEqual([expect.stringContaining(`revision ${dropped} gone from the remote`)]);
  });

  it('[applied-refs] editing one byte of a report still exits 5', async () => {
    const clone = join(work, 'tampered');
    git(work, ['clone', '--quiet', repo.remote, clone]);
    git(clone, ['checkout', '--quiet', STATUS]);
    for (const [k, v] of [['user.name', 'Someone'], ['user.email', 'someone@example.com'], ['commit.gpgsign', 'false']]) git(clone, ['config', k!, v!]);
    const dir = join(clone, 'evidence', 'dev');
    const name = readdirSync(dir).sort()[1]!;
    const text = readFileSync(join(dir, name), 'utf8');
    writeFileSync(join(dir, name), text.replace('"outcome":"converged"', '"outcome":"convergeD"'));
    git(clone, ['commit', '--quiet', '-am', 'tamper: one byte']);
    const r = await verify(clone);
    expect(r.code).toBe(5);
    expect(r.stdout).toContain(`evidence/dev/${name}: signature does not verify`);
  });
});
