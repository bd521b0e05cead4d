import { createPublicKey, type KeyObject } from 'node:crypto';
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, unlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { canonicalJson } from '../src/report/canonical.js';
import { chainHash, serializeEvidence, signEvidence, type EvidenceReport } from '../src/report/evidence.js';
import { keyId, parsePrivateKey, parsePublicKey } from '../src/report/keys.js';
import { isRotation, keyFileSuffix, signRotation, type KeyRotation } from '../src/report/rotation.js';
import { cli, type RunResult } from './helpers/cli.js';
import { controllerWait, startController, type RunningController } from './helpers/controller.js';
import { git, gitFixture, type GitFixture } from './helpers/git.js';
import { isolatedPm2, type IsolatedPm2, type JlistEntry } from './helpers/pm2.js';
import { tinyRepo } from './helpers/tiny-repo.js';

const STATUS = 'pm2-gitops/status';
const PORT = 24620;
const NS = 'keys-dev';

interface Pair { privateKey: KeyObject; publicKey: KeyObject }

function pairOf(file: string): Pair {
  const privateKey = parsePrivateKey(readFileSync(file, 'utf8'));
  return { privateKey, publicKey: createPublicKey(privateKey) };
}

/**
 * Re-signs and re-links every entry of a chain from `from` on with the private
 * keys given (by key id), as someone holding every key could: whatever then
 * fails is the order of the keys, not a signature or a link.
 */
function relink(dir: string, names: string[], from: number, keys: Map<string, Pair>, change: (entry: EvidenceReport, i: number) => void): string {
  let previousText = from > 0 ? readFileSync(join(dir, names[from - 1]!), 'utf8') : undefined;
  for (let i = from; i < names.length; i++) {
    const entry = JSON.parse(readFileSync(join(dir, names[i]!), 'utf8')) as EvidenceReport | KeyRotation;
    entry.previous = previousText === undefined ? null : chainHash(previousText);
    let text: string;
    if (isRotation(entry)) {
      const signed = signRotation(entry, keys.get(entry.newKey.keyId)!, entry.previousSignature ? keys.get(entry.previousKey.keyId) : undefined);
      text = `${canonicalJson(signed)}\n`;
    } else {
      change(entry, i);
      const key = keys.get(entry.signature!.keyId)!;
      text = serializeEvidence(signEvidence(entry, key.privateKey, key.publicKey));
    }
    writeFileSync(join(dir, names[i]!), text);
    previousText = text;
  }
  return previousText ?? '';
}

/** A chain entry as the tests read it: a report or a key rotation record. */
interface Entry {
  kind: string;
  sequence: number;
  signature?: { keyId: string };
  previousSignature?: { keyId: string };
  previousKey: { keyId: string };
  newKey: { keyId: string };
}

describe('[signing-key] signing keys: never replaced silently, rotated in the evidence chain', () => {
  let pm2: IsolatedPm2;
  let repo: GitFixture;
  let work: string;
  let root: string;
  let ctl: RunningController | undefined;
  let firstPub = '';
  let firstId = '';
  const waitFor = controllerWait(() => ctl, () => statusText());

  const statusText = (): string => git(repo.remote, ['show', `${STATUS}:status/dev.md`]);
  const stateDir = (): string => join(root, readdirSync(root).find((n) => n.startsWith('remote-'))!);
  const start = (args: string[]): RunningController => {
    ctl = startController({ repo: repo.remote, env: pm2.env, stateDir: root, args: ['--env', 'dev', ...args] });
    return ctl;
  };
  const exitOf = (c: RunningController): Promise<number | null> => (c.child.exitCode !== null ? Promise.resolve(c.child.exitCode) : new Promise((r) => c.child.once('exit', r)));
  const evidence = (): string[] => git(repo.remote, ['ls-tree', '--name-only', `${STATUS}:evidence/dev`]).split('\n').filter(Boolean).sort();
  const entry = (name: string): Entry => JSON.parse(git(repo.remote, ['show', `${STATUS}:evidence/dev/${name}`])) as Entry;
  const ours = async (): Promise<unknown[]> => (await pm2.jlist()).filter((p: JlistEntry) => p.pm2_env.namespace === NS).map((p) => [p.name, p.pm_id, p.pid, p.pm2_env.restart_time]);
  const verify = (keys: string[], repoDir = repo.remote, extra: string[] = []): Promise<RunResult> => cli(['verify', '--repo', repoDir, '--env', 'dev', ...keys.flatMap((k) => ['--public-key', k]), ...extra]);

  /** Pushes a new greeting and waits until the running controller converged on it. */
  async function pushAndConverge(greeting: string): Promise<string> {
    const sha = repo.commit(`greeting ${greeting}`, { 'base/web.yaml': repo.read('base/web.yaml').replace(/GREETING: \S+/, `GREETING: ${greeting}`) });
    await waitFor(`the controller to apply ${greeting}`, () => { try { const s = statusText(); return s.includes(sha) && s.includes('| result | converged |'); } catch { return false; } });
    return sha;
  }

  beforeAll(() => {
    pm2 = isolatedPm2();
    repo = gitFixture();
    work = mkdtempSync(join(tmpdir(), 'pm2gt-keys-'));
    root = join(work, 'state');
    repo.commit('initial', tinyRepo({ env: 'dev', namespace: NS, port: PORT, greeting: 'g0' }));
  });

  afterAll(async () => {
    if (ctl && ctl.child.exitCode === null && ctl.child.signalCode === null) await ctl.stop();
    await pm2.kill();
    repo.cleanup();
    rmSync(work, { recursive: true, force: true });
  });

  it('[signing-key] the first start creates the pair in the state dir and signs with it', async () => {
    start([]);
    await waitFor('the first revision', () => { try { return statusText().includes(repo.head()) && statusText().includes('| result | converged |'); } catch { return false; } });
    await pushAndConverge('g1');
    expect(await ctl!.stop()).toBe(0);
    firstPub = readFileSync(join(stateDir(), 'signing.pub'), 'utf8');
    firstId = keyId(parsePublicKey(firstPub));
    expect(evidence().map((n) => entry(n).signature?.keyId)).toEqual(evidence().map(() => firstId));
  });

  it('[signing-key] with signing.key deleted the controller refuses to start (exit 2), and signing.pub is unchanged', async () => {
    const before = await ours();
    const reports = evidence();
    unlinkSync(join(stateDir(), 'signing.key'));
    const c = start([]);
    expect(await exitOf(c)).toBe(2);
    expect(c.logs()).toContain(`${join(stateDir(), 'signing.pub')} (${firstId}) exists without ${join(stateDir(), 'signing.key')}: the private key was lost or removed, and the controller never replaces a public key; to rotate to a new key, run \`pm2-gitops keygen --out DIR\``);
    expect(readFileSync(join(stateDir(), 'signing.pub'), 'utf8')).toBe(firstPub);
    expect(existsSync(join(stateDir(), 'signing.key'))).toBe(false);
    expect(await ours()).toEqual(before);
    expect(evidence()).toEqual(reports);
  });

  it('[signing-key] run --rotate-key makes a new pair in the state dir, keeps the old public key, and records a rotation only the new key signs', async () => {
    start(['--rotate-key']);
    await pushAndConverge('g2');
    expect(await ctl!.stop()).toBe(0);
    expect(readFileSync(join(stateDir(), `signing.pub.${keyFileSuffix(firstId)}`), 'utf8')).toBe(firstPub);
    const secondId = keyId(parsePublicKey(readFileSync(join(stateDir(), 'signing.pub'), 'utf8')));
    expect(secondId).not.toBe(firstId);
    const names = evidence();
    const rotations = names.filter((n) => n.endsWith('-key-rotation.json'));
    expect(rotations).toHaveLength(1);
    const rotation = entry(rotations[0]!);
    expect(rotation).toMatchObject({ kind: 'KeyRotation', previousKey: { keyId: firstId }, newKey: { keyId: secondId } });
    expect(rotation.previousSignature).toBeUndefined();
    expect(entry(names[names.length - 1]!).signature!.keyId).toBe(secondId);
    expect(names.map((n) => entry(n).sequence)).toEqual(names.map((_, i) => i + 1));
  });

  it('[signing-key] run --signing-key NEW --rotate-key moves to a key of keygen; the state dir\'s key still signs the rotation', async () => {
    expect((await cli(['keygen', '--out', join(work, 'k3')])).code).toBe(0);
    const stateId = keyId(parsePublicKey(readFileSync(join(stateDir(), 'signing.pub'), 'utf8')));
    start(['--signing-key', join(work, 'k3', 'signing.key'), '--rotate-key']);
    await pushAndConverge('g3');
    expect(await ctl!.stop()).toBe(0);
    const rotations = evidence().filter((n) => n.endsWith('-key-rotation.json'));
    expect(rotations).toHaveLength(2);
    const rotation = entry(rotations[1]!);
    expect(rotation.previousKey.keyId).toBe(stateId);
    expect(rotation.previousSignature?.keyId).toBe(stateId);
    expect(rotation.signature?.keyId).toBe(keyId(parsePublicKey(readFileSync(join(work, 'k3', 'signing.pub'), 'utf8'))));
  });

  it('[signing-key] another key without --rotate-key is refused (exit 2) and the chain stays as it is', async () => {
    expect((await cli(['keygen', '--out', join(work, 'k4')])).code).toBe(0);
    const reports = evidence();
    const c = start(['--signing-key', join(work, 'k4', 'signing.key')]);
    expect(await exitOf(c)).toBe(2);
    expect(c.logs()).toContain('the evidence chain of dev is signed by key ');
    expect(c.logs()).toContain('add --rotate-key to record the rotation');
    expect(evidence()).toEqual(reports);
  });

  it('[signing-key] verify passes with every public key given, reports the rotation the lost key could not sign, and fails (exit 5) with the old key alone', async () => {
    const keys = [join(stateDir(), `signing.pub.${keyFileSuffix(firstId)}`), join(stateDir(), 'signing.pub'), join(work, 'k3', 'signing.pub')];
    const ok = await verify(keys);
    expect(ok.code, ok.stdout).toBe(0);
    expect(ok.stdout).toMatch(/dev: \d+ reports \(2 key rotations\), all valid, 1 warning/);
    expect(ok.stdout).toContain(`was not signed by the previous key (its private key was lost)`);
    const json = JSON.parse((await verify(keys, repo.remote, ['--json'])).stdout) as { ok: boolean; problems: unknown[]; warnings: Array<{ message: string }> };
    expect(json.ok).toBe(true);
    expect(json.problems).toEqual([]);
    expect(json.warnings).toHaveLength(1);

    const keyring = join(work, 'keyring.pub');
    writeFileSync(keyring, keys.map((k) => readFileSync(k, 'utf8')).join(''));
    expect((await verify([keyring])).code).toBe(0);

    const oldOnly = await verify([keys[0]!]);
    expect(oldOnly.code).toBe(5);
    expect(oldOnly.stdout).toContain('which is not among the given public keys');
  });

  it('[signing-key] verify fails (exit 5) when a report signed by the new key stands before the rotation, even with every signature and link intact', async () => {
    const clone = join(work, 'tampered');
    git(work, ['clone', '--quiet', repo.remote, clone]);
    git(clone, ['checkout', '--quiet', STATUS]);
    const dir = join(clone, 'evidence', 'dev');
    const names = readdirSync(dir).sort();
    const rotationAt = names.findIndex((n) => n.endsWith('-key-rotation.json'));
    const secondKey = pairOf(join(stateDir(), 'signing.key'));
    const thirdKey = pairOf(join(work, 'k3', 'signing.key'));
    const keys = new Map([[keyId(secondKey.publicKey), secondKey], [keyId(thirdKey.publicKey), thirdKey]]);
    // The report just before the first rotation, signed by the key the rotation hands over to.
    const newest = relink(dir, names, rotationAt - 1, keys, (report, i) => {
      if (i === rotationAt - 1) report.signature = { alg: 'Ed25519', keyId: keyId(secondKey.publicKey), value: '' };
    });
    const statusFile = join(clone, 'status', 'dev.md');
    writeFileSync(statusFile, readFileSync(statusFile, 'utf8').replace(/\(sha256 `[0-9a-f]{64}`\)/, `(sha256 \`${chainHash(newest)}\`)`));
    for (const [k, v] of [['user.name', 'Someone'], ['user.email', 'someone@example.com'], ['commit.gpgsign', 'false']]) git(clone, ['config', k!, v!]);
    git(clone, ['commit', '--quiet', '-am', 'tamper: new key before its rotation']);

    const all = [join(stateDir(), `signing.pub.${keyFileSuffix(firstId)}`), join(stateDir(), 'signing.pub'), join(work, 'k3', 'signing.pub')];
    const r = await verify(all, clone);
    expect(r.code).toBe(5);
    expect(r.stdout).toContain(`evidence/dev/${names[rotationAt - 1]!}: signed by key ${keyId(secondKey.publicKey)}, but the chain is signed by ${firstId} at this point: a report signed by a later key placed before its key rotation`);
    expect(r.stdout).not.toContain('hash chain broken');
    expect(r.stdout).not.toContain('signature does not verify');
  });

  it('[signing-key] an apply interrupted before it reported is still reported after a rotation', async () => {
    const names = evidence();
    const last = entry(names[names.length - 1]!);
    // What a controller killed in the middle of an apply leaves in its journal.
    const stateFile = join(stateDir(), 'state.json');
    const memory = JSON.parse(readFileSync(stateFile, 'utf8')) as { environments: Record<string, { pending?: unknown }> };
    memory.environments.dev!.pending = { revision: repo.head(), sequence: last.sequence + 1, plannedActions: 1, at: new Date().toISOString() };
    writeFileSync(stateFile, JSON.stringify(memory));
    start(['--signing-key', join(work, 'k4', 'signing.key'), '--rotate-key', '--previous-key', join(work, 'k3', 'signing.key')]);
    await waitFor('a report after the rotation', () => evidence().length === names.length + 2);
    expect(await ctl!.stop()).toBe(0);
    const after = evidence().slice(names.length);
    expect(after[0]).toMatch(/-key-rotation\.json$/);
    const report = entry(after[1]!) as Entry & { resumed?: { revision: string } };
    expect(report.resumed?.revision).toBe(repo.head());
    expect(evidence().map((n) => entry(n).sequence)).toEqual(evidence().map((_, i) => i + 1));
  });

  it('[signing-key] keygen --force makes a new pair and keeps the old one as signing.key.<keyid> and signing.pub.<keyid>', async () => {
    const dir = join(work, 'k5');
    expect((await cli(['keygen', '--out', dir])).code).toBe(0);
    const oldPub = readFileSync(join(dir, 'signing.pub'), 'utf8');
    const oldKey = readFileSync(join(dir, 'signing.key'), 'utf8');
    const suffix = keyFileSuffix(keyId(parsePublicKey(oldPub)));
    expect((await cli(['keygen', '--out', dir])).code).toBe(2);
    const r = await cli(['keygen', '--out', dir, '--force']);
    expect(r.code, r.stderr).toBe(0);
    expect(readFileSync(join(dir, `signing.pub.${suffix}`), 'utf8')).toBe(oldPub);
    expect(readFileSync(join(dir, `signing.key.${suffix}`), 'utf8')).toBe(oldKey);
    expect(readFileSync(join(dir, 'signing.pub'), 'utf8')).not.toBe(oldPub);
  });
});
