/**
 * The controller's signing keys (I/O): `--signing-key`, else the pair kept in
 * the state dir, created on the first start only. A public key is never
 * overwritten: `signing.pub` without `signing.key` refuses to start, unless
 * `--rotate-key` asks for a new pair (the old public key is kept as
 * `signing.pub.<keyid>`).
 */
import { createPublicKey, type KeyObject } from 'node:crypto';
import { existsSync, linkSync, readFileSync, unlinkSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { ConflictError, ValidationError } from '../domain/errors.js';
import { encodeOpenSshPublic, generateSigningKey, keyId, parsePrivateKey, parsePublicKey } from '../report/keys.js';
import { keyFileSuffix } from '../report/rotation.js';

/** A private key, its public key and where it came from. */
export interface KeyPair { privateKey: KeyObject; publicKey: KeyObject; file: string; id: string }

/** The key the controller signs with, and the earlier keys it holds (to sign a rotation away from them). */
export interface SigningKeys extends KeyPair { previous: KeyPair[] }

/** How the keys were asked for. */
export interface KeyOptions { signingKey?: string; previousKey?: string; rotateKey?: boolean }

function readPair(file: string, what: string): KeyPair {
  try {
    const privateKey = parsePrivateKey(readFileSync(file, 'utf8'));
    const publicKey = createPublicKey(privateKey);
    return { privateKey, publicKey, file, id: keyId(publicKey) };
  } catch (err) {
    throw new ValidationError(`cannot read the ${what} ${file}: ${(err as Error).message}`, [], { cause: err });
  }
}

function rotateHint(stateDir: string): string {
  return 'to rotate to a new key, run `pm2-gitops keygen --out DIR` and start with `--signing-key DIR/signing.key --rotate-key`'
    + ` (or start with --rotate-key alone to create the new pair in ${stateDir}); the rotation is recorded in the evidence chain`;
}

/** Keeps `pub` as `signing.pub.<keyid>` (never overwriting), so it can still verify the reports it signed. */
function keepPublicKey(pub: string, id: string): void {
  const kept = `${pub}.${keyFileSuffix(id)}`;
  try {
    linkSync(pub, kept);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'EEXIST') throw err;
    if (keyId(parsePublicKey(readFileSync(kept, 'utf8'))) !== id) throw new ConflictError(`${kept} exists and holds another key; move it away first`);
  }
  unlinkSync(pub);
}

/** The state dir's pair: read, created once, or (with rotateKey, when the private key is gone) replaced. */
function stateDirPair(stateDir: string, rotateKey: boolean): KeyPair {
  const keyFile = join(stateDir, 'signing.key');
  const pubFile = join(stateDir, 'signing.pub');
  if (existsSync(keyFile)) {
    const pair = readPair(keyFile, 'signing key');
    if (existsSync(pubFile)) {
      let pubId: string;
      try { pubId = keyId(parsePublicKey(readFileSync(pubFile, 'utf8'))); } catch (err) { throw new ValidationError(`cannot read the public key ${pubFile}: ${(err as Error).message}`, [], { cause: err }); }
      if (pubId !== pair.id) throw new ConflictError(`${pubFile} (${pubId}) is not the public key of ${keyFile} (${pair.id}); the controller never overwrites a public key: put the matching one back`);
    } else {
      writeFileSync(pubFile, encodeOpenSshPublic(pair.publicKey, 'pm2-gitops'), { flag: 'wx' });
    }
    return pair;
  }
  if (existsSync(pubFile)) {
    let oldId: string;
    try { oldId = keyId(parsePublicKey(readFileSync(pubFile, 'utf8'))); } catch (err) { throw new ValidationError(`cannot read the public key ${pubFile}: ${(err as Error).message}`, [], { cause: err }); }
    if (!rotateKey) throw new ConflictError(`${pubFile} (${oldId}) exists without ${keyFile}: the private key was lost or removed, and the controller never replaces a public key; ${rotateHint(stateDir)}`);
    keepPublicKey(pubFile, oldId);
  }
  const pair = generateSigningKey('pm2-gitops');
  writeFileSync(keyFile, pair.privateText, { mode: 0o600, flag: 'wx' });
  writeFileSync(pubFile, pair.publicText, { flag: 'wx' });
  return { privateKey: pair.privateKey, publicKey: pair.publicKey, file: keyFile, id: keyId(pair.publicKey) };
}

/** Loads the signing key and the earlier keys at hand; throws ConflictError (exit 2) where a key would be replaced silently. */
export function loadSigningKeys(stateDir: string, opts: KeyOptions): SigningKeys {
  const current = opts.signingKey ? readPair(resolve(opts.signingKey), 'signing key') : stateDirPair(stateDir, Boolean(opts.rotateKey));
  const previous: KeyPair[] = [];
  if (opts.previousKey) previous.push(readPair(resolve(opts.previousKey), 'previous key (--previous-key)'));
  // Moving from the state dir's key to --signing-key: the state dir's key can still sign the rotation.
  const stateKey = join(stateDir, 'signing.key');
  if (opts.signingKey && existsSync(stateKey)) {
    // Only a candidate: one that cannot be read leaves the rotation to the new key alone.
    try { previous.push(readPair(stateKey, 'signing key')); } catch { /* not needed to start */ }
  }
  return { ...current, previous: previous.filter((p) => p.id !== current.id) };
}
