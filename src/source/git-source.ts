/**
 * The git source (I/O, simple-git): a bare mirror of the watched branch under
 * the state dir, fetched on demand; each revision is exported to its own
 * read-only release folder (releases.ts), so rendering never sees a
 * half-written or damaged tree.
 */
import { existsSync, mkdirSync } from 'node:fs';
import { isAbsolute, join, resolve } from 'node:path';
import type { SimpleGit } from 'simple-git';
import { gitAt, NETWORK_IDLE_TIMEOUT_MS } from '../adapters/git.js';
import type { Logger } from '../adapters/logger.js';
import { SourceUnreachableError, UnreachableError } from '../domain/errors.js';
import type { CommitFacts } from './approval.js';
import { commitFacts } from './commit-facts.js';
import { ReleaseStore } from './releases.js';

export interface GitSourceOptions {
  /** URL or local path of the manifest repository (bare or not). */
  repo: string;
  /** Branch to follow; default: the remote's default branch. */
  branch?: string;
  stateDir: string;
  /** Where repairs of damaged release folders are logged. */
  logger?: Logger;
}

/** Whether `repo` names a path on this machine rather than a URL. */
export function isLocalRepo(repo: string): boolean {
  return !/^[a-z][a-z0-9+.-]*:\/\//i.test(repo) && !/^[^/]+@[^/]+:/.test(repo) && existsSync(repo);
}

/** A followed branch of a manifest repository. */
export class GitSource {
  readonly url: string;
  readonly mirror: string;
  readonly releases: string;
  branch: string;
  private readonly git: SimpleGit;
  /** For commands that talk to the remote: bounded by NETWORK_IDLE_TIMEOUT_MS. */
  private readonly remoteGit: SimpleGit;
  private readonly releaseStore: ReleaseStore;

  private constructor(url: string, mirror: string, releases: string, branch: string, logger?: Logger) {
    this.url = url;
    this.mirror = mirror;
    this.releases = releases;
    this.branch = branch;
    this.git = gitAt(mirror);
    this.remoteGit = gitAt(mirror, { idleTimeoutMs: NETWORK_IDLE_TIMEOUT_MS });
    this.releaseStore = new ReleaseStore(mirror, releases, logger);
  }

  /** Clones the mirror if needed and resolves the branch. Throws UnreachableError when the repository cannot be read. */
  static async open(opts: GitSourceOptions): Promise<GitSource> {
    const url = isLocalRepo(opts.repo) && !isAbsolute(opts.repo) ? resolve(opts.repo) : opts.repo;
    const mirror = join(opts.stateDir, 'mirror.git');
    const releases = join(opts.stateDir, 'releases');
    mkdirSync(releases, { recursive: true });
    try {
      if (!existsSync(join(mirror, 'HEAD'))) {
        mkdirSync(opts.stateDir, { recursive: true });
        await gitAt().raw(['init', '--bare', '--quiet', mirror]);
        await gitAt(mirror).raw(['config', 'gc.auto', '0']);
      }
      const git = gitAt(mirror);
      await git.raw(['config', 'remote.origin.url', url]);
      const branch = opts.branch ?? (await GitSource.defaultBranch(gitAt(mirror, { idleTimeoutMs: NETWORK_IDLE_TIMEOUT_MS }), url).catch(async (err: unknown) => {
        // Started while the remote is away: the mirror knows the branch it followed, and that is enough to run on.
        const known = (await git.raw(['for-each-ref', '--format=%(refname:strip=2)', 'refs/heads'])).split('\n').filter(Boolean);
        if (known.length !== 1) throw err;
        opts.logger?.warn({ err, branch: known[0] }, 'cannot ask the repository for its default branch; following the branch the mirror holds');
        return known[0]!;
      }));
      return new GitSource(url, mirror, releases, branch, opts.logger);
    } catch (err) {
      throw new UnreachableError(`cannot read the manifest repository ${opts.repo}`, { cause: err });
    }
  }

  private static async defaultBranch(git: SimpleGit, url: string): Promise<string> {
    const out = await git.raw(['ls-remote', '--symref', url, 'HEAD']);
    const m = /^ref: refs\/heads\/(\S+)\s+HEAD/m.exec(out);
    if (!m) throw new Error(`${url} has no default branch (HEAD); pass --branch`);
    return m[1]!;
  }

  /**
   * Fetches the branch; resolves to its tip commit. Throws
   * SourceUnreachableError when git cannot fetch (`branchDeleted` when the
   * repository answers without the branch); the mirror keeps what it had.
   */
  async fetch(): Promise<string> {
    try {
      // --progress keeps output flowing while a big fetch makes progress, so only a stalled one hits the idle timeout.
      await this.remoteGit.raw(['fetch', '--progress', '--no-tags', '--force', 'origin', `+refs/heads/${this.branch}:refs/heads/${this.branch}`]);
      return (await this.git.revparse([`refs/heads/${this.branch}`])).trim();
    } catch (err) {
      const branchDeleted = /couldn't find remote ref|could not find remote ref/i.test((err as Error).message);
      throw new SourceUnreachableError(`cannot fetch branch ${this.branch} of ${this.url}`, { cause: err, branchDeleted });
    }
  }

  /** The tip the mirror holds from the last successful fetch, if any. */
  async lastFetched(): Promise<string | undefined> {
    // With --quiet git prints nothing for a missing ref, so the answer is the output.
    const out = await this.git.raw(['rev-parse', '--verify', '--quiet', `refs/heads/${this.branch}`]).catch(() => '');
    return out.trim() || undefined;
  }

  /** Starts a pass: release folders are checked again before their next use. */
  beginPass(): void {
    this.releaseStore.beginPass();
  }

  /** Whether a commit exists in the mirror. */
  async hasCommit(sha: string): Promise<boolean> {
    try {
      await this.git.raw(['cat-file', '-e', `${sha}^{commit}`]);
      return true;
    } catch {
      return false;
    }
  }

  /** Author, committer, subject, `Approved-by` trailers and signature status of a commit. */
  facts(sha: string, allowedSignersFile?: string): Promise<CommitFacts> {
    return commitFacts(this.git, sha, allowedSignersFile);
  }

  /**
   * The release folder of a commit, `releases/<sha>`: exported once, checked
   * against the commit once per pass, exported again when damaged.
   */
  release(sha: string): Promise<string> {
    return this.releaseStore.release(sha);
  }

  /** The paths to watch for ref changes when the repository is on this machine. */
  async watchPaths(): Promise<string[]> {
    if (!isLocalRepo(this.url)) return [];
    const gitDir = (await gitAt(this.url).raw(['rev-parse', '--absolute-git-dir'])).trim();
    return [join(gitDir, 'refs', 'heads'), join(gitDir, 'packed-refs')];
  }
}
