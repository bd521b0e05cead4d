/**
 * Plain data of the delivery stage: what a task's code is (its source, its
 * blobs, its digests) and what the build store records about a build.
 */

/** `spec.build` as a Task manifest declares it. */
export interface BuildSpec {
  /** The dependency install command, e.g. `npm ci --omit=dev`; run by `sh -c` in the task's cwd. */
  install?: string;
  /** Build commands, run in order after the install, each by `sh -c` in the task's cwd. */
  run?: string | readonly string[];
  /** Limit for the whole build (install and every run step together); default 600. */
  timeoutSeconds?: number;
}

/** `spec.build` with its defaults filled in. */
export interface NormalizedBuild {
  install?: string;
  run: readonly string[];
  timeoutSeconds: number;
}

/** What the delivery stage needs to know of one rendered task. */
export interface CodeTask {
  /** The PM2 app name (after namePrefix); names the task's folder in the build store. */
  name: string;
  /**
   * The task's cwd as rendered: repository-relative POSIX (`.` is the root);
   * an absolute path is code outside the repository (`--allow-root`), tracked through the manifest only.
   */
  cwd: string;
  /** Whether the manifest (or a patch) declared `process.cwd`; if not, the default source is the script's folder (the cwd for an inline command). */
  cwdDeclared: boolean;
  /** `process.script` as rendered: relative to cwd, or a program on PATH such as `sleep`. */
  script: string;
  /** `spec.source`: repository-relative folders and files that are this task's code. */
  source?: readonly string[];
  build?: BuildSpec;
  /** The task's manifest file (repository-relative), named in diagnostics. */
  file?: string;
}

/** Which part of the repository is a task's code. */
export type TaskSource =
  /** Normalised repository-relative paths, sorted, none inside another; `.` alone is the whole repository. */
  | { kind: 'paths'; paths: readonly string[] }
  /** No files: a program on PATH, or code outside the repository. */
  | { kind: 'none'; reason: 'program' | 'external' };

/** One entry of a git tree listing: what `git ls-tree -r` and `git ls-files -s` print. */
export interface BlobEntry {
  /** Octal file mode as git writes it: 100644, 100755, 120000 (symlink), 160000 (submodule). */
  mode: string;
  /** Object id of the blob (or of the submodule's commit). */
  oid: string;
  /** Repository-relative POSIX path. */
  path: string;
}

/** The code identity of one task at one revision (or one state of a working tree). */
export interface TaskCode {
  task: string;
  /** Repository-relative cwd, as in CodeTask. */
  cwd: string;
  /** The script relative to cwd; for a program on PATH, its name. */
  script: string;
  /** Whether `script` is a program on PATH (nothing to check in the build). */
  program: boolean;
  source: TaskSource;
  build: NormalizedBuild;
  /** The blobs of the source, manifest files left out, sorted by path: exactly what a build of it holds. */
  files: readonly BlobEntry[];
  /** SHA-256 (64 hex) over the files and the build inputs. */
  codeDigest: string;
  /** SHA-256 (64 hex) over package.json, the lockfiles and `.npmrc` in cwd, and the install command; only with an install step. */
  installKey?: string;
}

/** The code of every task, read from one commit or one working tree state. */
export interface CodeSnapshot {
  /** The git directory that holds every listed blob; builds are exported from it. */
  gitDir: string;
  /** One entry per task asked for, in the same order. */
  tasks: TaskCode[];
}

/** The steps of a build, in the order they run. */
export type StepKind = 'export' | 'install' | 'run' | 'check';

/** What the build store records about one step. */
export interface StepRecord {
  kind: StepKind;
  /** The command (`sh -c`), env values in it redacted; absent for export and check. */
  command?: string;
  status: 'ok' | 'failed' | 'reused';
  /** For a reused install: the code digest of the build whose installed folders were copied. */
  reusedFrom?: string;
  exitCode?: number | null;
  signal?: string | null;
  timedOut?: boolean;
  startedAt: string;
  durationMs: number;
  /** The last 64 KiB of the step's output (stdout and stderr as they came), env values redacted. */
  output?: string;
  /** Why export or check failed, or what a finished install left that cannot run. */
  message?: string;
}

/** The record of a build: `builds/<task>/<digest>.json` when complete, `failures/<task>/<digest>.json` when not. */
export interface BuildRecord {
  version: 1;
  task: string;
  codeDigest: string;
  installKey?: string;
  /** The revision the build was first made from (for people; the digest is what counts). */
  revision?: string;
  status: 'ok' | 'failed';
  cwd: string;
  script: string;
  build: NormalizedBuild;
  /** Folders the install created (repository-relative), copied into a build that reuses the install. */
  installed?: readonly string[];
  steps: StepRecord[];
  createdAt: string;
  lastUsedAt: string;
}

/** Why a build could not be prepared: task, step, exit code and the tail of the output, secrets redacted. */
export interface BuildFailure {
  task: string;
  codeDigest: string;
  revision?: string;
  step: StepKind;
  /** For a `run` step: its index in `build.run`. */
  index?: number;
  command?: string;
  exitCode: number | null;
  signal: string | null;
  timedOut: boolean;
  /** One line: what failed and how. */
  message: string;
  /** The last lines (at most 40) of the failed step's output. */
  tail: readonly string[];
  at: string;
  /** True when this is a failure recorded earlier, returned without running anything again. */
  recorded: boolean;
}

/** A complete build, ready to be linked. */
export interface Build {
  task: string;
  codeDigest: string;
  /** Absolute path of the immutable build directory (the repository layout of the task's source). */
  dir: string;
  record: BuildRecord;
}

/** The outcome of `prepareBuild`. */
export type PrepareResult =
  | { kind: 'ready'; build: Build; reused: boolean }
  | { kind: 'failed'; failure: BuildFailure };

/** Progress of a build for people (`apply` in a terminal): each step as it starts and as it ends. */
export type BuildEvent =
  | { phase: 'start'; task: string; step: StepKind; command?: string }
  | { phase: 'end'; task: string; step: StepKind; command?: string; status: StepRecord['status']; exitCode?: number | null; durationMs: number };
