/**
 * Bearer tokens of the HTTP API (DESIGN section 7): JWTs signed with HS256
 * (PM2_GITOPS_JWT_SECRET) or EdDSA (an Ed25519 key pair), checked by `jose`
 * with the algorithm pinned to the one configured (never `none`), `exp` and
 * `sub` required, and a role: `viewer` reads, `operator` may also trigger.
 */
import type { KeyObject } from 'node:crypto';
import { SignJWT, jwtVerify } from 'jose';

export type Role = 'viewer' | 'operator';

/** Who called, as a valid token says. */
export interface Principal { subject: string; role: Role }

/** How tokens are checked: the one algorithm accepted and its key. */
export type TokenVerifier =
  | { alg: 'HS256'; secret: Uint8Array }
  | { alg: 'EdDSA'; publicKey: KeyObject };

/** How tokens are minted. */
export type TokenSigner =
  | { alg: 'HS256'; secret: Uint8Array }
  | { alg: 'EdDSA'; privateKey: KeyObject };

/** HS256 keys shorter than this are refused: a guessable secret would let anyone mint an operator token. */
export const MIN_SECRET_BYTES = 32;

const ROLES: readonly Role[] = ['viewer', 'operator'];

/** Whether `role` may do what `needed` allows. */
export function allows(role: Role, needed: Role): boolean {
  return needed === 'viewer' || role === 'operator';
}

/** The HS256 key of a secret; throws when it is too short (the message never shows it). */
export function hmacKey(secret: string): Uint8Array {
  const bytes = new TextEncoder().encode(secret);
  if (bytes.length < MIN_SECRET_BYTES) throw new Error(`PM2_GITOPS_JWT_SECRET must be at least ${MIN_SECRET_BYTES} bytes long (it has ${bytes.length})`);
  return bytes;
}

/**
 * The principal of an `Authorization: Bearer <JWT>` header, or undefined for
 * a missing, malformed, wrongly signed, expired or otherwise unacceptable
 * token (the caller answers 401 without saying which).
 */
export async function verifyBearer(header: string | undefined, verifier: TokenVerifier, nowSeconds?: number): Promise<Principal | undefined> {
  const m = /^Bearer ([A-Za-z0-9_-]+\.[A-Za-z0-9_-]+\.[A-Za-z0-9_-]*)$/.exec(header ?? '');
  if (!m) return undefined;
  const key = verifier.alg === 'HS256' ? verifier.secret : verifier.publicKey;
  try {
    const { payload } = await jwtVerify(m[1]!, key, {
      algorithms: [verifier.alg],
      requiredClaims: ['exp', 'sub'],
      ...(nowSeconds !== undefined ? { currentDate: new Date(nowSeconds * 1000) } : {}),
    });
    const role = payload.role ?? 'viewer';
    if (typeof payload.sub !== 'string' || !payload.sub || !ROLES.includes(role as Role)) return undefined;
    return { subject: payload.sub, role: role as Role };
  } catch {
    // Every reason (signature, expiry, algorithm, claims) is the same answer to the caller.
    return undefined;
  }
}

/** Mints a token for `subject` with `role`, valid for `ttlMs` from `now`. */
export async function mintToken(opts: { subject: string; role: Role; ttlMs: number; signer: TokenSigner; now?: Date }): Promise<string> {
  const iat = Math.floor((opts.now ?? new Date()).getTime() / 1000);
  const jwt = new SignJWT({ role: opts.role })
    .setProtectedHeader({ alg: opts.signer.alg, typ: 'JWT' })
    .setSubject(opts.subject)
    .setIssuer('pm2-gitops')
    .setIssuedAt(iat)
    .setExpirationTime(iat + Math.max(1, Math.round(opts.ttlMs / 1000)));
  return jwt.sign(opts.signer.alg === 'HS256' ? opts.signer.secret : opts.signer.privateKey);
}
