/**
 * Key rotation records (pure): an entry of the evidence chain, in the same
 * hash chain and sequence as the reports, that hands the chain from one
 * signing key to the next. Signed by the new key and, when its private key is
 * still at hand, by the previous key too.
 */
import { sign, verify, type KeyObject } from 'node:crypto';
import { canonicalJson } from './canonical.js';
import { encodeOpenSshPublic, keyId } from './keys.js';

/** An Ed25519 signature of a chain entry. */
export interface EntrySignature { alg: 'Ed25519'; keyId: string; value: string }

/** The record of a key rotation. */
export interface KeyRotation {
  apiVersion: 'pm2-gitops/v1';
  kind: 'KeyRotation';
  environment: string;
  host: string;
  timestamp: string;
  sequence: number;
  /** The key that signed the chain up to here. */
  previousKey: { keyId: string };
  /** The key that signs the chain from here on. */
  newKey: { keyId: string; publicKey: string };
  /** SHA-256 of the previous entry's file, and its name. */
  previous: string | null;
  previousFile?: string;
  /** By the new key. */
  signature?: EntrySignature;
  /** By the previous key; absent when its private key was lost. */
  previousSignature?: EntrySignature;
}

/** What a rotation record is built from. */
export interface RotationInput {
  environment: string;
  host: string;
  timestamp: string;
  sequence: number;
  previousKeyId: string;
  newKey: KeyObject;
  previous: string | null;
  previousFile?: string;
}

/** Builds the unsigned record. */
export function buildRotation(input: RotationInput): KeyRotation {
  return {
    apiVersion: 'pm2-gitops/v1',
    kind: 'KeyRotation',
    environment: input.environment,
    host: input.host,
    timestamp: input.timestamp,
    sequence: input.sequence,
    previousKey: { keyId: input.previousKeyId },
    newKey: { keyId: keyId(input.newKey), publicKey: encodeOpenSshPublic(input.newKey, 'pm2-gitops').trim() },
    previous: input.previous,
    ...(input.previousFile ? { previousFile: input.previousFile } : {}),
  };
}

function signedBytes(record: KeyRotation): Buffer {
  const { signature: _s, previousSignature: _p, ...body } = record;
  return Buffer.from(canonicalJson(body));
}

function signature(record: KeyRotation, privateKey: KeyObject, publicKey: KeyObject): EntrySignature {
  return { alg: 'Ed25519', keyId: keyId(publicKey), value: sign(null, signedBytes(record), privateKey).toString('base64') };
}

/** Signs a record with the new key and, when given, the previous one. */
export function signRotation(record: KeyRotation, next: { privateKey: KeyObject; publicKey: KeyObject }, previous?: { privateKey: KeyObject; publicKey: KeyObject }): KeyRotation {
  return {
    ...record,
    signature: signature(record, next.privateKey, next.publicKey),
    ...(previous ? { previousSignature: signature(record, previous.privateKey, previous.publicKey) } : {}),
  };
}

/** Whether a signature of the record verifies with `publicKey`. */
export function rotationSignatureValid(record: KeyRotation, sig: EntrySignature, publicKey: KeyObject): boolean {
  try {
    return verify(null, signedBytes(record), publicKey, Buffer.from(sig.value, 'base64'));
  } catch {
    return false;
  }
}

/** `20261125T052813123Z-key-rotation.json`: sorts by time among the reports. */
export function rotationFileName(record: Pick<KeyRotation, 'timestamp'>): string {
  return `${record.timestamp.replace(/[-:]/g, '').replace('.', '')}-key-rotation.json`;
}

/** Whether a parsed chain entry is a rotation record. */
export function isRotation(entry: unknown): entry is KeyRotation {
  return typeof entry === 'object' && entry !== null && (entry as { kind?: unknown }).kind === 'KeyRotation';
}

/** The key an entry leaves the chain with: a report's signer, a rotation's new key; undefined for unsigned entries. */
export function chainKeyOf(entry: unknown): string | undefined {
  if (isRotation(entry)) return entry.newKey?.keyId;
  const sig = (entry as { signature?: { keyId?: unknown } } | null)?.signature;
  return typeof sig?.keyId === 'string' ? sig.keyId : undefined;
}

/** A key id as it can stand in a file name (`signing.pub.<this>`). */
export function keyFileSuffix(id: string): string {
  return id.replace(/^SHA256:/, '').replace(/\//g, '_').replace(/\+/g, '-');
}
