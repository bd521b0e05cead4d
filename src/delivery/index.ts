/**
 * The delivery stage. Input: rendered tasks (as CodeTask) and a revision (a
 * mirror commit) or a working tree; output: each task's code identity
 * (TaskCode: source blobs, code digest, install key) and immutable builds in
 * a store under the state dir, linked at stable paths.
 *
 * - Pure: source.ts (which paths are a task's code), digest.ts (code digest,
 *   install key), output.ts (redaction, bounds), step-env.ts, gc-plan.ts,
 *   failure.ts, layout.ts.
 * - I/O: read-code.ts (git listings), prepare.ts (builds), links.ts (stable
 *   paths), gc.ts (garbage collection).
 */
export type {
  Build, BuildEvent, BuildFailure, BuildRecord, BuildSpec, BlobEntry, CodeSnapshot, CodeTask, NormalizedBuild,
  PrepareResult, StepKind, StepRecord, TaskCode, TaskSource,
} from './types.js';
export { candidatePaths, isProgram, resolveSource, sourceProblems, type SourceProblem } from './source.js';
export { codeDigest, DEFAULT_BUILD_TIMEOUT_SECONDS, installKey, INSTALL_INPUTS, normalizeBuild, taskCode } from './digest.js';
export { readCommitCode, readWorkingTreeCode, type ReadCodeInput } from './read-code.js';
export { hasBuild, prepareBuild, type PrepareBuildInput } from './prepare.js';
export { deliveredProcess, linkedDigest, listLinks, removeLink, switchLink, type LinkTarget } from './links.js';
export { collectBuilds, DEFAULT_KEEP_BUILDS, type CollectBuildsInput, type CollectBuildsResult } from './gc.js';
export { formatBuildFailure } from './failure.js';
export { buildDir, linkPath } from './layout.js';
export { stepEnv, PASSED_VARIABLES } from './step-env.js';
