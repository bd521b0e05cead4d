import { capDiagnostics, formatDiagnostic, omittedLine, type Diagnostic } from './diagnostic.js';

/** Exit codes of the CLI, as DESIGN.md section 4 lists them. */
export const EXIT = {
  ok: 0,
  differences: 1,
  invalid: 2,
  notApproved: 3,
  applyFailed: 4,
  verifyFailed: 5,
  unreachable: 6,
  bug: 70,
} as const;

/** Base class: every error the CLI knows carries its exit code. */
export class GitopsError extends Error {
  readonly exitCode: number;
  constructor(message: string, exitCode: number, options?: { cause?: unknown }) {
    super(message, options);
    this.name = new.target.name;
    this.exitCode = exitCode;
  }
}

/**
 * Thrown when manifests, flags or input files are invalid. Carries the first
 * DIAGNOSTIC_LIMIT diagnostics (sorted) and the count of the others
 * (`omitted`, which adds to any the caller already left out), so that neither
 * the message nor anything built from it grows with the number of problems.
 */
export class ValidationError extends GitopsError {
  readonly diagnostics: Diagnostic[];
  /** Problems found but not listed in `diagnostics`. */
  readonly omitted: number;
  constructor(message: string, diagnostics: readonly Diagnostic[] = [], options?: { cause?: unknown; omitted?: number }) {
    const { shown, omitted } = capDiagnostics(diagnostics);
    const more = omitted + (options?.omitted ?? 0);
    const lines = shown.map((d) => `  ${formatDiagnostic(d)}`);
    if (more > 0) lines.push(`  ${omittedLine(more)}`);
    super(lines.length ? `${message}\n${lines.join('\n')}` : message, EXIT.invalid, options?.cause === undefined ? undefined : { cause: options.cause });
    this.diagnostics = shown;
    this.omitted = more;
  }
}

/** Thrown when a revision lacks the signatures or approvals its environment requires. */
export class NotApprovedError extends GitopsError {
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, EXIT.notApproved, options);
  }
}

/** Thrown when one or more actions of an apply failed. */
export class ApplyError extends GitopsError {
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, EXIT.applyFailed, options);
  }
}

/** Thrown when evidence signatures or the hash chain do not verify. */
export class VerifyError extends GitopsError {
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, EXIT.verifyFailed, options);
  }
}

/** Thrown when git or the PM2 daemon cannot be reached. */
export class UnreachableError extends GitopsError {
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, EXIT.unreachable, options);
  }
}

/** Thrown when the PM2 daemon is gone, refuses connections or does not answer within a call's time limit. */
export class DaemonUnreachableError extends UnreachableError {}

/** Thrown when the manifest repository cannot be fetched; `branchDeleted` when it answers but the branch is gone. */
export class SourceUnreachableError extends UnreachableError {
  readonly branchDeleted: boolean;
  constructor(message: string, options?: { cause?: unknown; branchDeleted?: boolean }) {
    super(message, options);
    this.branchDeleted = options?.branchDeleted ?? false;
  }
}

/**
 * Thrown when another controller holds what this command needs (an
 * environment on this PM2 daemon, a state dir) or when the evidence chain's
 * signing key does not match: refused before anything runs changes (exit 2).
 */
export class ConflictError extends GitopsError {
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, EXIT.invalid, options);
  }
}
