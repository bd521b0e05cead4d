/** Git (simple-git) for working trees: the revision a render came from. */
import { simpleGit, type SimpleGit } from 'simple-git';
import { digest } from '../report/canonical.js';

/**
 * The revision of a working tree: its HEAD commit, with `+dirty` when files
 * under `path` differ from it; outside git, `local-<digest of content>`.
 */
export async function workingTreeRevision(dir: string, path: string, content: unknown): Promise<string> {
  const git = simpleGit({ baseDir: dir });
  try {
    if (!(await git.checkIsRepo())) return `local-${digest(content).slice(0, 12)}`;
    const sha = (await git.revparse(['HEAD'])).trim();
    const status = await git.raw(['status', '--porcelain', '--', path]);
    return status.trim() ? `${sha}+dirty` : sha;
  } catch {
    // No commit yet, or git is missing: fall back to the content itself.
    return `local-${digest(content).slice(0, 12)}`;
  }
}

/** A fetch or push that shows no progress for this long is given up (and tried again at the next pass). */
export const NETWORK_IDLE_TIMEOUT_MS = 30_000;

/**
 * A simple-git instance for repositories the controller owns; with
 * `idleTimeoutMs`, git is killed after that long without output. Config paths
 * (`--work-tree`, `gpg.ssh.allowedSignersFile`, `user.signingkey`) are
 * operator settings, never manifest content, so simple-git may pass them on.
 */
export function gitAt(baseDir?: string, opts: { idleTimeoutMs?: number } = {}): SimpleGit {
  // idleTimeoutMs: a network command (fetch, push) that prints nothing for this long is killed, so an
  // unreachable remote (a host that drops packets) fails instead of holding the controller's pass.
  return simpleGit({ ...(baseDir ? { baseDir } : {}), unsafe: { allowUnsafeConfigPaths: true }, ...(opts.idleTimeoutMs ? { timeout: { block: opts.idleTimeoutMs } } : {}) });
}

/**
 * A simple-git instance for the controller's mirror that reads and writes the
 * index file `indexFile` instead of the repository's own (GIT_INDEX_FILE),
 * so that each release folder can be compared with its commit by stat.
 */
export function gitWithIndex(baseDir: string, indexFile: string): SimpleGit {
  // Only what git needs to find itself and its config: simple-git refuses editor and pager settings.
  const env: Record<string, string> = { GIT_INDEX_FILE: indexFile };
  for (const key of ['PATH', 'HOME', 'LANG', 'LC_ALL', 'TMPDIR', 'USER']) if (process.env[key] !== undefined) env[key] = process.env[key]!;
  return simpleGit({ baseDir, allowEnvironment: ['GIT_INDEX_FILE'], unsafe: { allowUnsafeConfigPaths: true } }).env(env);
}
