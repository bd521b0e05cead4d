/**
 * Where the build store keeps things under the state dir (pure):
 *
 *   builds/<task>/<digest>/        a complete, immutable build: the task's source in its repository layout, installed and built
 *   builds/<task>/<digest>.json    its record (status ok): inputs, steps, created and last-used times
 *   failures/<task>/<digest>.json  the record of a build that failed (kept for the report; builds/ is left as it was)
 *   links/<env>/<task>             the stable path a process runs from: a symlink to its build, switched atomically
 *   locks/build-<task>.lock        held while a build of the task is prepared or its builds are collected
 *   worktrees/<hash>/              the private git dir and index of a working tree that `apply` reads
 */
import { join } from 'node:path';
import { ValidationError } from '../domain/errors.js';

const NAME = /^[A-Za-z0-9][A-Za-z0-9_.-]{0,127}$/;
const DIGEST = /^[0-9a-f]{64}$/;

/** Whether `value` can name a folder of the store. */
export function isStoreName(value: string): boolean {
  return NAME.test(value);
}

/** Throws ValidationError unless `value` can name a folder of the store (a task or environment name). */
export function checkName(kind: 'task' | 'environment', value: string): string {
  if (!NAME.test(value)) throw new ValidationError(`${kind} name of ${value.length} characters cannot name a build folder; expected letters, digits, '.', '_' or '-'`);
  return value;
}

/** Throws ValidationError unless `value` is a code digest (64 hex). */
export function checkDigest(value: string): string {
  if (!DIGEST.test(value)) throw new ValidationError(`code digest of ${value.length} characters is not 64 lowercase hex digits`);
  return value;
}

/** The folder of every build of a task. */
export function taskBuildsDir(stateDir: string, task: string): string {
  return join(stateDir, 'builds', checkName('task', task));
}

/** The immutable build directory of a task's digest. */
export function buildDir(stateDir: string, task: string, digest: string): string {
  return join(taskBuildsDir(stateDir, task), checkDigest(digest));
}

/** The record of a complete build. */
export function recordFile(stateDir: string, task: string, digest: string): string {
  return `${buildDir(stateDir, task, digest)}.json`;
}

/** The record of a failed build. */
export function failureFile(stateDir: string, task: string, digest: string): string {
  return join(stateDir, 'failures', checkName('task', task), `${checkDigest(digest)}.json`);
}

/** The lock of a task's builds. */
export function taskLockFile(stateDir: string, task: string): string {
  return join(stateDir, 'locks', `build-${checkName('task', task)}.lock`);
}

/** The folder of every link of an environment. */
export function envLinksDir(stateDir: string, env: string): string {
  return join(stateDir, 'links', checkName('environment', env));
}

/** The stable path a task's processes run from: `links/<env>/<task>`. */
export function linkPath(stateDir: string, env: string, task: string): string {
  return join(envLinksDir(stateDir, env), checkName('task', task));
}
