/**
 * Code digests (pure): a task's source as git blobs → its code digest and its
 * install key. Both are SHA-256 over a canonical description (JSON of arrays,
 * so no key order is involved), written out in full (64 hex): they name build
 * directories and are compared across machines and revisions, where a short
 * prefix would buy nothing and would open the door to collisions.
 */
import { createHash } from 'node:crypto';
import { posix } from 'node:path';
import type { BlobEntry, BuildSpec, CodeTask, NormalizedBuild, TaskCode } from './types.js';
import { isProgram, pathWithin, resolveSource } from './source.js';

/** Default limit of a whole build, in seconds. */
export const DEFAULT_BUILD_TIMEOUT_SECONDS = 600;

/** Files in the task's cwd whose content decides what the install produces. */
export const INSTALL_INPUTS = ['package.json', 'package-lock.json', 'npm-shrinkwrap.json', 'yarn.lock', 'pnpm-lock.yaml', '.npmrc'] as const;

/** `spec.build` with defaults: no install, no run steps, 600 s. */
export function normalizeBuild(spec: BuildSpec | undefined): NormalizedBuild {
  const run = spec?.run === undefined ? [] : typeof spec.run === 'string' ? [spec.run] : [...spec.run];
  const out: NormalizedBuild = { run, timeoutSeconds: spec?.timeoutSeconds ?? DEFAULT_BUILD_TIMEOUT_SECONDS };
  if (spec?.install !== undefined && spec.install.trim() !== '') out.install = spec.install;
  return out;
}

function compare(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}

/** Entries sorted by path (code unit order, the same on every machine), one per path. */
export function sortListing(entries: Iterable<BlobEntry>): BlobEntry[] {
  const byPath = new Map<string, BlobEntry>();
  for (const e of entries) byPath.set(e.path, e);
  return [...byPath.values()].sort((a, b) => compare(a.path, b.path));
}

/** Index of the first entry whose path is not below `path`. */
function lowerBound(listing: readonly BlobEntry[], path: string): number {
  let lo = 0;
  let hi = listing.length;
  while (lo < hi) {
    const mid = (lo + hi) >>> 1;
    if (listing[mid]!.path < path) lo = mid + 1;
    else hi = mid;
  }
  return lo;
}

/** The entry at exactly `path` in a sorted listing. */
export function entryAt(listing: readonly BlobEntry[], path: string): BlobEntry | undefined {
  const e = listing[lowerBound(listing, path)];
  return e?.path === path ? e : undefined;
}

/** The entries of a sorted listing that are `root` or lie inside it. */
export function entriesWithin(listing: readonly BlobEntry[], root: string): BlobEntry[] {
  if (root === '.') return [...listing];
  const out: BlobEntry[] = [];
  const exact = entryAt(listing, root);
  if (exact) out.push(exact);
  const prefix = `${root}/`;
  for (let i = lowerBound(listing, prefix); i < listing.length && listing[i]!.path.startsWith(prefix); i++) out.push(listing[i]!);
  return out;
}

/** The blobs of `paths` in a sorted listing, manifest files left out, sorted by path. */
export function selectFiles(listing: readonly BlobEntry[], paths: readonly string[], manifestFiles: ReadonlySet<string>): BlobEntry[] {
  const out: BlobEntry[] = [];
  for (const root of paths) for (const e of entriesWithin(listing, root)) if (!manifestFiles.has(e.path)) out.push(e);
  return sortListing(out);
}

function sha256(text: string): string {
  return createHash('sha256').update(text).digest('hex');
}

/**
 * The code digest: the blobs (mode, id, path) and the build's inputs (the
 * install and run commands, and the cwd they run in when there are any).
 * Env values, the script and the timeout are not part of it: they change
 * the process, not the build.
 */
export function codeDigest(input: { files: readonly BlobEntry[]; cwd: string; build: NormalizedBuild }): string {
  const steps = input.build.install !== undefined || input.build.run.length > 0;
  return sha256(JSON.stringify([
    'pm2-gitops/code/v1',
    steps ? input.cwd : null,
    input.build.install ?? null,
    input.build.run,
    input.files.map((f) => [f.mode, f.oid, f.path]),
  ]));
}

/**
 * The install key: package.json, lockfiles and `.npmrc` of the cwd (by blob
 * id), the cwd and the install command. An install is reused while it is
 * equal; undefined without an install step.
 */
export function installKey(input: { files: readonly BlobEntry[]; cwd: string; install?: string }): string | undefined {
  if (input.install === undefined) return undefined;
  const inputs: Array<[string, string]> = [];
  for (const name of INSTALL_INPUTS) {
    const entry = entryAt(input.files, input.cwd === '.' ? name : posix.join(input.cwd, name));
    if (entry) inputs.push([name, entry.oid]);
  }
  return sha256(JSON.stringify(['pm2-gitops/install/v1', input.cwd, input.install, inputs]));
}

/**
 * The code identity of a task from a sorted listing that covers its source.
 * `isFile` defaults to "has an entry in the listing". Throws ValidationError
 * on `spec.source` entries outside the repository.
 */
export function taskCode(task: CodeTask, listing: readonly BlobEntry[], manifestFiles: ReadonlySet<string>, isFile?: (path: string) => boolean): TaskCode {
  const fileCheck = isFile ?? ((path: string) => entryAt(listing, path) !== undefined);
  const source = resolveSource(task, fileCheck);
  const files = source.kind === 'paths' ? selectFiles(listing, source.paths, manifestFiles) : [];
  const build = normalizeBuild(task.build);
  const code: TaskCode = {
    task: task.name,
    cwd: task.cwd,
    script: task.script,
    program: isProgram(task, fileCheck),
    source,
    build,
    files,
    codeDigest: codeDigest({ files, cwd: task.cwd, build }),
  };
  const key = installKey({ files, cwd: task.cwd, install: build.install });
  if (key !== undefined) code.installKey = key;
  return code;
}

/** Whether every path of `paths` lies inside one of `listed` (so a listing of `listed` covers it). */
export function covered(paths: readonly string[], listed: readonly string[]): boolean {
  return paths.every((p) => listed.some((root) => pathWithin(p, root)));
}
