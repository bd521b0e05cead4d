import { existsSync, mkdirSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { ValidationError } from '../domain/errors.js';
import { generateSigningKey, keyId } from '../report/keys.js';
import type { CliIo } from './io.js';

/** `pm2-gitops keygen --out DIR`: writes signing.key (OpenSSH, 0600) and signing.pub. */
export async function keygenCommand(opts: { out: string; force?: boolean; json?: boolean }, io: CliIo): Promise<number> {
  const dir = resolve(opts.out);
  const keyFile = join(dir, 'signing.key');
  const pubFile = join(dir, 'signing.pub');
  if (!opts.force && (existsSync(keyFile) || existsSync(pubFile))) throw new ValidationError(`${keyFile} or ${pubFile} exists; pass --force to replace the key pair`);
  const pair = generateSigningKey('pm2-gitops');
  mkdirSync(dir, { recursive: true });
  writeFileSync(keyFile, pair.privateText, { mode: 0o600 });
  writeFileSync(pubFile, pair.publicText);
  const id = keyId(pair.publicKey);
  io.out(opts.json ? `${JSON.stringify({ privateKey: keyFile, publicKey: pubFile, keyId: id })}\n` : `wrote ${keyFile} and ${pubFile} (${id})\n`);
  return 0;
}
