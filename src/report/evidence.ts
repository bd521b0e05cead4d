/**
 * Evidence reports (pure): build, sign and verify the signed, hash-chained
 * record of one reconcile. Files hold canonical JSON; the chain links each
 * report to the SHA-256 of the previous file's bytes.
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

export type Outcome = 'converged' | 'failed' | 'rolled-back' | 'not-approved' | 'invalid';

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

export interface VerifyProblem { file: string; message: string }

export interface VerifyResult {
  ok: boolean;
  checked: number;
  problems: VerifyProblem[];
}

export interface EvidenceFile { name: string; text: string }

/**
 * Verifies a chain of report files (one environment, any order given): each
 * signature, each link to the file before it, file names against contents,
 * revisions against the repository, and the newest against `head` when known.
 */
export function verifyEvidence(files: readonly EvidenceFile[], publicKey: KeyObject, opts: { revisionExists?: (sha: string) => boolean; head?: { name: string; hash: string } } = {}): VerifyResult {
  const sorted = [...files].sort((a, b) => a.name.localeCompare(b.name));
  const present = new Set(sorted.map((f) => f.name.split('/').pop()!));
  const problems: VerifyProblem[] = [];
  let previousText: string | undefined;
  let previousSequence: number | undefined;
  for (const file of sorted) {
    let report: EvidenceReport;
    try {
      report = JSON.parse(file.text) as EvidenceReport;
    } catch (err) {
      problems.push({ file: file.name, message: `not valid JSON: ${(err as Error).message}` });
      previousText = file.text;
      continue;
    }
    if (!report.signature) problems.push({ file: file.name, message: 'unsigned report' });
    else if (!verify(null, signedBytes(report), publicKey, Buffer.from(report.signature.value, 'base64'))) {
      problems.push({ file: file.name, message: 'signature does not verify: the report was changed or signed by another key' });
    }
    const base = file.name.split('/').pop()!;
    if (report.timestamp && report.provenance && evidenceFileName(report) !== base) {
      problems.push({ file: file.name, message: `file name does not match the report (expected ${evidenceFileName(report)})` });
    }
    const expected = previousText === undefined ? null : chainHash(previousText);
    if (report.previousFile && !present.has(report.previousFile)) {
      problems.push({ file: report.previousFile, message: `missing: ${file.name} names it as the report before it (sequence ${report.sequence - 1})` });
    }
    if (report.previous !== expected) {
      problems.push({ file: file.name, message: expected === null ? 'first report of the chain points at a previous report that is missing' : 'hash chain broken: "previous" does not match the report before it (a report was changed, removed or reordered)' });
    }
    if (previousSequence !== undefined && report.sequence !== previousSequence + 1) {
      problems.push({ file: file.name, message: `sequence ${report.sequence} follows ${previousSequence}: a report is missing or out of order` });
    }
    const sha = report.provenance?.revision;
    if (sha && opts.revisionExists && !opts.revisionExists(sha)) {
      problems.push({ file: file.name, message: `revision ${sha} does not exist in the repository` });
    }
    previousText = file.text;
    previousSequence = report.sequence;
  }
  const last = sorted[sorted.length - 1];
  if (opts.head && (!last || last.name.split('/').pop() !== opts.head.name || chainHash(last.text) !== opts.head.hash)) {
    problems.push({ file: opts.head.name, message: `the status file names ${opts.head.name} as the newest report, but the chain ends at ${last?.name ?? 'nothing'}` });
  }
  return { ok: problems.length === 0, checked: sorted.length, problems };
}
