import { createPublicKey, generateKeyPairSync } from 'node:crypto';
import { SignJWT } from 'jose';
import { describe, expect, it } from 'vitest';
import { generateSigningKey, parsePrivateKey, parsePublicKey } from '../report/keys.js';
import { allows, hmacKey, mintToken, verifyBearer, type TokenVerifier } from './auth.js';

const SECRET = hmacKey('a-secret-of-at-least-thirty-two-bytes!');
const HS: TokenVerifier = { alg: 'HS256', secret: SECRET };
const b64 = (v: unknown): string => Buffer.from(JSON.stringify(v)).toString('base64url');

describe('API tokens', () => {
  it('[api-auth] accepts a minted HS256 token until it expires, with its subject and role', async () => {
    const now = new Date('2026-01-01T00:00:00Z');
    const token = await mintToken({ subject: 'alice', role: 'operator', ttlMs: 3_600_000, signer: { alg: 'HS256', secret: SECRET }, now });
    const t = now.getTime() / 1000;
    expect(await verifyBearer(`Bearer ${token}`, HS, t + 10)).toEqual({ subject: 'alice', role: 'operator' });
    expect(await verifyBearer(`Bearer ${token}`, HS, t + 3_601)).toBeUndefined();
  });

  it('[api-auth] accepts EdDSA tokens signed with a keygen key, checked with its public key', async () => {
    const pair = generateSigningKey('api');
    const privateKey = parsePrivateKey(pair.privateText);
    const token = await mintToken({ subject: 'ci', role: 'viewer', ttlMs: 60_000, signer: { alg: 'EdDSA', privateKey } });
    expect(await verifyBearer(`Bearer ${token}`, { alg: 'EdDSA', publicKey: parsePublicKey(pair.publicText) })).toEqual({ subject: 'ci', role: 'viewer' });
    const other = generateKeyPairSync('ed25519');
    expect(await verifyBearer(`Bearer ${token}`, { alg: 'EdDSA', publicKey: other.publicKey })).toBeUndefined();
    // The algorithm is pinned: an EdDSA token is not accepted where HS256 is configured, nor the other way round.
    expect(await verifyBearer(`Bearer ${token}`, HS)).toBeUndefined();
    const hs = await mintToken({ subject: 'ci', role: 'viewer', ttlMs: 60_000, signer: { alg: 'HS256', secret: SECRET } });
    expect(await verifyBearer(`Bearer ${hs}`, { alg: 'EdDSA', publicKey: createPublicKey(privateKey) })).toBeUndefined();
  });

  it('[api-auth] refuses alg none, a missing exp or sub, an unknown role and anything that is not a bearer JWT', async () => {
    const exp = Math.floor(Date.now() / 1000) + 600;
    const none = `${b64({ alg: 'none' })}.${b64({ sub: 'm', exp, role: 'operator' })}.`;
    const noExp = await new SignJWT({ role: 'viewer' }).setProtectedHeader({ alg: 'HS256' }).setSubject('m').sign(SECRET);
    const noSub = await new SignJWT({ role: 'viewer' }).setProtectedHeader({ alg: 'HS256' }).setExpirationTime(exp).sign(SECRET);
    const admin = await new SignJWT({ role: 'admin' }).setProtectedHeader({ alg: 'HS256' }).setSubject('m').setExpirationTime(exp).sign(SECRET);
    const hs512 = await new SignJWT({}).setProtectedHeader({ alg: 'HS512' }).setSubject('m').setExpirationTime(exp).sign(new Uint8Array(64));
    for (const header of [undefined, '', 'Bearer', 'Bearer x.y', `bearer ${noExp}`, `Bearer ${none}`, `Bearer ${noExp}`, `Bearer ${noSub}`, `Bearer ${admin}`, `Bearer ${hs512}`]) {
      expect(await verifyBearer(header, HS)).toBeUndefined();
    }
    const plain = await new SignJWT({}).setProtectedHeader({ alg: 'HS256' }).setSubject('m').setExpirationTime(exp).sign(SECRET);
    expect(await verifyBearer(`Bearer ${plain}`, HS)).toEqual({ subject: 'm', role: 'viewer' });
  });

  it('[api-auth] lets operators do what viewers do, not the other way round; refuses short secrets without showing them', () => {
    expect([allows('viewer', 'viewer'), allows('viewer', 'operator'), allows('operator', 'viewer'), allows('operator', 'operator')]).toEqual([true, false, true, true]);
    expect(() => hmacKey('short-secret-value')).toThrow(/at least 32 bytes/);
    expect(() => hmacKey('short-secret-value')).not.toThrow(/short-secret-value/);
  });
});
