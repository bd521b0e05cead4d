/**
 * Reading task code from git (I/O): the blobs of every task's source, from a
 * commit of a (bare) mirror or from a working tree, dirty or not a repository
 * at all. Both give the same listing for the same content, so the same digest.
 */
import { createHash } from 'node:crypto';
import { existsSync, lstatSync, mkdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { UnreachableError } from '../domain/errors.js';
import { covered, entryAt, sortListing, taskCode } from './digest.js';
import { parseListing, runGit } from './git.js';
import { withLock } from './locking.js';
import { candidatePaths, coverPaths, resolveSource } from './source.js';
import type { BlobEntry, CodeSnapshot, CodeTask } from './types.js';

/** What both readers take. */
export interface ReadCodeInput {
  tasks: readonly CodeTask[];
  /** Repository-relative paths of the loaded manifest files: never part of any task's code. */
  manifestFiles: readonly string[];
}

async function lsTree(gitDir: string, commit: string, paths: readonly string[]): Promise<BlobEntry[]> {
  if (paths.length === 0) return [];
  const spec = paths.includes('.') ? [] : ['--', ...paths];
  try {
    const r = await runGit([`--git-dir=${gitDir}`, 'ls-tree', '-r', '-z', '--full-tree', commit, ...spec]);
    return parseListing(r.stdout, 'ls-tree');
  } catch (err) {
    throw new UnreachableError(`cannot list commit ${commit} in ${gitDir}`, { cause: err });
  }
}

/**
 * The code of every task at `commit` of the git dir `gitDir` (a bare mirror):
 * one `git ls-tree -r` for all tasks, and a second one only when a bare script
 * name turns out to be a file whose folder was not listed yet. No checkout.
 * Throws UnreachableError when git cannot list the commit.
 */
export async function readCommitCode(input: ReadCodeInput & { gitDir: string; commit: string }): Promise<CodeSnapshot> {
  const first = coverPaths(input.tasks.flatMap(candidatePaths));
  let listing = sortListing(await lsTree(input.gitDir, input.commit, first));
  const isFile = (path: string): boolean => entryAt(listing, path) !== undefined;
  const wanted = input.tasks.flatMap((t) => { const s = resolveSource(t, isFile); return s.kind === 'paths' ? s.paths : []; });
  const missing = coverPaths(wanted.filter((p) => !covered([p], first)));
  if (missing.length) listing = sortListing([...listing, ...(await lsTree(input.gitDir, input.commit, missing))]);
  const manifests = new Set(input.manifestFiles);
  return { gitDir: input.gitDir, tasks: input.tasks.map((t) => taskCode(t, listing, manifests)) };
}

function sha256(text: string): string {
  return createHash('sha256').update(text).digest('hex');
}

function writeIfChanged(file: string, text: string): void {
  if (existsSync(file) && readFileSync(file, 'utf8') === text) return;
  writeFileSync(file, text);
}

/** The enclosing repository of a working tree, when it is in one: its objects, its exclude file, the tree of HEAD at `dir`. */
async function enclosingRepository(dir: string): Promise<{ objects: string; exclude: string; tree?: string } | undefined> {
  // One call: `HEAD:./` is the tree of `dir` itself in HEAD. Without HEAD (no commit yet, or `dir` is new) git still
  // prints the paths before it fails on that revision; outside a repository it prints nothing.
  const r = await runGit(['rev-parse', '--path-format=absolute', '--git-path', 'objects', '--git-path', 'info/exclude', 'HEAD:./'], { cwd: dir, okCodes: [0, 128] });
  const [objects = '', exclude = '', tree = ''] = r.stdout.toString('utf8').split('\n');
  if (!objects.startsWith('/') || !exclude.startsWith('/')) return undefined;
  return { objects, exclude, ...(r.code === 0 && /^[0-9a-f]{40,64}$/.test(tree) ? { tree } : {}) };
}

/**
 * Prepares the private git dir of a working tree: objects borrowed from the
 * enclosing repository (alternates), its exclude file, and the index seeded
 * from HEAD whenever HEAD moved, so tracked files count even where a
 * .gitignore would skip them, as they do in a commit.
 */
async function preparePrivateIndex(dir: string, gitDir: string, env: Record<string, string>): Promise<void> {
  if (!existsSync(join(gitDir, 'HEAD'))) {
    await runGit(['init', '--bare', '--quiet', gitDir]);
    await runGit([`--git-dir=${gitDir}`, 'config', 'gc.auto', '0']);
  }
  const repo = await enclosingRepository(dir);
  mkdirSync(join(gitDir, 'objects', 'info'), { recursive: true });
  mkdirSync(join(gitDir, 'info'), { recursive: true });
  writeIfChanged(join(gitDir, 'objects', 'info', 'alternates'), repo ? `${repo.objects}\n` : '');
  writeIfChanged(join(gitDir, 'info', 'exclude'), repo && existsSync(repo.exclude) ? readFileSync(repo.exclude, 'utf8') : '');
  const seedFile = join(gitDir, 'seed');
  const seed = repo?.tree ?? '';
  if (!seed || (existsSync(seedFile) && readFileSync(seedFile, 'utf8') === seed)) return;
  // `-m -i` keeps the stat data of unchanged entries (a re-seed costs no re-hashing) and never looks at the work tree.
  const merge = existsSync(env.GIT_INDEX_FILE!) ? ['-m', '-i'] : [];
  await runGit([`--git-dir=${gitDir}`, `--work-tree=${dir}`, 'read-tree', ...merge, seed], { cwd: dir, env });
  writeFileSync(seedFile, seed);
}

/** Stages `paths` of the working tree into the private index as `git add -A` would, and lists them. */
async function stageAndList(dir: string, gitDir: string, env: Record<string, string>, paths: readonly string[]): Promise<BlobEntry[]> {
  const git = (args: string[], okCodes?: number[]) => runGit([`--git-dir=${gitDir}`, `--work-tree=${dir}`, ...args], { cwd: dir, env, ...(okCodes ? { okCodes } : {}) });
  const present = paths.filter((p) => { try { lstatSync(join(dir, p)); return true; } catch { return false; } });
  const absent = paths.filter((p) => !present.includes(p));
  const ignoredOut = present.length
    ? (await runGit([`--git-dir=${gitDir}`, `--work-tree=${dir}`, 'check-ignore', '-z', '--stdin'], { cwd: dir, env: { ...env, GIT_LITERAL_PATHSPECS: '0' }, input: present.map((p) => `${p}\0`).join(''), okCodes: [0, 1] })).stdout
    : Buffer.alloc(0);
  const ignored = new Set(ignoredOut.toString('utf8').split('\0').filter(Boolean));
  const addable = present.filter((p) => !ignored.has(p));
  // An ignored source path holds only what is tracked there, as in a commit; naming it to `add -A` would be an error.
  if (addable.length) await git(['add', '-A', '--', ...addable]);
  if (ignored.size) await git(['add', '-u', '--', ...ignored]);
  if (absent.length) await git(['rm', '-r', '-q', '--cached', '--ignore-unmatch', '--', ...absent]);
  const listed = await git(['ls-files', '-s', '-z', '--', ...paths]);
  return parseListing(listed.stdout, 'ls-files');
}

/**
 * The code of every task in the working tree `dir` as it is now, dirty or
 * not, in a repository or not: the sources are staged into a private index
 * under `stateDir` (`git add -A`, which respects .gitignore and caches stat
 * data, so an unchanged tree is listed without hashing a file again) and
 * listed from it. The user's repository is only read. Throws UnreachableError
 * when git fails.
 */
export async function readWorkingTreeCode(input: ReadCodeInput & { dir: string; stateDir: string }): Promise<CodeSnapshot> {
  const dir = resolve(input.dir);
  const home = join(input.stateDir, 'worktrees', sha256(dir).slice(0, 16));
  const gitDir = join(home, 'git');
  const env = { GIT_INDEX_FILE: join(home, 'index') };
  const isFile = (path: string): boolean => { try { return statSync(join(dir, path)).isFile(); } catch { return false; } };
  const paths = coverPaths(input.tasks.flatMap((t) => { const s = resolveSource(t, isFile); return s.kind === 'paths' ? s.paths : []; }));
  mkdirSync(home, { recursive: true });
  const listing = await withLock(join(home, 'lock'), { timeoutMs: 120_000, what: `reading the code of ${dir}` }, async () => {
    try {
      await preparePrivateIndex(dir, gitDir, env);
      return paths.length ? sortListing(await stageAndList(dir, gitDir, env, paths)) : [];
    } catch (err) {
      throw new UnreachableError(`cannot read the code of the working tree ${dir}`, { cause: err });
    }
  });
  const manifests = new Set(input.manifestFiles);
  return { gitDir, tasks: input.tasks.map((t) => taskCode(t, listing, manifests, isFile)) };
}
