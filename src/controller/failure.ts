/**
 * Failures of a reconcile as the status and evidence show them (pure): a
 * machine-readable reason and a one-line message, with no stack, no env
 * value and no URL credentials, whatever the error said.
 */
import { DaemonUnreachableError, ValidationError } from '../domain/errors.js';
import type { FailureReason } from '../domain/failure.js';
import type { DesiredState } from '../domain/manifest.js';
import { redactValue } from '../diff/redact.js';
import type { CommitFacts } from '../source/approval.js';

/** A failure as reported. */
export interface Failure { reason: FailureReason; message: string }

/** The longest failure message kept (a status line, not a log). */
const MESSAGE_MAX = 500;
/** Problems kept in one evidence report; the status file has its own byte budget. */
const EVIDENCE_PROBLEMS_MAX = 200;
/** Env values shorter than this are too common to search for (`1`, `true`, `dev`). */
const SECRET_MIN_LENGTH = 4;

/** The string values of every env map of the given states: what a message must never show. */
export function secretsOf(states: ReadonlyArray<DesiredState | undefined>): string[] {
  const out = new Set<string>();
  for (const state of states) {
    for (const task of state?.tasks ?? []) {
      for (const [key, block] of Object.entries(task.process)) {
        if ((key !== 'env' && !key.startsWith('env_')) || !block || typeof block !== 'object') continue;
        for (const value of Object.values(block as Record<string, unknown>)) {
          const text = String(value);
          if (text.length >= SECRET_MIN_LENGTH) out.add(text);
        }
      }
    }
  }
  // Longest first, so a value containing another is replaced whole.
  return [...out].sort((a, b) => b.length - a.length);
}

/** Replaces env values by their SHA-256 prefix and hides URL credentials. */
export function scrub(text: string, secrets: readonly string[]): string {
  let out = text.replace(/(\b[a-z][a-z0-9+.-]*:\/\/)[^/\s:@]+(:[^/\s@]*)?@/gi, '$1***@');
  for (const secret of secrets) if (out.includes(secret)) out = out.split(secret).join(redactValue(secret));
  return out;
}

/** The first line of an error's message (never its stack), scrubbed and cut to size. */
export function firstLine(err: unknown, secrets: readonly string[] = []): string {
  const raw = err instanceof Error ? err.message : String(err);
  const line = raw.split('\n').map((l) => l.trim()).find(Boolean) ?? (err instanceof Error ? err.name : 'unknown error');
  const clean = scrub(line, secrets);
  return clean.length > MESSAGE_MAX ? `${clean.slice(0, MESSAGE_MAX - 2)} …` : clean;
}

/** Classifies an error thrown by one environment's reconcile. */
export function describeFailure(err: unknown, secrets: readonly string[] = []): Failure {
  if (err instanceof DaemonUnreachableError) return { reason: 'daemon-unreachable', message: firstLine(err, secrets) };
  if (err instanceof ValidationError && err.diagnostics.length) {
    // PM2's own checks (resolveDesired) are the only validation that can fail after render.
    const first = err.diagnostics[0]!;
    const more = err.diagnostics.length > 1 ? ` (and ${err.diagnostics.length - 1} more)` : '';
    return { reason: 'pm2-rejected', message: firstLine(`${first.file}: ${first.message}${more}`, secrets) };
  }
  return { reason: 'internal', message: `internal error: ${firstLine(err, secrets)}` };
}

/** At most EVIDENCE_PROBLEMS_MAX problems, then one line saying how many were left out. */
export function capProblems(problems: readonly string[]): string[] {
  if (problems.length <= EVIDENCE_PROBLEMS_MAX) return [...problems];
  return [...problems.slice(0, EVIDENCE_PROBLEMS_MAX), `… and ${problems.length - EVIDENCE_PROBLEMS_MAX} more problems`];
}

/** Facts of a commit git could not describe: nothing verified, nothing approved. */
export function unknownFacts(sha: string, err: unknown): CommitFacts {
  const nobody = { name: '', email: '' };
  return { sha, author: nobody, committer: nobody, subject: '', approvedBy: [], signature: { code: 'E', verified: false, detail: `cannot read the commit: ${firstLine(err)}` } };
}
