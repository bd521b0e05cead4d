/**
 * Verifies an evidence chain (pure): every entry's signature, the hash chain,
 * the sequence, file names against contents, which key signs which stretch of
 * the chain (key rotation records hand it from one key to the next), and the
 * newest report against the status file. Tampering is a problem; a revision
 * that is gone from the repository is a warning, since the evidence itself
 * still verifies.
 */
import type { KeyObject } from 'node:crypto';
import { chainHash, evidenceFileName, reportSignatureValid, type EvidenceReport } from './evidence.js';
import { keyId } from './keys.js';
import { isRotation, rotationFileName, rotationSignatureValid, type KeyRotation } from './rotation.js';

/** Something that does not verify: the chain was changed, or signed by a key not trusted. */
export interface VerifyProblem { file: string; message: string }

/** Something worth knowing that is not tampering (exit 0). */
export interface VerifyWarning { file: string; message: string }

/** The outcome of verifying one chain. */
export interface VerifyResult {
  ok: boolean;
  checked: number;
  rotations: number;
  problems: VerifyProblem[];
  warnings: VerifyWarning[];
}

/** One file of the chain: its path and bytes. */
export interface EvidenceFile { name: string; text: string }

/** Trusted public keys by key id. */
export type Keyring = ReadonlyMap<string, KeyObject>;

/** A keyring of the given public keys. */
export function buildKeyring(keys: readonly KeyObject[]): Map<string, KeyObject> {
  return new Map(keys.map((k) => [keyId(k), k]));
}

/** What verification needs besides the files. */
export interface VerifyOptions {
  /** Why a revision is gone from the repository, or undefined while it is there. */
  revisionGone?: (sha: string) => string | undefined;
  /** The newest report as the status file names it. */
  head?: { name: string; hash: string };
}

interface Walk {
  ring: Keyring;
  opts: VerifyOptions;
  problems: VerifyProblem[];
  warnings: VerifyWarning[];
  /** The key that signs the chain at this point (set by its first entry, moved by rotations). */
  active?: string;
  rotations: number;
}

const baseName = (name: string): string => name.split('/').pop()!;

function checkReport(w: Walk, file: string, report: EvidenceReport): void {
  const sig = report.signature;
  if (!sig) {
    w.problems.push({ file, message: 'unsigned report' });
    return;
  }
  const key = w.ring.get(sig.keyId);
  if (!key) w.problems.push({ file, message: `signed by key ${sig.keyId}, which is not among the given public keys` });
  else if (!reportSignatureValid(report, key)) w.problems.push({ file, message: 'signature does not verify: the report was changed or signed by another key' });
  if (w.active === undefined) w.active = sig.keyId;
  else if (sig.keyId !== w.active) {
    w.problems.push({ file, message: `signed by key ${sig.keyId}, but the chain is signed by ${w.active} at this point: a report signed by a later key placed before its key rotation, or a key change without a rotation record` });
  }
  const sha = report.provenance?.revision;
  const gone = sha && w.opts.revisionGone ? w.opts.revisionGone(sha) : undefined;
  if (gone) w.warnings.push({ file, message: `revision ${sha} gone from the remote: ${gone}` });
}

function checkRotation(w: Walk, file: string, r: KeyRotation): void {
  w.rotations++;
  const from = r.previousKey?.keyId;
  const to = r.newKey?.keyId;
  if (!from || !to) {
    w.problems.push({ file, message: 'key rotation record names no previous or no new key' });
    return;
  }
  if (w.active !== undefined && from !== w.active) {
    const why = w.active === to ? `: a report signed by the new key ${to} placed before its key rotation` : '';
    w.problems.push({ file, message: `key rotation from ${from}, but the chain is signed by ${w.active} at this point${why}` });
  }
  const next = w.ring.get(to);
  if (!next) w.problems.push({ file, message: `key rotation to ${to}, which is not among the given public keys: give it with --public-key to accept the reports after the rotation` });
  else if (!r.signature || r.signature.keyId !== to || !rotationSignatureValid(r, r.signature, next)) {
    w.problems.push({ file, message: 'the new key\'s signature does not verify: the key rotation record was changed' });
  }
  if (r.previousSignature) {
    const prev = w.ring.get(from);
    if (!prev) w.problems.push({ file, message: `signed by the previous key ${from}, which is not among the given public keys` });
    else if (r.previousSignature.keyId !== from || !rotationSignatureValid(r, r.previousSignature, prev)) {
      w.problems.push({ file, message: 'the previous key\'s signature does not verify: the key rotation record was changed' });
    }
  } else if (next) {
    w.warnings.push({ file, message: `the key rotation from ${from} to ${to} was not signed by the previous key (its private key was lost); ${to} is accepted because it was given with --public-key` });
  }
  w.active = to;
}

function expectedName(entry: EvidenceReport | KeyRotation): string | undefined {
  if (isRotation(entry)) return entry.timestamp ? rotationFileName(entry) : undefined;
  return entry.timestamp && entry.provenance ? evidenceFileName(entry) : undefined;
}

function checkHead(files: readonly EvidenceFile[], head: { name: string; hash: string }, problems: VerifyProblem[]): void {
  // Only key rotation records may follow the newest report: a rotation writes no status.
  const at = files.findIndex((f) => baseName(f.name) === head.name);
  const rotationsOnly = files.slice(at + 1).every((f) => { try { return isRotation(JSON.parse(f.text)); } catch { return false; } });
  if (at >= 0 && chainHash(files[at]!.text) === head.hash && rotationsOnly) return;
  const last = files.filter((f) => { try { return !isRotation(JSON.parse(f.text)); } catch { return true; } }).pop();
  problems.push({ file: head.name, message: `the status file names ${head.name} as the newest report, but the chain ends at ${last?.name ?? 'nothing'}` });
}

/**
 * Verifies the chain of one environment (files in any order) against the
 * trusted public keys: each entry must be signed by the key the chain is at,
 * and that key must be one of them.
 */
export function verifyEvidence(files: readonly EvidenceFile[], keys: Keyring | KeyObject, opts: VerifyOptions = {}): VerifyResult {
  const sorted = [...files].sort((a, b) => a.name.localeCompare(b.name));
  const present = new Set(sorted.map((f) => baseName(f.name)));
  const w: Walk = { ring: keys instanceof Map ? keys : buildKeyring([keys as KeyObject]), opts, problems: [], warnings: [], rotations: 0 };
  let previousText: string | undefined;
  let previousSequence: number | undefined;
  for (const file of sorted) {
    let entry: EvidenceReport | KeyRotation;
    try {
      entry = JSON.parse(file.text) as EvidenceReport | KeyRotation;
    } catch (err) {
      w.problems.push({ file: file.name, message: `not valid JSON: ${(err as Error).message}` });
      previousText = file.text;
      continue;
    }
    if (isRotation(entry)) checkRotation(w, file.name, entry);
    else checkReport(w, file.name, entry);
    const expected = expectedName(entry);
    if (expected && expected !== baseName(file.name)) w.problems.push({ file: file.name, message: `file name does not match the report (expected ${expected})` });
    if (entry.previousFile && !present.has(entry.previousFile)) {
      w.problems.push({ file: entry.previousFile, message: `missing: ${file.name} names it as the report before it (sequence ${entry.sequence - 1})` });
    }
    const link = previousText === undefined ? null : chainHash(previousText);
    if (entry.previous !== link) {
      w.problems.push({ file: file.name, message: link === null ? 'first report of the chain points at a previous report that is missing' : 'hash chain broken: "previous" does not match the report before it (a report was changed, removed or reordered)' });
    }
    if (previousSequence !== undefined && entry.sequence !== previousSequence + 1) {
      w.problems.push({ file: file.name, message: `sequence ${entry.sequence} follows ${previousSequence}: a report is missing or out of order` });
    }
    previousText = file.text;
    previousSequence = entry.sequence;
  }
  if (opts.head) checkHead(sorted, opts.head, w.problems);
  return { ok: w.problems.length === 0, checked: sorted.length, rotations: w.rotations, problems: w.problems, warnings: w.warnings };
}
