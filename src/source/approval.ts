/**
 * Approvals (pure): a revision is approved when its tip commit carries a good
 * signature from an allowed signer and enough distinct `Approved-by:` trailers
 * naming allowed signers other than the author (DESIGN.md section 5).
 */
import type { Person } from '../report/evidence.js';

/** One line of an SSH allowed-signers file: principals and the key they own. */
export interface AllowedSigner { principals: string[]; keyType: string; key: string }

/** What git says of a commit. */
export interface CommitFacts {
  sha: string;
  author: Person;
  committer: Person;
  subject: string;
  /** Raw `Approved-by` trailer values. */
  approvedBy: string[];
  signature: {
    /** git's %G?: G good, U good but no allowed principal, B bad, N none, E cannot check, X/Y/R expired/revoked. */
    code: string;
    /** `git verify-commit` exit status was 0. */
    verified: boolean;
    signer?: string;
    key?: string;
    detail: string;
  };
}

export interface ApprovalDecision {
  required: number;
  granted: number;
  ok: boolean;
  approvers: string[];
  reasons: string[];
}

/** Parses an allowed-signers file (ssh-keygen ALLOWED SIGNERS format); ignores comments and blank lines. */
export function parseAllowedSigners(text: string): AllowedSigner[] {
  const out: AllowedSigner[] = [];
  for (const raw of text.split('\n')) {
    const line = raw.trim();
    if (!line || line.startsWith('#')) continue;
    const fields = line.split(/\s+/);
    const principals = (fields[0] ?? '').split(',').map((p) => p.trim().toLowerCase()).filter(Boolean);
    const typeIndex = fields.findIndex((f, i) => i > 0 && /^(ssh-|ecdsa-|sk-)/.test(f));
    if (typeIndex < 0 || !fields[typeIndex + 1]) continue;
    out.push({ principals, keyType: fields[typeIndex]!, key: fields[typeIndex + 1]! });
  }
  return out;
}

/** Pulls the e-mail address out of `Name <email>`, or the text itself when it is an address. */
export function emailOf(text: string): string | undefined {
  const m = /<([^<>\s]+@[^<>\s]+)>/.exec(text) ?? /^([^<>\s]+@[^<>\s]+)$/.exec(text.trim());
  return m ? m[1]!.toLowerCase() : undefined;
}

/** The effective requirement: the controller's floor, raised (never lowered) by the manifest. */
export function requiredApprovals(floor: number, manifest: number | undefined): number {
  return Math.max(floor, manifest ?? 0);
}

/** Decides whether a commit is approved; every reason it is not is listed. */
export function evaluateApproval(commit: CommitFacts, required: number, allowed: readonly AllowedSigner[]): ApprovalDecision {
  if (required <= 0) return { required: 0, granted: 0, ok: true, approvers: [], reasons: [] };
  const reasons: string[] = [];
  const principals = new Set(allowed.flatMap((a) => a.principals));
  const sig = commit.signature;
  const signer = sig.signer ? emailOf(sig.signer) ?? sig.signer.toLowerCase() : undefined;
  if (sig.code === 'N') reasons.push(`commit ${commit.sha.slice(0, 12)} is not signed`);
  else if (sig.code === 'U' || (sig.verified && (!signer || !principals.has(signer)))) reasons.push(`commit ${commit.sha.slice(0, 12)} is signed by a key that is not in the allowed signers (${sig.key ?? 'unknown key'})`);
  else if (!sig.verified || sig.code !== 'G') reasons.push(`signature of commit ${commit.sha.slice(0, 12)} does not verify (${sig.detail || `git status ${sig.code}`})`);
  const author = commit.author.email.toLowerCase();
  const approvers: string[] = [];
  for (const value of commit.approvedBy) {
    const email = emailOf(value);
    if (!email) { reasons.push(`Approved-by "${value}" names no e-mail address`); continue; }
    if (email === author) { reasons.push(`Approved-by ${email} is the commit's author: self-approval does not count`); continue; }
    if (!principals.has(email)) { reasons.push(`Approved-by ${email} is not an allowed signer`); continue; }
    if (!approvers.includes(email)) approvers.push(email);
  }
  if (approvers.length < required) reasons.push(`${approvers.length} of ${required} required approvals from allowed signers other than the author`);
  const signatureOk = sig.verified && sig.code === 'G' && signer !== undefined && principals.has(signer);
  const ok = signatureOk && approvers.length >= required;
  return { required, granted: approvers.length, ok, approvers, reasons: ok ? [] : reasons };
}
