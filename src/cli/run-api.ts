/**
 * The HTTP API settings of `run` (`--listen`, `--jwt-public-key`, and the
 * secrets PM2_GITOPS_JWT_SECRET and PM2_GITOPS_WEBHOOK_SECRET), checked before
 * the controller starts so that a bad setting changes nothing (exit 2).
 */
import { readFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { hmacKey, type TokenVerifier } from '../api/auth.js';
import { ValidationError } from '../domain/errors.js';
import { parsePublicKey } from '../report/keys.js';

export interface ApiSettings {
  host: string;
  port: number;
  verifier: TokenVerifier;
  webhookSecret?: string;
}

/** Parses `HOST:PORT`, `[IPv6]:PORT` or `PORT` (host 127.0.0.1). */
export function parseListen(text: string): { host: string; port: number } {
  const m = /^(?:\[([0-9a-fA-F:.]+)\]|([^:[\]\s]*)):(\d{1,5})$/.exec(text) ?? /^()()(\d{1,5})$/.exec(text);
  const port = m ? Number(m[3]) : NaN;
  if (!m || !(port >= 0 && port <= 65535)) throw new ValidationError(`--listen ${JSON.stringify(text)}: expected HOST:PORT (e.g. 127.0.0.1:8080) or PORT`);
  return { host: m[1] || m[2] || '127.0.0.1', port };
}

/** The API settings of `run`, or undefined without --listen; throws ValidationError (never showing a secret). */
export function apiSettings(opts: { listen?: string; jwtPublicKey?: string }, env: NodeJS.ProcessEnv): ApiSettings | undefined {
  if (!opts.listen) return undefined;
  const at = parseListen(opts.listen);
  let verifier: TokenVerifier;
  if (opts.jwtPublicKey) {
    const file = resolve(opts.jwtPublicKey);
    try {
      verifier = { alg: 'EdDSA', publicKey: parsePublicKey(readFileSync(file, 'utf8')) };
    } catch (err) {
      throw new ValidationError(`--jwt-public-key ${file}: expected an Ed25519 public key (ssh-ed25519 line or PEM)`, [], { cause: err });
    }
  } else if (env.PM2_GITOPS_JWT_SECRET) {
    try {
      verifier = { alg: 'HS256', secret: hmacKey(env.PM2_GITOPS_JWT_SECRET) };
    } catch (err) {
      throw new ValidationError((err as Error).message);
    }
  } else {
    throw new ValidationError('--listen needs a way to check tokens: set PM2_GITOPS_JWT_SECRET (HS256) or give --jwt-public-key FILE (EdDSA)');
  }
  return { ...at, verifier, ...(env.PM2_GITOPS_WEBHOOK_SECRET ? { webhookSecret: env.PM2_GITOPS_WEBHOOK_SECRET } : {}) };
}
