import { createPublicKey } from 'node:crypto';
import { existsSync, linkSync, mkdirSync, readFileSync, unlinkSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { ConflictError, ValidationError } from '../domain/errors.js';
import { generateSigningKey, keyId, parsePrivateKey, parsePublicKey } from '../report/keys.js';
import { keyFileSuffix } from '../report/rotation.js';
import type { CliIo } from './io.js';

/** Moves `file` to `file.<suffix>` without overwriting anything there. */
function keep(file: string, suffix: string): string {
  const kept = `${file}.${suffix}`;
  try {
    linkSync(file, kept);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'EEXIST') throw new ConflictError(`${kept} exists; move it away first`, { cause: err });
    throw err;
  }
  unlinkSync(file);
  return kept;
}

/**
 * `pm2-gitops keygen --out DIR`: writes signing.key (OpenSSH, 0600) and
 * signing.pub. With --force where a pair exists, the old files are kept as
 * signing.key.<keyid> and signing.pub.<keyid>: a public key is never lost, and
 * the old private key can still sign the key rotation (run --previous-key).
 */
export async function keygenCommand(opts: { out: string; force?: boolean; json?: boolean }, io: CliIo): Promise<number> {
  const dir = resolve(opts.out);
  const keyFile = join(dir, 'signing.key');
  const pubFile = join(dir, 'signing.pub');
  const kept: string[] = [];
  if (existsSync(keyFile) || existsSync(pubFile)) {
    if (!opts.force) throw new ValidationError(`${keyFile} or ${pubFile} exists; pass --force to make a new pair (the old one is kept beside it)`);
    const from = existsSync(pubFile) ? pubFile : keyFile;
    let oldId: string;
    try {
      const text = readFileSync(from, 'utf8');
      oldId = keyId(from === pubFile ? parsePublicKey(text) : createPublicKey(parsePrivateKey(text)));
    } catch (err) {
      throw new ValidationError(`cannot read the key ${from} to keep it: ${(err as Error).message}`, [], { cause: err });
    }
    if (existsSync(pubFile)) kept.push(keep(pubFile, keyFileSuffix(oldId)));
    if (existsSync(keyFile)) kept.push(keep(keyFile, keyFileSuffix(oldId)));
  }
  const pair = generateSigningKey('pm2-gitops');
  mkdirSync(dir, { recursive: true });
  writeFileSync(keyFile, pair.privateText, { mode: 0o600, flag: 'wx' });
  writeFileSync(pubFile, pair.publicText, { flag: 'wx' });
  const id = keyId(pair.publicKey);
  if (opts.json) io.out(`${JSON.stringify({ privateKey: keyFile, publicKey: pubFile, keyId: id, kept })}\n`);
  else io.out(`wrote ${keyFile} and ${pubFile} (${id})${kept.length ? `; kept the old pair as ${kept.join(' and ')}` : ''}\n`);
  return 0;
}
