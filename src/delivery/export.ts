/**
 * Filling a build directory (I/O): the task's blobs checked out from git in
 * their repository layout, and the folders an install created, found,
 * checked and copied into a build that reuses the install.
 */
import { execFile } from 'node:child_process';
import { cp, mkdir, mkdtemp, readdir, readlink, realpath, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { dirname, join, posix, relative, resolve, sep } from 'node:path';
import { promisify } from 'node:util';
import { indexInfo, runGit } from './git.js';
import type { BlobEntry } from './types.js';

const execFileP = promisify(execFile);

/**
 * Writes exactly `files` (modes and symlinks kept) under `dest` from the
 * objects of `gitDir`, through a temporary index: nothing else of the
 * revision, and no manifest file, lands in the build.
 */
export async function exportFiles(gitDir: string, files: readonly BlobEntry[], dest: string): Promise<void> {
  await mkdir(dest, { recursive: true });
  if (files.length === 0) return;
  const scratch = await mkdtemp(join(tmpdir(), 'pm2gt-export-'));
  const env = { GIT_INDEX_FILE: join(scratch, 'index') };
  try {
    await runGit([`--git-dir=${gitDir}`, 'update-index', '-z', '--index-info'], { env, input: indexInfo(files) });
    await runGit([`--git-dir=${gitDir}`, `--work-tree=${dest}`, 'checkout-index', '--all', '--force'], { cwd: dest, env });
  } finally {
    await rm(scratch, { recursive: true, force: true });
  }
}

/** Every `node_modules` folder under `root` (repository-relative), not looking inside one. */
export async function findNodeModules(root: string, rel = ''): Promise<string[]> {
  const out: string[] = [];
  const entries = await readdir(rel ? join(root, rel) : root, { withFileTypes: true });
  for (const e of entries) {
    if (!e.isDirectory() || e.name === '.git') continue;
    const path = rel ? `${rel}/${e.name}` : e.name;
    if (e.name === 'node_modules') out.push(path);
    else out.push(...(await findNodeModules(root, path)));
  }
  return out.sort();
}

/** A package link in an installed folder that does not resolve inside the build. */
export interface BrokenLink {
  /** The link, repository-relative (e.g. `apps/web/node_modules/greet`). */
  link: string;
  /** Where it points, repository-relative when inside the repository layout, else as written. */
  target: string;
  kind: 'missing' | 'outside';
}

async function linksIn(dir: string): Promise<string[]> {
  const out: string[] = [];
  for (const e of await readdir(dir, { withFileTypes: true }).catch(() => [])) {
    if (e.isSymbolicLink()) out.push(join(dir, e.name));
    else if (e.isDirectory() && e.name.startsWith('@')) for (const s of await readdir(join(dir, e.name), { withFileTypes: true })) if (s.isSymbolicLink()) out.push(join(dir, e.name, s.name));
  }
  return out;
}

/**
 * The package links (npm's `file:` dependencies, workspaces) in the installed
 * folders that point at nothing or out of the build: code the build would
 * load from outside itself, or not at all.
 */
export async function brokenLinks(root: string, installed: readonly string[]): Promise<BrokenLink[]> {
  const realRoot = await realpath(root);
  const out: BrokenLink[] = [];
  for (const folder of installed) {
    for (const link of await linksIn(join(root, folder))) {
      const rel = relative(root, link).split(sep).join('/');
      const written = await readlink(link);
      const target = resolve(dirname(link), written);
      const inLayout = relative(root, target).split(sep).join('/');
      const shown = inLayout.startsWith('..') ? written : posix.normalize(inLayout);
      let real: string | undefined;
      try { real = await realpath(link); } catch { real = undefined; }
      if (real === undefined) out.push({ link: rel, target: shown, kind: 'missing' });
      else if (real !== realRoot && !real.startsWith(realRoot + sep)) out.push({ link: rel, target: shown, kind: 'outside' });
    }
  }
  return out;
}

/**
 * Copies installed folders from one build into another. A copy, never
 * hardlinks: a hardlinked file changed by one build would change the other.
 * On Linux `cp -a --reflink=auto` shares blocks where the file system can.
 */
export async function copyInstalled(fromRoot: string, toRoot: string, folders: readonly string[]): Promise<void> {
  for (const folder of folders) {
    const from = join(fromRoot, folder);
    const to = join(toRoot, folder);
    await mkdir(dirname(to), { recursive: true });
    if (process.platform === 'linux') await execFileP('cp', ['-a', '--reflink=auto', '--', from, to]);
    else await cp(from, to, { recursive: true, verbatimSymlinks: true, preserveTimestamps: true, errorOnExist: true, force: false });
  }
}
