/**
 * Evidence reports (pure): build and sign the signed, hash-chained record of
 * one reconcile. Files hold canonical JSON; the chain links each report to the
 * SHA-256 of the previous file's bytes (verify-evidence.ts checks a chain).
 */
import { createHash, sign, verify, type KeyObject } from 'node:crypto';
import type { FailureReason } from '../domain/failure.js';
import type { Policy } from '../domain/manifest.js';
import type { ActionResult, Drift } from '../domain/plan.js';
import { canonicalJson } from './canonical.js';
import { keyId } from './keys.js';

export interface Person { name: string; email: string }

/** Where a revision came from and who let it in. */
export interface Provenance {
  revision: string;
  author?: Person;
  committer?: Person;
  subject?: string;
  signature: { verified: boolean; signer?: string; key?: string; detail: string };
  approvers: string[];
}

/** Which policies were checked, and what they said. */
export interface Precedence {
  policy: Policy;
  approvals: { required: number; granted: number; ok: boolean; reasons: string[] };
}

/** `held`: the plan would delete more than the prune limit allows; nothing of it ran. */
/**
 * How a reconcile ended. `suspended`: the environment is suspended, observed
 * and never changed; `waiting`: a new revision waits for its sync window or
 * for the next retry of a failed apply, the running one keeps running.
 */
export type Outcome = 'converged' | 'failed' | 'rolled-back' | 'not-approved' | 'invalid' | 'held' | 'suspended' | 'waiting';

export interface EvidenceInput {
  environment: string;
  host: string;
  timestamp: string;
  sequence: number;
  outcome: Outcome;
  /** Why a `failed` outcome failed (domain/failure.ts). */
  reason?: FailureReason;
  provenance: Provenance;
  precedence: Precedence;
  /** Digest of the rendered desired state and of the ecosystem it corresponds to. */
  reproducibility: { desiredDigest?: string; ecosystemDigest?: string };
  drifts: Drift[];
  actions: ActionResult[];
  liveDigest: string;
  /** Problems that stopped the reconcile (validation, approval), as text. */
  problems: string[];
  /** Set when this reconcile returned to an earlier revision. */
  rollback?: { from: string; to: string; reason: string };
  /** A reconcile that was interrupted before it could report, completed by this one. */
  resumed?: { revision: string; plannedActions: number };
  /** SHA-256 of the previous report file, or null for the first. */
  previous: string | null;
  /** File name of the previous report, so a deleted report can be named. */
  previousFile?: string;
  /** Id of the controller pass that wrote it: its log lines and API events carry the same. */
  correlationId?: string;
}

export interface EvidenceReport extends EvidenceInput {
  apiVersion: 'pm2-gitops/v1';
  kind: 'EvidenceReport';
  signature?: { alg: 'Ed25519'; keyId: string; value: string };
}

/** Builds the unsigned report. */
export function buildEvidence(input: EvidenceInput): EvidenceReport {
  return { apiVersion: 'pm2-gitops/v1', kind: 'EvidenceReport', ...input };
}

function signedBytes(report: EvidenceReport): Buffer {
  const { signature: _signature, ...body } = report;
  return Buffer.from(canonicalJson(body));
}

/** Whether a report's signature verifies with `publicKey` (false when unsigned). */
export function reportSignatureValid(report: EvidenceReport, publicKey: KeyObject): boolean {
  if (!report.signature) return false;
  try {
    return verify(null, signedBytes(report), publicKey, Buffer.from(report.signature.value, 'base64'));
  } catch {
    return false;
  }
}

/** Signs a report with an Ed25519 private key (over its canonical JSON without the signature). */
export function signEvidence(report: EvidenceReport, privateKey: KeyObject, publicKey: KeyObject): EvidenceReport {
  const value = sign(null, signedBytes(report), privateKey).toString('base64');
  return { ...report, signature: { alg: 'Ed25519', keyId: keyId(publicKey), value } };
}

/** The file bytes of a report: canonical JSON and a newline. */
export function serializeEvidence(report: EvidenceReport): string {
  return `${canonicalJson(report)}\n`;
}

/** SHA-256 (hex) of a report file's bytes: what the next report's `previous` holds. */
export function chainHash(fileText: string): string {
  return createHash('sha256').update(fileText).digest('hex');
}

/** `20261125T052813123Z-<revision12>.json`: sorts by time. */
export function evidenceFileName(report: Pick<EvidenceReport, 'timestamp' | 'provenance'>): string {
  const stamp = report.timestamp.replace(/[-:]/g, '').replace('.', '');
  return `${stamp}-${report.provenance.revision.replace(/[^0-9a-zA-Z]/g, '').slice(0, 12) || 'none'}.json`;
}
