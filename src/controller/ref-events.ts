/**
 * Which changes under a repository's refs are news to the controller (pure):
 * a watcher event there queues a pass only when a ref the controller may
 * follow moved, never for its own pushes.
 */
import { sep } from 'node:path';
import { APPLIED_REFS } from '../source/applied-refs.js';
import { STATUS_BRANCH } from '../report/status-repo.js';

/** The controller's status branch as a path under a git dir. */
const STATUS_REF = `${sep}refs${sep}heads${sep}${STATUS_BRANCH.split('/').join(sep)}`;
/** The folder of its applied refs. */
const APPLIED_DIR = `${sep}${APPLIED_REFS.replace(/\/$/, '').split('/').join(sep)}`;

/** Whether `path` is one of the controller's own refs (the status branch, an applied ref) or git's lock file of one. */
export function isOwnRef(path: string): boolean {
  const ref = path.endsWith('.lock') ? path.slice(0, -'.lock'.length) : path;
  return ref.endsWith(STATUS_REF) || ref.endsWith(APPLIED_DIR) || ref.includes(`${APPLIED_DIR}${sep}`);
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
