import { mkdtempSync, readFileSync, rmSync, unlinkSync, writeFileSync } from 'node:fs';
import { hostname, tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { cli, type RunResult } from './helpers/cli.js';
import { controllerWait, startController, type RunningController } from './helpers/controller.js';
import { git, gitFixture, type GitFixture } from './helpers/git.js';
import { isolatedPm2, type IsolatedPm2 } from './helpers/pm2.js';
import { tinyRepo } from './helpers/tiny-repo.js';

const PORT = 24600;
const NS = 'ver-gitops';
const PUSHES = 10;
const STATUS = 'pm2-gitops/status';

describe('verify: the evidence chain of a real history', () => {
  let pm2: IsolatedPm2;
  let repo: GitFixture;
  let ctl: RunningController;
  const waitFor = controllerWait(() => ctl, () => statusText());
  let work: string;
  let keyDir: string;
  let names: string[] = [];

  const statusText = (): string => git(repo.remote, ['show', `${STATUS}:status/dev.md`]);
  const verify = (repoDir: string): Promise<RunResult> => cli(['verify', '--repo', repoDir, '--env', 'dev', '--public-key', join(keyDir, 'signing.pub')]);

  /** Clones the remote, changes its status branch with `change` (files under evidence/dev), commits, and verifies the clone. */
  async function verifyTampered(label: string, change: (dir: string) => void): Promise<RunResult> {
    const clone = join(work, label);
    git(work, ['clone', '--quiet', repo.remote, clone]);
    git(clone, ['checkout', '--quiet', STATUS]);
    for (const [k, v] of [['user.name', 'Someone'], ['user.email', 'someone@example.com'], ['commit.gpgsign', 'false']]) git(clone, ['config', k!, v!]);
    change(join(clone, 'evidence', 'dev'));
    git(clone, ['add', '--all']);
    git(clone, ['commit', '--quiet', '-m', `tamper: ${label}`]);
    return verify(clone);
  }

  /** Changes one byte of a report, keeping it valid JSON. */
  function flipOneByte(file: string): void {
    const text = readFileSync(file, 'utf8');
    const at = text.indexOf('"outcome":"converged"') + '"outcome":"converge'.length;
    expect(text[at]).toBe('d');
    writeFileSync(file, `${text.slice(0, at)}D${text.slice(at + 1)}`);
  }

  beforeAll(async () => {
    pm2 = isolatedPm2();
    repo = gitFixture();
    work = mkdtempSync(join(tmpdir(), 'pm2gt-verify-'));
    keyDir = join(work, 'keys');
    const keygen = await cli(['keygen', '--out', keyDir]);
    expect(keygen.code).toBe(0);
    repo.commit('initial', tinyRepo({ env: 'dev', namespace: NS, port: PORT, greeting: 'g0' }));
    ctl = startController({ repo: repo.remote, env: pm2.env, args: ['--env', 'dev', '--signing-key', join(keyDir, 'signing.key')] });
  });

  afterAll(async () => {
    if (ctl.child.exitCode === null) await ctl.stop();
    await pm2.kill();
    repo.cleanup();
    rmSync(work, { recursive: true, force: true });
  });

  it(`records ${PUSHES + 1} reconciles as a chain that verifies`, async () => {
    const first = repo.head();
    await waitFor('status for the first revision', () => { try { return statusText().includes(first); } catch { return false; } });
    for (let i = 1; i <= PUSHES; i++) {
      const sha = repo.commit(`greeting ${i}`, { 'base/web.yaml': repo.read('base/web.yaml').replace(/GREETING: \S+/, `GREETING: g${i}`) });
      await waitFor(`status for push ${i}`, () => { const s = statusText(); return s.includes(sha) && s.includes('| result | converged |'); });
    }
    const served = await (await fetch(`http://127.0.0.1:${PORT}/`)).json() as { greeting: string };
    expect(served.greeting).toBe(`g${PUSHES}`);
    expect(await ctl.stop()).toBe(0);

    names = git(repo.remote, ['ls-tree', '--name-only', `${STATUS}:evidence/dev`]).split('\n').filter(Boolean).sort();
    expect(names).toHaveLength(PUSHES + 1);
    const sequences = names.map((n) => (JSON.parse(git(repo.remote, ['show', `${STATUS}:evidence/dev/${n}`])) as { sequence: number }).sequence);
    expect(sequences).toEqual(Array.from({ length: PUSHES + 1 }, (_, i) => i + 1));

    const r = await verify(repo.remote);
    expect(r.stderr).toBe('');
    expect(r.code).toBe(0);
    expect(r.stdout).toContain(`dev: ${PUSHES + 1} reports, all valid`);
  });

  it('status commits are SSH-signed with the same key', () => {
    const pub = readFileSync(join(keyDir, 'signing.pub'), 'utf8').trim().split(/\s+/).slice(0, 2).join(' ');
    const signers = join(work, 'controller_signers');
    writeFileSync(signers, `pm2-gitops@${hostname()} namespaces="git" ${pub}\n`);
    const out = git(repo.remote, ['-c', `gpg.ssh.allowedSignersFile=${signers}`, 'log', '--format=%G?', STATUS]).split('\n');
    expect(out.length).toBeGreaterThan(PUSHES);
    expect(new Set(out)).toEqual(new Set(['G']));
  });

  it('names the changed report when one byte of a middle report changes', async () => {
    const middle = names[5]!;
    const r = await verifyTampered('byte-middle', (dir) => flipOneByte(join(dir, middle)));
    expect(r.code).toBe(5);
    expect(r.stdout).toContain(`evidence/dev/${middle}: signature does not verify`);
    expect(r.stdout).toContain(`evidence/dev/${names[6]!}: hash chain broken`);
    expect(r.stderr).toContain(`first broken: evidence/dev/${middle}`);
  });

  it('names the changed report when one byte of the newest report changes', async () => {
    const newest = names[names.length - 1]!;
    const r = await verifyTampered('byte-newest', (dir) => flipOneByte(join(dir, newest)));
    expect(r.code).toBe(5);
    expect(r.stdout).toContain(`evidence/dev/${newest}: signature does not verify`);
    expect(r.stderr).toContain(`first broken: evidence/dev/${newest}`);
  });

  it('names the gap when a middle report is deleted', async () => {
    const middle = names[4]!;
    const r = await verifyTampered('delete-middle', (dir) => unlinkSync(join(dir, middle)));
    expect(r.code).toBe(5);
    expect(r.stdout).toContain(`evidence/dev/${middle}: missing: evidence/dev/${names[5]!} names it as the report before it (sequence 5)`);
    expect(r.stderr).toContain(`first broken: evidence/dev/${middle}: missing`);
    expect(r.stdout).toContain(`evidence/dev/${names[5]!}: hash chain broken`);
    expect(r.stdout).toContain(`evidence/dev/${names[5]!}: sequence 6 follows 4`);
  });

  it('names the deleted newest report (the status file points at it)', async () => {
    const newest = names[names.length - 1]!;
    const r = await verifyTampered('delete-newest', (dir) => unlinkSync(join(dir, newest)));
    expect(r.code).toBe(5);
    expect(r.stdout).toContain(`evidence/dev/${newest}: the status file names ${newest} as the newest report, but the chain ends at evidence/dev/${names[names.length - 2]!}`);
  });

  it('names both reports when two reports swap contents', async () => {
    const [a, b] = [names[3]!, names[7]!];
    const r = await verifyTampered('swap', (dir) => {
      const ta = readFileSync(join(dir, a), 'utf8');
      writeFileSync(join(dir, a), readFileSync(join(dir, b), 'utf8'));
      writeFileSync(join(dir, b), ta);
    });
    expect(r.code).toBe(5);
    expect(r.stdout).toContain(`evidence/dev/${a}: file name does not match the report`);
    expect(r.stdout).toContain(`evidence/dev/${b}: file name does not match the report`);
    expect(r.stderr).toContain(`first broken: evidence/dev/${a}`);
  });

  it('still verifies the untouched remote', async () => {
    const r = await verify(repo.remote);
    expect(r.code).toBe(0);
  });
});
