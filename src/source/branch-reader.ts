/**
 * Reads files of one branch straight from git objects (I/O, simple-git):
 * no checkout, so a bare repository, a working clone or a URL all work.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import type { SimpleGit } from 'simple-git';
import { gitAt } from '../adapters/git.js';
import { UnreachableError } from '../domain/errors.js';
import { APPLIED_REFS } from './applied-refs.js';
import { isLocalRepo } from './git-source.js';

/** A branch opened for reading; call close() to drop a temporary fetch. */
export interface BranchReader {
  /** The ref that was found, or undefined when the branch does not exist. */
  ref?: string;
  list(folder: string): Promise<string[]>;
  read(path: string): Promise<string | undefined>;
  hasCommit(sha: string): Promise<boolean>;
  /** Whether a commit is here and reachable from a ref (a commit no ref reaches is lost at the next gc). */
  revisionState(sha: string): Promise<'reachable' | 'unreachable' | 'missing'>;
  close(): void;
}

async function findRef(git: SimpleGit, branch: string): Promise<string | undefined> {
  for (const ref of [`refs/heads/${branch}`, `refs/remotes/origin/${branch}`]) {
    // With --quiet git prints nothing for a missing ref, so the answer is the output.
    const out = await git.raw(['rev-parse', '--verify', '--quiet', ref]).catch(() => '');
    if (out.trim()) return ref;
  }
  return undefined;
}

/** Opens `branch` of a local repository, or of a URL fetched into a temporary bare repository. */
export async function openBranch(repo: string, branch: string): Promise<BranchReader> {
  let dir = resolve(repo);
  let temp: string | undefined;
  try {
    if (!isLocalRepo(repo)) {
      temp = mkdtempSync(join(tmpdir(), 'pm2-gitops-read-'));
      await gitAt().raw(['init', '--bare', '--quiet', temp]);
      // The applied refs keep revisions the controller ran reachable after a force-push.
      await gitAt(temp).raw(['fetch', '--quiet', repo, '+refs/heads/*:refs/heads/*', `+${APPLIED_REFS}*:${APPLIED_REFS}*`]);
      dir = temp;
    }
    const git = gitAt(dir);
    const ref = await findRef(git, branch);
    return {
      ...(ref ? { ref } : {}),
      async list(folder) {
        if (!ref) return [];
        const out = await git.raw(['ls-tree', '--name-only', `${ref}:${folder}`]).catch(() => '');
        return out.split('\n').filter(Boolean).sort();
      },
      async read(path) {
        if (!ref) return undefined;
        return git.raw(['show', `${ref}:${path}`]).catch(() => undefined);
      },
      async hasCommit(sha) {
        return git.raw(['cat-file', '-e', `${sha}^{commit}`]).then(() => true, () => false);
      },
      async revisionState(sha) {
        if (!(await git.raw(['cat-file', '-e', `${sha}^{commit}`]).then(() => true, () => false))) return 'missing';
        // When git cannot answer, say nothing rather than claim the revision is unreachable.
        const out = await git.raw(['for-each-ref', '--count=1', '--contains', sha, '--format=%(refname)']).catch(() => 'unknown');
        return out.trim() ? 'reachable' : 'unreachable';
      },
      close() { if (temp) rmSync(temp, { recursive: true, force: true }); },
    };
  } catch (err) {
    if (temp) rmSync(temp, { recursive: true, force: true });
    throw new UnreachableError(`cannot read branch ${branch} of ${repo}`, { cause: err });
  }
}
