/**
 * The status branch (I/O, simple-git): a clone of the manifest repository on
 * `pm2-gitops/status`, where status files and evidence reports are committed
 * (signed when a key is set) and pushed, rebasing and retrying on conflicts.
 */
import { existsSync, mkdirSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import type { SimpleGit } from 'simple-git';
import { gitAt } from '../adapters/git.js';
import { UnreachableError } from '../domain/errors.js';

export const STATUS_BRANCH = 'pm2-gitops/status';

export interface StatusRepoOptions {
  url: string;
  dir: string;
  /** SSH private key (OpenSSH format) that signs status commits. */
  signingKeyFile?: string;
  author: { name: string; email: string };
}

/** A working clone of the status branch. */
export class StatusRepo {
  readonly dir: string;
  private readonly git: SimpleGit;
  private readonly opts: StatusRepoOptions;

  private constructor(opts: StatusRepoOptions) {
    this.opts = opts;
    this.dir = opts.dir;
    this.git = gitAt(opts.dir);
  }

  private config(): string[] {
    const c = ['-c', `user.name=${this.opts.author.name}`, '-c', `user.email=${this.opts.author.email}`, '-c', 'commit.gpgsign=false'];
    if (this.opts.signingKeyFile) c.push('-c', 'gpg.format=ssh', '-c', `user.signingkey=${resolve(this.opts.signingKeyFile)}`, '-c', 'commit.gpgsign=true');
    return c;
  }

  /** Clones (or reuses) the status clone and commits and pushes anything a crash left behind. */
  static async open(opts: StatusRepoOptions): Promise<StatusRepo> {
    mkdirSync(opts.dir, { recursive: true });
    const repo = new StatusRepo(opts);
    try {
      if (!existsSync(join(opts.dir, '.git'))) {
        await repo.git.init();
        await repo.git.raw(['config', 'gc.auto', '0']);
        await repo.git.addRemote('origin', opts.url);
        if (await repo.fetchRemote()) await repo.git.raw(['checkout', '--quiet', '-B', STATUS_BRANCH, 'FETCH_HEAD']);
        else await repo.git.raw(['checkout', '--quiet', '--orphan', STATUS_BRANCH]);
      } else {
        await repo.git.raw(['remote', 'set-url', 'origin', opts.url]);
      }
      await repo.recover();
    } catch (err) {
      if (err instanceof UnreachableError) throw err;
      throw new UnreachableError(`cannot prepare the status branch clone in ${opts.dir}`, { cause: err });
    }
    return repo;
  }

  private async fetchRemote(): Promise<boolean> {
    try {
      await this.git.raw(['fetch', '--quiet', 'origin', `refs/heads/${STATUS_BRANCH}`]);
      return true;
    } catch (err) {
      if (/couldn't find remote ref|could not find remote ref/i.test((err as Error).message)) return false;
      throw err;
    }
  }

  /** Commits files left uncommitted and pushes commits left unpushed (after a crash). */
  async recover(): Promise<void> {
    const status = await this.git.raw(['status', '--porcelain']);
    if (status.trim()) await this.commitAll('pm2-gitops: commit status left by an interrupted run');
    if (await this.hasCommits()) await this.push();
  }

  private async hasCommits(): Promise<boolean> {
    // With --quiet git prints nothing when HEAD is unborn, so the answer is the output.
    const out = await this.git.raw(['rev-parse', '--verify', '--quiet', 'HEAD']).catch(() => '');
    return out.trim().length > 0;
  }

  /** Reads a file of the status branch (working copy), or undefined. */
  read(path: string): string | undefined {
    const file = join(this.dir, path);
    return existsSync(file) ? readFileSync(file, 'utf8') : undefined;
  }

  /** File names in a folder of the status branch, sorted. */
  list(folder: string): string[] {
    const dir = join(this.dir, folder);
    return existsSync(dir) ? readdirSync(dir).filter((n) => !n.startsWith('.')).sort() : [];
  }

  private async commitAll(message: string): Promise<boolean> {
    await this.git.raw(['add', '--all']);
    const staged = await this.git.raw(['diff', '--cached', '--name-only']);
    if (!staged.trim()) return false;
    await this.git.raw([...this.config(), 'commit', '--quiet', '-m', message]);
    return true;
  }

  /** Writes files, commits them in one commit and pushes; resolves to whether anything was committed. */
  async write(files: Array<{ path: string; text: string }>, message: string): Promise<boolean> {
    for (const f of files) {
      const full = join(this.dir, f.path);
      mkdirSync(dirname(full), { recursive: true });
      writeFileSync(full, f.text);
    }
    const committed = await this.commitAll(message);
    if (committed) await this.push();
    return committed;
  }

  /** Pushes the status branch; on rejection fetches, rebases (our files win) and retries. */
  async push(attempts = 6): Promise<void> {
    let last: unknown;
    for (let i = 0; i < attempts; i++) {
      try {
        await this.git.raw(['push', '--quiet', 'origin', `HEAD:refs/heads/${STATUS_BRANCH}`]);
        return;
      } catch (err) {
        last = err;
        if (await this.fetchRemote()) await this.git.raw([...this.config(), 'rebase', '--quiet', '-X', 'theirs', 'FETCH_HEAD']);
        await new Promise((r) => { setTimeout(r, 50 * (i + 1)); });
      }
    }
    throw new UnreachableError(`cannot push ${STATUS_BRANCH} to ${this.opts.url}`, { cause: last });
  }
}
