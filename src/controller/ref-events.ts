/**
 * Which changes under a repository's refs are news to the controller (pure):
 * a watcher event there queues a pass only when a ref the controller may
 * follow moved, never for its own pushes.
 */
import { sep } from 'node:path';
import { APPLIED_REFS } from '../source/applied-refs.js';
import { STATUS_BRANCH } from '../report/status-repo.js';

/** The controller's own refs, as path fragments: its status branch (and its `.lock`) and the applied refs. */
const OWN_REFS = [`refs/heads/${STATUS_BRANCH}`, APPLIED_REFS.replace(/\/$/, '')].map((ref) => `${sep}${ref.split('/').join(sep)}`);

/** Whether `path` is one of the controller's own refs, or a lock file of one. */
export function isOwnRef(path: string): boolean {
  return OWN_REFS.some((own) => path.includes(own));
}

/**
 * Whether a watcher event (chokidar's `add`, `change`, `unlink`, `addDir`,
 * `unlinkDir`) at `path` means that a ref the controller may follow moved.
 * A ref is a file: a folder that appears or goes (`refs/heads/pm2-gitops/`
 * for the first status push) moves none.
 */
export function movesFollowedRef(event: string, path: string): boolean {
  if (event === 'addDir' || event === 'unlinkDir') return false;
  return !isOwnRef(path);
}
