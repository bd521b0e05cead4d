import { execFileSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { controllerWait, startController, type RunningController } from './helpers/controller.js';
import { git, gitFixture, type GitFixture, type Person } from './helpers/git.js';
import { isolatedPm2, type IsolatedPm2 } from './helpers/pm2.js';
import { allowedLine, sshKey } from './helpers/signers.js';
import { tinyRepo } from './helpers/tiny-repo.js';

const PORT = 26010;
const NS = 'apr-gitops';

const ALICE: Person = { name: 'Alice Author', email: 'alice@example.com' };
const BOB: Person = { name: 'Bob Reviewer', email: 'bob@example.com' };
const CAROL: Person = { name: 'Carol Reviewer', email: 'carol@example.com' };
const MALLORY: Person = { name: 'Mallory', email: 'mallory@example.com' };

const trailer = (p: Person): string => `Approved-by: ${p.name} <${p.email}>`;



async function greeting(): Promise<unknown> {
  const res = await fetch(`http://127.0.0.1:${PORT}/`);
  return ((await res.json()) as { greeting?: unknown }).greeting;
}

type Snapshot = Array<[string, number, number, number]>;

describe('approvals (run --require-approvals, --allowed-signers)', () => {
  let pm2: IsolatedPm2;
  let repo: GitFixture;
  let ctl: RunningController;
  const waitFor = controllerWait(() => ctl, () => statusText());
  let keysDir: string;
  const keys: Record<string, string> = {};
  let approvedSha = '';

  const statusText = (): string => git(repo.remote, ['show', 'pm2-gitops/status:status/dev.md']);
  const web = (): string => repo.read('base/web.yaml');
  const withGreeting = (text: string, g: string): string => text.replace(/GREETING: \S+/, `GREETING: ${g}`);

  async function snapshot(): Promise<Snapshot> {
    return (await pm2.jlist())
      .filter((p) => p.pm2_env.namespace === NS)
      .map((p): [string, number, number, number] => [p.name, p.pm_id, p.pid, p.pm2_env.restart_time])
      .sort((a, b) => a[1] - b[1]);
  }

  async function statusFor(sha: string): Promise<string> {
    return waitFor(`status for ${sha.slice(0, 12)}`, () => { try { const s = statusText(); return s.includes(sha) ? s : undefined; } catch { return undefined; } });
  }

  /** Pushes a commit that must be refused; checks the status names every reason and PM2 did not move. */
  async function expectRefused(message: string, g: string, opts: Parameters<GitFixture['commit']>[2], reasons: (sha: string) => string[]): Promise<string> {
    const before = await snapshot();
    expect(await greeting()).toBe('approved-1');
    const sha = repo.commit(message, { 'base/web.yaml': withGreeting(web(), g) }, opts);
    const status = await statusFor(sha);
    expect(status).toContain('| result | **not approved**: not applied, the last approved revision keeps running |');
    expect(status).toMatch(/\| approval \| \*\*refused\*\*, \d of 1 required: /);
    expect(status).toContain(`| running | \`${approvedSha}\` |`);
    const problems = status.slice(status.indexOf('## Problems'));
    for (const reason of reasons(sha.slice(0, 12))) expect(problems).toContain(`- ${reason}`);
    expect(await snapshot()).toEqual(before);
    expect(await greeting()).toBe('approved-1');
    return status;
  }

  beforeAll(() => {
    pm2 = isolatedPm2();
    repo = gitFixture();
    keysDir = mkdtempSync(join(tmpdir(), 'pm2gt-keys-'));
    for (const name of ['alice', 'bob', 'carol', 'mallory']) keys[name] = sshKey(keysDir, name);
    const signers = join(keysDir, 'allowed_signers');
    writeFileSync(signers, `# reviewers\n${allowedLine(ALICE, keys.alice!)}\n${allowedLine(BOB, keys.bob!)}\n${allowedLine(CAROL, keys.carol!)}\n`);
    approvedSha = repo.commit('initial', tinyRepo({ env: 'dev', namespace: NS, port: PORT, greeting: 'approved-1', approvals: 1 }), { author: ALICE, signingKey: keys.alice!, trailers: [trailer(BOB)] });
    ctl = startController({ repo: repo.remote, env: pm2.env, args: ['--env', 'dev', '--require-approvals', 'dev=1', '--allowed-signers', signers] });
  });

  afterAll(async () => {
    if (ctl.child.exitCode === null) await ctl.stop();
    await pm2.kill();
    repo.cleanup();
    rmSync(keysDir, { recursive: true, force: true });
  });

  it('applies a revision signed by an allowed signer and approved by another', async () => {
    const status = await statusFor(approvedSha);
    expect(status).toContain('| result | converged |');
    expect(status).toMatch(/\| approval \| approved, 1 of 1 required: bob@example\.com; signed by alice@example\.com \(SHA256:/);
    expect(await greeting()).toBe('approved-1');
    expect((await snapshot()).map((p) => p[0]).sort()).toEqual(['setup', 'web']);
  });

  it('refuses an unsigned commit', async () => {
    await expectRefused('unsigned change', 'unsigned', { author: ALICE, trailers: [trailer(BOB)] }, (sha) => [`commit ${sha} is not signed`]);
  });

  it('refuses a commit signed by a key that is not an allowed signer', async () => {
    const fingerprint = execFileSync('ssh-keygen', ['-l', '-f', `${keys.mallory!}.pub`], { encoding: 'utf8' }).split(/\s+/)[1]!;
    await expectRefused('change from outside', 'outsider', { author: ALICE, signingKey: keys.mallory!, trailers: [trailer(BOB)] }, (sha) => [
      `commit ${sha} is signed by a key that is not in the allowed signers (${fingerprint})`,
    ]);
  });

  it('refuses an Approved-by trailer naming someone who is not an allowed signer', async () => {
    await expectRefused('forged approval', 'forged', { author: ALICE, signingKey: keys.alice!, trailers: [trailer(MALLORY), 'Approved-by: Bob Reviewer'] }, () => [
      'Approved-by mallory@example.com is not an allowed signer',
      'Approved-by "Bob Reviewer" names no e-mail address',
      '0 of 1 required approvals from allowed signers other than the author',
    ]);
  });

  it('refuses self-approval', async () => {
    await expectRefused('approve my own change', 'self', { author: ALICE, signingKey: keys.alice!, trailers: [trailer(ALICE)] }, () => [
      "Approved-by alice@example.com is the commit's author: self-approval does not count",
      '0 of 1 required approvals from allowed signers other than the author',
    ]);
  });

  it('applies the next properly approved commit', async () => {
    const before = (await snapshot()).find((p) => p[0] === 'web')!;
    const sha = repo.commit('approved change', { 'base/web.yaml': withGreeting(web(), 'approved-2') }, { author: ALICE, signingKey: keys.alice!, trailers: [trailer(BOB)] });
    const status = await statusFor(sha);
    expect(status).toContain('| result | converged |');
    expect(status).toContain(`| running | \`${sha}\` |`);
    expect(status).not.toContain('## Problems');
    expect(await greeting()).toBe('approved-2');
    const after = (await snapshot()).find((p) => p[0] === 'web')!;
    expect(after[1]).toBe(before[1]);
    expect(after[2]).not.toBe(before[2]);
    approvedSha = sha;
  });

  it('keeps the controller floor when the manifest lowers its requirement to 0', async () => {
    const before = await snapshot();
    const env = repo.read('environments/dev/environment.yaml');
    expect(env).toContain('approvals: { required: 1 }');
    const sha = repo.commit('no approvals please', {
      'environments/dev/environment.yaml': env.replace('approvals: { required: 1 }', 'approvals: { required: 0 }'),
      'base/web.yaml': withGreeting(web(), 'unreviewed'),
    }, { author: ALICE, signingKey: keys.alice! });
    const status = await statusFor(sha);
    expect(status).toContain('**not approved**');
    expect(status).toContain('| approval | **refused**, 0 of 1 required: 0 of 1 required approvals from allowed signers other than the author |');
    expect(await snapshot()).toEqual(before);
    expect(await greeting()).toBe('approved-2');
  });

  it('lets the manifest raise the requirement above the floor', async () => {
    const before = await snapshot();
    const env = repo.read('environments/dev/environment.yaml').replace('approvals: { required: 0 }', 'approvals: { required: 2 }');
    const files = { 'environments/dev/environment.yaml': env, 'base/web.yaml': withGreeting(web(), 'two-reviews') };
    const one = repo.commit('needs two reviews', files, { author: ALICE, signingKey: keys.alice!, trailers: [trailer(BOB)] });
    const refused = await statusFor(one);
    expect(refused).toContain('| approval | **refused**, 1 of 2 required: 1 of 2 required approvals from allowed signers other than the author |');
    expect(await snapshot()).toEqual(before);
    expect(await greeting()).toBe('approved-2');

    const two = repo.commit('needs two reviews, has two', {}, { author: ALICE, signingKey: keys.alice!, trailers: [trailer(BOB), trailer(CAROL)] });
    const status = await statusFor(two);
    expect(status).toContain('| result | converged |');
    expect(status).toMatch(/\| approval \| approved, 2 of 2 required: bob@example\.com, carol@example\.com; signed by alice@example\.com/);
    expect(await greeting()).toBe('two-reviews');
  });

  it('records each refusal once as evidence, with the approval decision', () => {
    const names = git(repo.remote, ['ls-tree', '--name-only', 'pm2-gitops/status:evidence/dev']).split('\n').filter(Boolean);
    const reports = names.map((n) => JSON.parse(git(repo.remote, ['show', `pm2-gitops/status:evidence/dev/${n}`])) as { outcome: string; precedence: { approvals: { ok: boolean; required: number } }; provenance: { revision: string } });
    const refused = reports.filter((r) => r.outcome === 'not-approved');
    expect(refused).toHaveLength(6);
    expect(new Set(refused.map((r) => r.provenance.revision)).size).toBe(6);
    for (const r of refused) expect(r.precedence.approvals.ok).toBe(false);
    expect(reports.filter((r) => r.outcome === 'converged').map((r) => r.precedence.approvals)).toEqual([
      expect.objectContaining({ ok: true, required: 1 }),
      expect.objectContaining({ ok: true, required: 1 }),
      expect.objectContaining({ ok: true, required: 2 }),
    ]);
  });
});
