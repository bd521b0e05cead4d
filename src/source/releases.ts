/**
 * Release folders (I/O, git): `releases/<sha>` holds the tree of one commit,
 * exported through an index of its own (`releases/.index/<sha>`) and made
 * read-only. Before a pass renders from a release, git compares the folder
 * with that index (by stat, and by content where a stat changed) and lists
 * files that are not in the commit; a folder that differs is exported again,
 * so a truncated or deleted manifest is never rendered (and never pruned for).
 */
import { chmodSync, existsSync, lstatSync, mkdirSync, readdirSync, renameSync, rmSync, statSync } from 'node:fs';
import { join } from 'node:path';
import type { SimpleGit } from 'simple-git';
import { gitAt, gitWithIndex } from '../adapters/git.js';
import type { Logger } from '../adapters/logger.js';
import { UnreachableError } from '../domain/errors.js';

/** The release folders exported from one mirror. */
export class ReleaseStore {
  private readonly git: SimpleGit;
  /** Releases checked during the current pass. */
  private readonly verified = new Set<string>();

  constructor(private readonly mirror: string, private readonly releases: string, private readonly logger?: Logger) {
    this.git = gitAt(mirror);
  }

  /** Starts a pass: release folders are checked again before their next use. */
  beginPass(): void {
    this.verified.clear();
  }

  /**
   * The release folder of a commit, `releases/<sha>`: exported once, checked
   * against the commit once per pass, exported again when damaged.
   */
  async release(sha: string): Promise<string> {
    const dir = join(this.releases, sha);
    if (this.verified.has(sha)) return dir;
    if (existsSync(dir) && statSync(dir).isDirectory()) {
      const problem = await this.check(sha, dir);
      if (!problem) { this.verified.add(sha); return dir; }
      this.logger?.[problem === 'no index' ? 'info' : 'warn']({ revision: sha, dir, problem }, `release ${sha.slice(0, 12)} differs from the commit (${problem}); exporting it again`);
    }
    await this.export(sha, dir);
    this.verified.add(sha);
    return dir;
  }

  private index(sha: string): string {
    return join(this.releases, '.index', sha);
  }

  /** git with a release's own index, so its files are compared by stat and, when a stat differs, by content. */
  private withIndex(file: string): SimpleGit {
    return gitWithIndex(this.mirror, file);
  }

  /** Why a release folder is not the commit's tree, or undefined when it is. */
  private async check(sha: string, dir: string): Promise<string | undefined> {
    const file = this.index(sha);
    if (!existsSync(file)) return 'no index';
    const git = this.withIndex(file);
    try {
      // Re-hashes files whose stat changed (a touch is no damage), then lists files that differ or are gone.
      await git.raw(['--work-tree', dir, 'update-index', '-q', '--refresh']).catch(() => '');
      const changed = await git.raw(['--work-tree', dir, 'diff-files', '--name-only']);
      if (changed.trim()) return `changed or missing: ${changed.trim().split('\n').slice(0, 3).join(', ')}`;
      const extra = await git.raw(['--work-tree', dir, 'ls-files', '--others']);
      return extra.trim() ? `not in the commit: ${extra.trim().split('\n').slice(0, 3).join(', ')}` : undefined;
    } catch (err) {
      return `cannot compare: ${(err as Error).message.split('\n')[0]}`;
    }
  }

  /** Writes the commit's tree to a new folder, checks it against the commit, makes it read-only and puts it in place. */
  private async export(sha: string, dir: string): Promise<void> {
    const tmp = `${dir}.tmp-${process.pid}`;
    const file = this.index(sha);
    const tmpIndex = `${file}.tmp-${process.pid}`;
    removeTree(tmp);
    rmSync(tmpIndex, { force: true });
    mkdirSync(tmp, { recursive: true });
    mkdirSync(join(this.releases, '.index'), { recursive: true });
    const git = this.withIndex(tmpIndex);
    try {
      // read-tree + checkout-index write the tree through an index of our own, so the mirror stays bare.
      await git.raw(['read-tree', sha]);
      await git.raw(['--work-tree', tmp, 'checkout-index', '--all', '--force']);
      const [tree, written] = await Promise.all([this.git.raw(['rev-parse', `${sha}^{tree}`]), git.raw(['write-tree'])]);
      if (tree.trim() !== written.trim()) throw new Error(`release of ${sha} does not match its tree`);
      makeReadOnly(tmp);
      // chmod changed every file's ctime: record the final stats so the next check compares by stat alone.
      await git.raw(['--work-tree', tmp, 'update-index', '-q', '--refresh']).catch(() => '');
      const old = `${dir}.damaged-${process.pid}`;
      if (existsSync(dir)) renameSync(dir, old);
      renameSync(tmp, dir);
      renameSync(tmpIndex, file);
      removeTree(old);
    } catch (err) {
      throw new UnreachableError(`cannot export revision ${sha} from the mirror ${this.mirror}`, { cause: err });
    } finally {
      removeTree(tmp);
      rmSync(tmpIndex, { force: true });
    }
  }
}

/** Takes write permission away from every file and folder of a tree (links are left as they are). */
function makeReadOnly(dir: string): void {
  for (const entry of readdirSync(dir, { withFileTypes: true })) {
    const path = join(dir, entry.name);
    if (entry.isDirectory()) makeReadOnly(path);
    else if (entry.isFile()) chmodSync(path, statSync(path).mode & 0o555);
  }
  chmodSync(dir, 0o555);
}

/** Removes a tree that may be read-only. */
function removeTree(dir: string): void {
  if (!existsSync(dir)) return;
  const unlock = (path: string): void => {
    if (!lstatSync(path).isDirectory()) return;
    chmodSync(path, 0o755);
    for (const name of readdirSync(path)) unlock(join(path, name));
  };
  unlock(dir);
  rmSync(dir, { recursive: true, force: true });
}
