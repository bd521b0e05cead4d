/**
 * `apply` honours approvals like the controller (DESIGN sections 4 and 5):
 * an environment that requires them is applied only from a commit signed by
 * an allowed signer with enough `Approved-by` trailers; otherwise exit 3 and
 * nothing running changes. Uncommitted changes are never approved.
 */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { cli } from './helpers/cli.js';
import { gitFixture, type GitFixture, type Person } from './helpers/git.js';
import { isolatedPm2, type IsolatedPm2 } from './helpers/pm2.js';
import { allowedLine, sshKey } from './helpers/signers.js';
import { tinyRepo } from './helpers/tiny-repo.js';

const PORT = 26050;
const NS = 'apply-apr';
const ALICE: Person = { name: 'Alice Author', email: 'alice@example.com' };
const BOB: Person = { name: 'Bob Reviewer', email: 'bob@example.com' };



async function greeting(): Promise<unknown> {
  const res = await fetch(`http://127.0.0.1:${PORT}/`);
  return ((await res.json()) as { greeting?: unknown }).greeting;
}

describe('apply and approvals', () => {
  let pm2: IsolatedPm2;
  let repo: GitFixture;
  let keysDir: string;
  let signers: string;
  let home: string;
  const keys: Record<string, string> = {};

  const apply = (extra: string[] = []) => cli(['apply', '--repo', repo.work, '--env', 'dev', '--allowed-signers', signers, ...extra], { env: { ...pm2.env, HOME: home }, timeoutMs: 60_000 });
  const processes = async (): Promise<Array<[string, number, number]>> => (await pm2.jlist()).filter((p) => p.pm2_env.namespace === NS).map((p): [string, number, number] => [p.name, p.pid, p.pm2_env.restart_time]).sort();
  const web = (g: string): string => tinyRepo({ env: 'dev', namespace: NS, port: PORT, greeting: g, approvals: 1 })['base/web.yaml']!;

  beforeAll(() => {
    pm2 = isolatedPm2('pm2gt-apply-apr-');
    repo = gitFixture(undefined, 'pm2gt-apply-apr-repo-');
    home = mkdtempSync(join(tmpdir(), 'pm2gt-apply-apr-home-'));
    keysDir = mkdtempSync(join(tmpdir(), 'pm2gt-apply-apr-keys-'));
    keys.alice = sshKey(keysDir, 'alice');
    keys.bob = sshKey(keysDir, 'bob');
    signers = join(keysDir, 'allowed_signers');
    writeFileSync(signers, `${allowedLine(ALICE, keys.alice)}\n${allowedLine(BOB, keys.bob)}\n`);
  });

  afterAll(async () => {
    await pm2.kill();
    repo.cleanup();
    for (const d of [keysDir, home]) rmSync(d, { recursive: true, force: true });
  });

  it('[apply-approvals] applies an approved commit; an unapproved one, or uncommitted changes, exit 3 and change nothing', async () => {
    repo.commit('approved', tinyRepo({ env: 'dev', namespace: NS, port: PORT, greeting: 'approved-1', approvals: 1 }), { author: ALICE, signingKey: keys.alice!, trailers: [`Approved-by: ${BOB.name} <${BOB.email}>`] });
    const first = await apply();
    expect(first.code, first.stderr).toBe(0);
    expect(await greeting()).toBe('approved-1');
    const before = await processes();

    // Signed by its author but reviewed by nobody.
    repo.commit('unreviewed', { 'base/web.yaml': web('unreviewed') }, { author: ALICE, signingKey: keys.alice! });
    const unreviewed = await apply();
    expect(unreviewed.code).toBe(3);
    expect(unreviewed.stderr).toMatch(/dev requires 1 approval; not applied, nothing was changed: 0 of 1 granted: /);
    expect(await processes()).toEqual(before);
    expect(await greeting()).toBe('approved-1');

    // An approved commit with the working tree changed after it: only a commit can be approved.
    repo.commit('approved again', { 'base/web.yaml': web('approved-2') }, { author: ALICE, signingKey: keys.alice!, trailers: [`Approved-by: ${BOB.name} <${BOB.email}>`] });
    writeFileSync(join(repo.work, 'base/web.yaml'), web('edited-by-hand'));
    const dirty = await apply();
    expect(dirty.code).toBe(3);
    expect(dirty.stderr).toContain('the working tree has uncommitted changes, and only a commit can be approved');
    expect(await processes()).toEqual(before);

    writeFileSync(join(repo.work, 'base/web.yaml'), web('approved-2'));
    const approved = await apply();
    expect(approved.code, approved.stderr).toBe(0);
    expect(await greeting()).toBe('approved-2');
  }, 120_000);

  it('[apply-approvals] --require-approvals sets a floor the manifest cannot lower', async () => {
    const files = tinyRepo({ env: 'dev', namespace: NS, port: PORT, greeting: 'no-approvals-asked', approvals: 0 });
    repo.commit('the manifest asks for no approval', files, { author: ALICE, signingKey: keys.alice! });
    const before = await processes();
    const floored = await apply(['--require-approvals', 'dev=1']);
    expect(floored.code).toBe(3);
    expect(await processes()).toEqual(before);
    const without = await apply();
    expect(without.code, without.stderr).toBe(0);
    expect(await greeting()).toBe('no-approvals-asked');
  }, 120_000);
});
