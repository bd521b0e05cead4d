/**
 * Ed25519 keys (pure): generation and the OpenSSH encodings, so one key pair
 * signs evidence reports (node:crypto) and status commits (git, gpg.format=ssh).
 */
import { createHash, createPrivateKey, createPublicKey, generateKeyPairSync, randomBytes, type KeyObject } from 'node:crypto';

const MAGIC = Buffer.from('openssh-key-v1\0', 'latin1');
const KEY_TYPE = 'ssh-ed25519';

function sshString(data: Buffer | string): Buffer {
  const body = typeof data === 'string' ? Buffer.from(data, 'latin1') : data;
  const len = Buffer.alloc(4);
  len.writeUInt32BE(body.length);
  return Buffer.concat([len, body]);
}

class Reader {
  private at = 0;
  constructor(private readonly buf: Buffer) {}
  uint32(): number {
    if (this.at + 4 > this.buf.length) throw new Error('truncated key');
    const v = this.buf.readUInt32BE(this.at);
    this.at += 4;
    return v;
  }
  string(): Buffer {
    const len = this.uint32();
    if (this.at + len > this.buf.length) throw new Error('truncated key');
    const v = this.buf.subarray(this.at, this.at + len);
    this.at += len;
    return v;
  }
}

function b64url(buf: Buffer): string {
  return buf.toString('base64url');
}

function rawPublic(key: KeyObject): Buffer {
  const jwk = key.export({ format: 'jwk' });
  return Buffer.from(String(jwk.x), 'base64url');
}

/** The SSH wire encoding of an Ed25519 public key. */
function publicBlob(pub: Buffer): Buffer {
  return Buffer.concat([sshString(KEY_TYPE), sshString(pub)]);
}

/** A key pair: node:crypto objects plus their OpenSSH texts. */
export interface SigningKeyPair {
  privateKey: KeyObject;
  publicKey: KeyObject;
  /** `-----BEGIN OPENSSH PRIVATE KEY-----` text (unencrypted). */
  privateText: string;
  /** `ssh-ed25519 AAAA… comment` line. */
  publicText: string;
}

/** Encodes an Ed25519 private key in OpenSSH's unencrypted format. */
export function encodeOpenSshPrivate(privateKey: KeyObject, comment: string): string {
  const jwk = privateKey.export({ format: 'jwk' });
  const seed = Buffer.from(String(jwk.d), 'base64url');
  const pub = Buffer.from(String(jwk.x), 'base64url');
  const check = randomBytes(4);
  let inner = Buffer.concat([check, check, sshString(KEY_TYPE), sshString(pub), sshString(Buffer.concat([seed, pub])), sshString(comment)]);
  const pad = (8 - (inner.length % 8)) % 8;
  inner = Buffer.concat([inner, Buffer.from(Array.from({ length: pad }, (_, i) => i + 1))]);
  const one = Buffer.alloc(4);
  one.writeUInt32BE(1);
  const body = Buffer.concat([MAGIC, sshString('none'), sshString('none'), sshString(''), one, sshString(publicBlob(pub)), sshString(inner)]);
  const lines = body.toString('base64').match(/.{1,70}/g) ?? [];
  return `-----BEGIN OPENSSH PRIVATE KEY-----\n${lines.join('\n')}\n-----END OPENSSH PRIVATE KEY-----\n`;
}

/** Encodes an Ed25519 public key as an OpenSSH `ssh-ed25519` line. */
export function encodeOpenSshPublic(publicKey: KeyObject, comment: string): string {
  return `${KEY_TYPE} ${publicBlob(rawPublic(publicKey)).toString('base64')} ${comment}\n`;
}

/** Creates a new Ed25519 key pair. */
export function generateSigningKey(comment = 'pm2-gitops'): SigningKeyPair {
  const { privateKey, publicKey } = generateKeyPairSync('ed25519');
  return { privateKey, publicKey, privateText: encodeOpenSshPrivate(privateKey, comment), publicText: encodeOpenSshPublic(publicKey, comment) };
}

/** Parses a private key: OpenSSH (unencrypted Ed25519) or PEM (PKCS#8). Throws on anything else. */
export function parsePrivateKey(text: string): KeyObject {
  if (text.includes('BEGIN OPENSSH PRIVATE KEY')) {
    const body = Buffer.from(text.replace(/-----[^-]+-----/g, '').replace(/\s+/g, ''), 'base64');
    if (!body.subarray(0, MAGIC.length).equals(MAGIC)) throw new Error('not an OpenSSH private key');
    const r = new Reader(body.subarray(MAGIC.length));
    const cipher = r.string().toString();
    r.string(); r.string();
    if (cipher !== 'none') throw new Error('encrypted OpenSSH keys are not supported; use an unencrypted key');
    if (r.uint32() !== 1) throw new Error('expected exactly one key');
    r.string();
    const inner = new Reader(r.string());
    if (inner.uint32() !== inner.uint32()) throw new Error('corrupt OpenSSH private key (check bytes differ)');
    const type = inner.string().toString();
    if (type !== KEY_TYPE) throw new Error(`expected an ${KEY_TYPE} key, got ${type}`);
    const pub = inner.string();
    const secret = inner.string();
    return createPrivateKey({ key: { kty: 'OKP', crv: 'Ed25519', d: b64url(secret.subarray(0, 32)), x: b64url(pub) }, format: 'jwk' });
  }
  const key = createPrivateKey(text);
  if (key.asymmetricKeyType !== 'ed25519') throw new Error(`expected an Ed25519 key, got ${key.asymmetricKeyType}`);
  return key;
}

/** Parses a public key: an OpenSSH `ssh-ed25519` line or PEM (SPKI). Throws on anything else. */
export function parsePublicKey(text: string): KeyObject {
  const trimmed = text.trim();
  if (trimmed.startsWith(KEY_TYPE)) {
    const blob = Buffer.from(trimmed.split(/\s+/)[1] ?? '', 'base64');
    const r = new Reader(blob);
    if (r.string().toString() !== KEY_TYPE) throw new Error('not an ssh-ed25519 key');
    return createPublicKey({ key: { kty: 'OKP', crv: 'Ed25519', x: b64url(r.string()) }, format: 'jwk' });
  }
  const key = createPublicKey(trimmed);
  if (key.asymmetricKeyType !== 'ed25519') throw new Error(`expected an Ed25519 key, got ${key.asymmetricKeyType}`);
  return key;
}

/** A short, stable identifier of a public key: `SHA256:` + base64 of the SSH blob's digest (as ssh-keygen -l prints). */
export function keyId(publicKey: KeyObject): string {
  return `SHA256:${createHash('sha256').update(publicBlob(rawPublic(publicKey))).digest('base64').replace(/=+$/, '')}`;
}
