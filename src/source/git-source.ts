/**
 * The git source (I/O, simple-git): a bare mirror of the watched branch under
 * the state dir, fetched on demand; each revision is exported to its own
 * read-only release folder, so rendering never sees a half-written tree.
 */
import { existsSync, mkdirSync, renameSync, rmSync, statSync } from 'node:fs';
import { isAbsolute, join, resolve } from 'node:path';
import type { SimpleGit } from 'simple-git';
import { gitAt } from '../adapters/git.js';
import { UnreachableError } from '../domain/errors.js';
import type { CommitFacts } from './approval.js';

export interface GitSourceOptions {
  /** URL or local path of the manifest repository (bare or not). */
  repo: string;
  /** Branch to follow; default: the remote's default branch. */
  branch?: string;
  stateDir: string;
}

/** Whether `repo` names a path on this machine rather than a URL. */
export function isLocalRepo(repo: string): boolean {
  return !/^[a-z][a-z0-9+.-]*:\/\//i.test(repo) && !/^[^/]+@[^/]+:/.test(repo) && existsSync(repo);
}

const SEP = '\u001f';

/** A followed branch of a manifest repository. */
export class GitSource {
  readonly url: string;
  readonly mirror: string;
  readonly releases: string;
  branch: string;
  private readonly git: SimpleGit;

  private constructor(url: string, mirror: string, releases: string, branch: string) {
    this.url = url;
    this.mirror = mirror;
    this.releases = releases;
    this.branch = branch;
    this.git = gitAt(mirror);
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
      const branch = opts.branch ?? (await GitSource.defaultBranch(git, url));
      return new GitSource(url, mirror, releases, branch);
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

  /** Fetches the branch; resolves to its tip commit. Throws UnreachableError when git cannot fetch. */
  async fetch(): Promise<string> {
    try {
      await this.git.raw(['fetch', '--quiet', '--no-tags', '--force', 'origin', `+refs/heads/${this.branch}:refs/heads/${this.branch}`]);
      return (await this.git.revparse([`refs/heads/${this.branch}`])).trim();
    } catch (err) {
      throw new UnreachableError(`cannot fetch branch ${this.branch} of ${this.url}`, { cause: err });
    }
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
  async facts(sha: string, allowedSignersFile?: string): Promise<CommitFacts> {
    const config = allowedSignersFile ? ['-c', `gpg.ssh.allowedSignersFile=${resolve(allowedSignersFile)}`] : [];
    const format = ['%H', '%an', '%ae', '%cn', '%ce', '%s', '%G?', '%GS', '%GK', `%(trailers:key=Approved-by,valueonly,separator=%x1e)`].join('%x1f');
    const out = await this.git.raw([...config, 'log', '-1', `--format=${format}`, sha]);
    const [, an = '', ae = '', cn = '', ce = '', subject = '', code = 'N', signer = '', key = '', trailers = ''] = out.replace(/\n$/, '').split(SEP);
    let verified = false;
    let detail = '';
    try {
      const res = await this.git.raw([...config, 'verify-commit', '--verbose', sha]);
      verified = true;
      detail = res.trim().split('\n').pop() ?? '';
    } catch (err) {
      detail = (err as Error).message.trim().split('\n').filter(Boolean).pop() ?? '';
    }
    return {
      sha,
      author: { name: an, email: ae },
      committer: { name: cn, email: ce },
      subject,
      approvedBy: trailers.split('\u001e').map((t) => t.trim()).filter(Boolean),
      signature: { code, verified, ...(signer ? { signer } : {}), ...(key ? { key } : {}), detail },
    };
  }

  /** Exports a commit's tree to `releases/<sha>` (once); resolves to that folder. */
  async release(sha: string): Promise<string> {
    const dir = join(this.releases, sha);
    if (existsSync(dir) && statSync(dir).isDirectory()) return dir;
    const tmp = `${dir}.tmp-${process.pid}`;
    rmSync(tmp, { recursive: true, force: true });
    mkdirSync(tmp, { recursive: true });
    try {
      // restore --worktree writes the tree without touching any index, so the mirror stays bare.
      await this.git.raw(['--work-tree', tmp, 'restore', `--source=${sha}`, '--worktree', '--', '.']);
      renameSync(tmp, dir);
    } finally {
      rmSync(tmp, { recursive: true, force: true });
    }
    return dir;
  }

  /** The paths to watch for ref changes when the repository is on this machine. */
  async watchPaths(): Promise<string[]> {
    if (!isLocalRepo(this.url)) return [];
    const gitDir = (await gitAt(this.url).raw(['rev-parse', '--absolute-git-dir'])).trim();
    return [join(gitDir, 'refs', 'heads'), join(gitDir, 'packed-refs')];
  }
}
