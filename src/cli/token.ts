/**
 * `pm2-gitops token`: mints a bearer JWT for the controller's HTTP API, signed
 * with HS256 and PM2_GITOPS_JWT_SECRET, or with EdDSA and `--jwt-private-key`
 * (a keygen key: the controller then checks it with `--jwt-public-key`).
 */
import { readFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { hmacKey, mintToken, type Role, type TokenSigner } from '../api/auth.js';
import { ValidationError } from '../domain/errors.js';
import { parsePrivateKey } from '../report/keys.js';
import { parseDuration } from './duration.js';
import type { CliIo } from './io.js';

export interface TokenOptions {
  subject: string;
  ttl: string;
  role: string;
  jwtPrivateKey?: string;
  json?: boolean;
}

function signerOf(opts: TokenOptions, env: NodeJS.ProcessEnv): TokenSigner {
  if (opts.jwtPrivateKey) {
    const file = resolve(opts.jwtPrivateKey);
    try {
      const privateKey = parsePrivateKey(readFileSync(file, 'utf8'));
      if (privateKey.asymmetricKeyType !== 'ed25519') throw new Error(`expected an Ed25519 key, got ${privateKey.asymmetricKeyType}`);
      return { alg: 'EdDSA', privateKey };
    } catch (err) {
      throw new ValidationError(`--jwt-private-key ${file}: expected an Ed25519 private key (OpenSSH or PEM, as keygen writes)`, [], { cause: err });
    }
  }
  if (!env.PM2_GITOPS_JWT_SECRET) throw new ValidationError('token needs a key: set PM2_GITOPS_JWT_SECRET (HS256) or give --jwt-private-key FILE (EdDSA)');
  try {
    return { alg: 'HS256', secret: hmacKey(env.PM2_GITOPS_JWT_SECRET) };
  } catch (err) {
    throw new ValidationError((err as Error).message);
  }
}

/** Prints a new token (exit 0); invalid options exit 2. */
export async function tokenCommand(opts: TokenOptions, io: CliIo): Promise<number> {
  if (!/^[\w.@:-]{1,128}$/.test(opts.subject)) throw new ValidationError('--subject: expected a name of 1 to 128 letters, digits or . _ - @ :');
  if (opts.role !== 'viewer' && opts.role !== 'operator') throw new ValidationError(`--role ${JSON.stringify(opts.role)}: expected viewer or operator`);
  const ttlMs = parseDuration(opts.ttl, '--ttl');
  if (ttlMs < 1000) throw new ValidationError('--ttl: expected at least 1s');
  const signer = signerOf(opts, process.env);
  const now = new Date();
  const token = await mintToken({ subject: opts.subject, role: opts.role as Role, ttlMs, signer, now });
  const expires = new Date(now.getTime() + Math.round(ttlMs / 1000) * 1000).toISOString();
  // Printed as it is: a token is meant to be shown to the one who asked for it.
  if (opts.json) io.outRaw(`${JSON.stringify({ token, subject: opts.subject, role: opts.role, alg: signer.alg, expires })}\n`);
  else io.outRaw(`${token}\n`);
  return 0;
}
