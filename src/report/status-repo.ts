/**
 * The status branch (I/O, simple-git): a clone of the manifest repository on
 * `pm2-gitops/status`, where status files and evidence reports are committed
 * (signed when a key is set) and pushed, rebasing and retrying on conflicts.
 * While the remote cannot be reached, commits stay in the clone and are pushed
 * once it answers again; a damaged clone is repaired (or cloned again) at start.
 */
import { existsSync, mkdirSync, readdirSync, readFileSync, renameSync, rmSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import type { SimpleGit } from 'simple-git';
import { writeFileAtomic } from '../adapters/fs.js';
import { gitAt, NETWORK_IDLE_TIMEOUT_MS } from '../adapters/git.js';
import type { Logger } from '../adapters/logger.js';
import { UnreachableError } from '../domain/errors.js';

export const STATUS_BRANCH = 'pm2-gitops/status';

export interface StatusRepoOptions {
  url: string;
  dir: string;
  /** SSH private key (OpenSSH format) that signs status commits. */
  signingKeyFile?: string;
  author: { name: string; email: string };
  logger?: Logger;
  /** One host of a fleet (`run --host`): other hosts push to the branch too, so pushes are spread out. */
  fleet?: boolean;
}

/**
 * The least width, per host writing the branch, of the window in which a host
 * of a fleet makes a push attempt; the window is as wide per host as one push
 * attempt (fetch, rebase, push) took here last, when that was longer. Hosts
 * reconcile a new revision at about the same moment; pushing at once, all but
 * one are rejected, rebase and try again, round after round. 12 hosts on one
 * machine: 65.8 rejected pushes and 27 s from a push to every host converged
 * without the window (see bench/fleet.ts).
 */
const SPREAD_MS_PER_HOST = 150;

/** Lock files git leaves behind when it is killed; only this process uses the clone. */
const STALE_LOCKS = ['index.lock', 'HEAD.lock', 'ORIG_HEAD.lock', 'config.lock', 'packed-refs.lock', join('refs', 'heads', 'pm2-gitops', 'status.lock')];

/** A working clone of the status branch. */
export class StatusRepo {
  readonly dir: string;
  /** What was repaired at open, for the operator (status files show it). */
  readonly repairs: string[] = [];
  private readonly git: SimpleGit;
  /** For fetch and push: bounded, so an unreachable remote fails instead of hanging. */
  private readonly remoteGit: SimpleGit;
  private readonly opts: StatusRepoOptions;
  /** Commits not pushed yet. */
  private unpushed = false;
  /** Since when pushes fail, for the log. */
  private offlineSince: string | undefined;
  /** Files made from other files of the branch (fleet summaries), by path: written again after every rebase. */
  private readonly derived = new Map<string, () => string | undefined>();
  /** Pushes rejected because the remote moved on, since the clone was opened. */
  private rejectedPushes = 0;
  /** How long a push attempt took last (ms), to size the window hosts of a fleet spread their pushes over. */
  private attemptMs = 0;

  private constructor(opts: StatusRepoOptions) {
    this.opts = opts;
    this.dir = opts.dir;
    this.git = gitAt(opts.dir);
    this.remoteGit = gitAt(opts.dir, { idleTimeoutMs: NETWORK_IDLE_TIMEOUT_MS });
  }

  private config(): string[] {
    const c = ['-c', `user.name=${this.opts.author.name}`, '-c', `user.email=${this.opts.author.email}`, '-c', 'commit.gpgsign=false'];
    if (this.opts.signingKeyFile) c.push('-c', 'gpg.format=ssh', '-c', `user.signingkey=${resolve(this.opts.signingKeyFile)}`, '-c', 'commit.gpgsign=true');
    return c;
  }

  /**
   * Clones (or reuses) the status clone, repairs it when git cannot read it,
   * and commits and pushes anything a crash left behind. Throws
   * UnreachableError when there is no usable clone and the remote cannot be read.
   */
  static async open(opts: StatusRepoOptions): Promise<StatusRepo> {
    mkdirSync(opts.dir, { recursive: true });
    const repo = new StatusRepo(opts);
    try {
      if (!existsSync(join(opts.dir, '.git'))) await repo.cloneFresh();
      else await repo.reuse();
    } catch (err) {
      if (err instanceof UnreachableError) throw err;
      throw new UnreachableError(`cannot prepare the status branch clone in ${opts.dir}`, { cause: err });
    }
    await repo.pushOrKeep();
    return repo;
  }

  private async cloneFresh(): Promise<void> {
    await this.git.init();
    await this.git.raw(['config', 'gc.auto', '0']);
    await this.git.addRemote('origin', this.opts.url);
    if (await this.fetchRemote()) await this.git.raw(['checkout', '--quiet', '-B', STATUS_BRANCH, 'FETCH_HEAD']);
    else await this.git.raw(['checkout', '--quiet', '--orphan', STATUS_BRANCH]);
  }

  /** Opens an existing clone; when git cannot read it, rebuilds its index, and when that fails, clones again. */
  private async reuse(): Promise<void> {
    try {
      await this.git.raw(['remote', 'set-url', 'origin', this.opts.url]);
      await this.commitLeftovers();
      return;
    } catch (err) {
      this.opts.logger?.warn({ err, dir: this.dir }, 'the status clone cannot be read; repairing it');
    }
    try {
      await this.rebuildIndex();
      await this.commitLeftovers();
      this.repair(`the status clone's git index was damaged and has been rebuilt from its last commit; nothing was lost`);
    } catch (err) {
      this.opts.logger?.warn({ err, dir: this.dir }, 'the status clone cannot be repaired; cloning it again');
      await this.reclone();
    }
  }

  private repair(text: string): void {
    this.repairs.push(text);
    this.opts.logger?.warn({ dir: this.dir }, text);
  }

  private async rebuildIndex(): Promise<void> {
    const gitDir = join(this.dir, '.git');
    for (const lock of STALE_LOCKS) rmSync(join(gitDir, lock), { force: true });
    rmSync(join(gitDir, 'index'), { force: true });
    // A missing index reads as empty; reset fills it from HEAD again and leaves the working files alone.
    if (await this.hasCommits()) await this.git.raw(['reset', '--quiet']);
  }

  private async reclone(): Promise<void> {
    const damaged = `${this.dir}.damaged-${Date.now()}`;
    const oldHead = headOf(join(this.dir, '.git'));
    renameSync(this.dir, damaged);
    mkdirSync(this.dir, { recursive: true });
    await this.cloneFresh();
    const kept = oldHead ? await this.git.raw(['merge-base', '--is-ancestor', oldHead, 'HEAD']).then(() => true, () => false) : true;
    this.repair(kept
      ? `the status clone was damaged and has been cloned again from the remote (the damaged copy is ${damaged}); every commit it had was pushed`
      : `the status clone was damaged and has been cloned again from the remote; its commits up to ${oldHead.slice(0, 12)} had not been pushed and could not be recovered (the damaged copy is ${damaged})`);
  }

  private async fetchRemote(): Promise<boolean> {
    try {
      await this.remoteGit.raw(['fetch', '--progress', 'origin', `refs/heads/${STATUS_BRANCH}`]);
      return true;
    } catch (err) {
      if (/couldn't find remote ref|could not find remote ref/i.test((err as Error).message)) return false;
      throw new UnreachableError(`cannot fetch ${STATUS_BRANCH} from ${this.opts.url}`, { cause: err });
    }
  }

  /** Commits files a crash left uncommitted. */
  private async commitLeftovers(): Promise<void> {
    const status = await this.git.raw(['status', '--porcelain']);
    if (status.trim()) await this.commitAll('pm2-gitops: commit status left by an interrupted run');
    if (await this.hasCommits()) this.unpushed = true;
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

  /**
   * Keeps the file at `path` made by `make` from the branch's other files
   * (a fleet summary from every host's status): it is made again with each
   * write and after each rebase onto other hosts' pushes, so that it always
   * reflects the files of every host. `make` returns undefined to leave it as it is.
   */
  derive(path: string, make: () => string | undefined): void {
    this.derived.set(path, make);
  }

  /** Pushes the remote rejected because another writer pushed first (each one rebased and retried). */
  get rejected(): number {
    return this.rejectedPushes;
  }

  private writeFiles(files: ReadonlyArray<{ path: string; text: string }>): void {
    for (const f of files) {
      const full = join(this.dir, f.path);
      mkdirSync(dirname(full), { recursive: true });
      writeFileAtomic(full, f.text);
    }
  }

  /** Writes the derived files again from what the working copy holds now. */
  private writeDerived(): void {
    for (const [path, make] of this.derived) {
      const text = make();
      if (text !== undefined && text !== this.read(path)) this.writeFiles([{ path, text }]);
    }
  }

  /**
   * Writes files (each atomically, so a crash never leaves a truncated report
   * for the next start to commit) and the derived files, commits them in one
   * commit and pushes; resolves to whether anything was committed. A push that
   * cannot reach the remote is left for flush().
   */
  async write(files: Array<{ path: string; text: string }>, message: string): Promise<boolean> {
    this.writeFiles(files);
    this.writeDerived();
    const committed = await this.commitAll(message);
    if (committed) {
      this.unpushed = true;
      // While the remote is away, only flush() (once per pass) tries it: each try may wait for a timeout.
      if (!this.offlineSince) await this.pushOrKeep();
    }
    return committed;
  }

  /**
   * Takes in what others committed to the status branch (another host, an
   * operator's `suspend`): fetches it and puts this clone's own commits on
   * top. Throws UnreachableError when the remote cannot be fetched.
   */
  async pull(): Promise<void> {
    if (!(await this.fetchRemote())) return;
    if (!(await this.hasCommits())) {
      await this.git.raw(['checkout', '--quiet', '-B', STATUS_BRANCH, 'FETCH_HEAD']);
      return;
    }
    // Nothing new there: no rebase (the common case, once per pass).
    // (simple-git resolves a failing command that prints nothing, so the answer is a count, not an exit code.)
    const behind = Number((await this.git.raw(['rev-list', '--count', 'HEAD..FETCH_HEAD'])).trim());
    if (behind > 0) await this.git.raw([...this.config(), 'rebase', '--quiet', '-X', 'theirs', 'FETCH_HEAD']);
  }

  /** Pushes commits kept while the remote was unreachable (a no-op when there are none). */
  async flush(): Promise<void> {
    if (this.unpushed) await this.pushOrKeep();
  }

  /** Whether commits wait for the remote. */
  get pending(): boolean {
    return this.unpushed;
  }

  private async pushOrKeep(): Promise<void> {
    if (!this.unpushed) return;
    try {
      await this.push();
      if (this.offlineSince) this.opts.logger?.info({ branch: STATUS_BRANCH, since: this.offlineSince }, 'the remote answers again; pushed the status commits kept meanwhile');
      this.unpushed = false;
      this.offlineSince = undefined;
    } catch (err) {
      if (!this.offlineSince) this.opts.logger?.warn({ err, branch: STATUS_BRANCH }, 'cannot push the status branch; keeping the commits for the next push');
      this.offlineSince ??= new Date().toISOString();
    }
  }

  /**
   * Pushes the status branch; on rejection fetches, rebases (our files win:
   * hosts write files of their own, and derived files are made again from
   * everyone's after the rebase) and retries after a jittered, growing pause,
   * so that hosts pushing at once spread out. A host of a fleet makes each
   * attempt at a random moment of a window as wide as the fleet, after taking
   * in what the others pushed meanwhile. Throws UnreachableError.
   */
  async push(attempts = 10): Promise<void> {
    let last: unknown;
    const writers = this.writers();
    for (let i = 0; i < attempts; i++) {
      if (writers > 1) await new Promise((r) => { setTimeout(r, Math.random() * writers * Math.max(SPREAD_MS_PER_HOST, this.attemptMs)); });
      const started = Date.now();
      try {
        if (writers > 1) await this.takeIn();
        await this.remoteGit.raw(['push', '--progress', 'origin', `HEAD:refs/heads/${STATUS_BRANCH}`]);
        this.attemptMs = Date.now() - started;
        return;
      } catch (err) {
        // The remote cannot be fetched: it is unreachable, and retrying now changes nothing.
        if (err instanceof UnreachableError) throw err;
        this.attemptMs = Date.now() - started;
        last = err;
        if (writers > 1) {
          // The next attempt takes in what was pushed first.
          this.noteRejected(i);
          continue;
        }
        if (await this.fetchRemote()) {
          this.noteRejected(i);
          await this.rebaseOnto('FETCH_HEAD');
        }
        await new Promise((r) => { setTimeout(r, backoffMs(i, Math.random())); });
      }
    }
    throw new UnreachableError(`cannot push ${STATUS_BRANCH} to ${this.opts.url}`, { cause: last });
  }

  private noteRejected(attempt: number): void {
    this.rejectedPushes++;
    this.opts.logger?.debug({ branch: STATUS_BRANCH, attempt: attempt + 1, rejected: this.rejectedPushes }, 'status push rejected: another host pushed first; rebasing and retrying');
  }

  /** How many hosts report on this branch: the hosts with a status file of their own (1 outside a fleet). */
  private writers(): number {
    if (!this.opts.fleet) return 1;
    const hosts = new Set<string>();
    for (const env of this.list('status').filter((n) => !n.endsWith('.md'))) {
      for (const file of this.list(join('status', env))) if (file.endsWith('.md')) hosts.add(file);
    }
    return Math.max(1, hosts.size);
  }

  /** Fetches the branch and puts this clone's commits on top of what others pushed (when they did). */
  private async takeIn(): Promise<void> {
    if (!(await this.fetchRemote())) return;
    const behind = Number((await this.git.raw(['rev-list', '--count', 'HEAD..FETCH_HEAD'])).trim());
    if (behind > 0) await this.rebaseOnto('FETCH_HEAD');
  }

  /** Replays the clone's commits onto `upstream`; a rebase that stops is undone (the next try starts clean). */
  private async rebaseOnto(upstream: string): Promise<void> {
    try {
      await this.git.raw([...this.config(), 'rebase', '--quiet', '-X', 'theirs', upstream]);
    } catch (err) {
      this.opts.logger?.warn({ err, branch: STATUS_BRANCH }, 'cannot rebase the status commits onto the remote; trying again');
      await this.git.raw(['rebase', '--abort']).catch(() => undefined);
      return;
    }
    this.writeDerived();
    await this.commitAll('pm2-gitops: regenerate the fleet summary');
  }
}

/**
 * The pause before push attempt `attempt + 1`: 50 ms doubling up to 3.2 s,
 * spread by `random` (0..1) over half to one and a half of it.
 */
export function backoffMs(attempt: number, random: number): number {
  const base = Math.min(3_200, 50 * 2 ** attempt);
  return Math.round(base * (0.5 + random));
}

/** The commit HEAD names, read from the files themselves: git refuses a repository whose objects are damaged. */
function headOf(gitDir: string): string {
  try {
    const head = readFileSync(join(gitDir, 'HEAD'), 'utf8').trim();
    if (!head.startsWith('ref: ')) return head;
    const ref = head.slice(5);
    if (existsSync(join(gitDir, ref))) return readFileSync(join(gitDir, ref), 'utf8').trim();
    const packed = readFileSync(join(gitDir, 'packed-refs'), 'utf8').split('\n').find((l) => l.endsWith(` ${ref}`));
    return packed?.split(' ')[0] ?? '';
  } catch {
    return '';
  }
}
