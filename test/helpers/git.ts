import { execFileSync } from 'node:child_process';
import { cpSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';

/** Runs git in `cwd` and returns its trimmed stdout; throws with stderr on failure. */
export function git(cwd: string, args: string[], env: NodeJS.ProcessEnv = {}): string {
  return execFileSync('git', args, { cwd, env: { ...process.env, ...env }, encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] }).trim();
}

export interface Person { name: string; email: string }

export interface CommitOptions {
  author?: Person;
  /** OpenSSH private key file that signs the commit. */
  signingKey?: string;
  trailers?: string[];
}

/** A bare "remote" and a working clone that pushes to it, in a temp dir. */
export interface GitFixture {
  root: string;
  remote: string;
  work: string;
  /** Writes files (path → content; null deletes) in the clone, commits and pushes; resolves to the new sha. */
  commit(message: string, files: Record<string, string | null>, opts?: CommitOptions): string;
  read(path: string): string;
  head(): string;
  cleanup(): void;
}

const DEFAULT_AUTHOR: Person = { name: 'Dev One', email: 'dev1@example.com' };

/** Creates the fixture, seeded from a folder (e.g. manifests/), first commit pushed to `main`. */
export function gitFixture(seed?: string, prefix = 'pm2gt-git-'): GitFixture {
  const root = mkdtempSync(join(tmpdir(), prefix));
  const remote = join(root, 'remote.git');
  const work = join(root, 'work');
  git(root, ['init', '--quiet', '--bare', '--initial-branch=main', remote]);
  git(root, ['init', '--quiet', '--initial-branch=main', work]);
  for (const [k, v] of [['gc.auto', '0'], ['user.name', DEFAULT_AUTHOR.name], ['user.email', DEFAULT_AUTHOR.email], ['commit.gpgsign', 'false']]) git(work, ['config', k!, v!]);
  git(work, ['remote', 'add', 'origin', remote]);
  if (seed) cpSync(seed, work, { recursive: true });
  const fixture: GitFixture = {
    root, remote, work,
    commit(message, files, opts = {}) {
      for (const [path, content] of Object.entries(files)) {
        const full = join(work, path);
        if (content === null) rmSync(full, { force: true });
        else { mkdirSync(dirname(full), { recursive: true }); writeFileSync(full, content); }
      }
      git(work, ['add', '--all']);
      const author = opts.author ?? DEFAULT_AUTHOR;
      const body = opts.trailers?.length ? `${message}\n\n${opts.trailers.join('\n')}` : message;
      const sign = opts.signingKey ? ['-c', 'gpg.format=ssh', '-c', `user.signingkey=${opts.signingKey}`] : [];
      git(work, [...sign, '-c', `user.name=${author.name}`, '-c', `user.email=${author.email}`, 'commit', '--quiet', '--allow-empty', ...(opts.signingKey ? ['-S'] : []), '-m', body]);
      git(work, ['push', '--quiet', 'origin', 'HEAD:refs/heads/main']);
      return git(work, ['rev-parse', 'HEAD']);
    },
    read(path) { return readFileSync(join(work, path), 'utf8'); },
    head() { return git(work, ['rev-parse', 'HEAD']); },
    cleanup() { rmSync(root, { recursive: true, force: true }); },
  };
  if (seed) fixture.commit('initial manifests', {});
  return fixture;
}

/** Every blob ever committed on a branch of a repository, concatenated (for secret scans). */
export function branchHistoryText(repo: string, branch: string): string {
  const revs = git(repo, ['rev-list', branch]).split('\n').filter(Boolean);
  let text = '';
  for (const rev of revs) {
    text += git(repo, ['log', '-1', '--format=%B', rev]);
    for (const line of git(repo, ['ls-tree', '-r', rev]).split('\n').filter(Boolean)) {
      const sha = line.split(/\s+/)[2]!;
      text += git(repo, ['cat-file', 'blob', sha]);
    }
  }
  return text;
}
