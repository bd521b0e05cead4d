/**
 * Stable paths (I/O): `links/<env>/<task>` is a symlink to the build a task's
 * processes run. It is switched by renaming a new symlink over it, which is
 * atomic: a reader (PM2 restarting a crashed worker) finds the old build or
 * the new one, never no link and never a mix.
 */
import { randomBytes } from 'node:crypto';
import { mkdirSync, readlinkSync, renameSync, rmSync, symlinkSync } from 'node:fs';
import { basename, isAbsolute, join, relative, resolve } from 'node:path';
import { hasBuild } from './prepare.js';
import { buildDir, envLinksDir, linkPath, recordFile } from './layout.js';
import { listDir, readRecord, writeRecord } from './records.js';
import type { TaskCode } from './types.js';

/** Where a link is, and which build it points at. */
export interface LinkTarget { env: string; task: string; codeDigest: string }

/** The code digest `link` points at, or undefined when there is no link (or it points elsewhere than a build). */
function digestOf(link: string): string | undefined {
  let target: string;
  try {
    target = readlinkSync(link);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT' || (err as NodeJS.ErrnoException).code === 'EINVAL') return undefined;
    throw err;
  }
  const name = basename(target);
  return /^[0-9a-f]{64}$/.test(name) ? name : undefined;
}

/** The code digest the link of a task points at now, or undefined without a link. */
export function linkedDigest(input: { stateDir: string; env: string; task: string }): string | undefined {
  return digestOf(linkPath(input.stateDir, input.env, input.task));
}

/**
 * Points `links/<env>/<task>` at the complete build of `codeDigest`,
 * atomically, and notes the build's last use. The executor calls it right
 * before the task's action, so PM2's own restarts afterwards load exactly
 * the build last applied. Resolves to the link path and the digest it
 * pointed at before (the build a rollback switches back to). Throws when the
 * build is not complete: only prepared builds are ever linked.
 */
export function switchLink(input: { stateDir: string; env: string; task: string; codeDigest: string; now?: () => Date }): { path: string; previous?: string } {
  const { stateDir, env, task, codeDigest } = input;
  if (!hasBuild(stateDir, task, codeDigest)) throw new Error(`switchLink: task ${task} has no complete build ${codeDigest.slice(0, 12)}; prepare it first`);
  const dir = envLinksDir(stateDir, env);
  mkdirSync(dir, { recursive: true });
  const path = linkPath(stateDir, env, task);
  const previous = digestOf(path);
  // Relative, so the state dir keeps working when it is reached through another path (a bind mount, a moved volume).
  const target = relative(dir, buildDir(stateDir, task, codeDigest));
  const tmp = join(dir, `.${task}.${process.pid}.${randomBytes(4).toString('hex')}.tmp`);
  symlinkSync(target, tmp);
  try {
    renameSync(tmp, path);
  } catch (err) {
    rmSync(tmp, { force: true });
    throw err;
  }
  const file = recordFile(stateDir, task, codeDigest);
  const record = readRecord(file);
  if (record) writeRecord(file, { ...record, lastUsedAt: (input.now ?? (() => new Date()))().toISOString() });
  return previous === undefined ? { path } : { path, previous };
}

/** Removes the link of a task (after its processes were deleted); its builds are then kept only as GC allows. */
export function removeLink(input: { stateDir: string; env: string; task: string }): void {
  rmSync(linkPath(input.stateDir, input.env, input.task), { force: true });
}

/** Every link of the store, with the digest it points at. */
export function listLinks(stateDir: string): LinkTarget[] {
  const out: LinkTarget[] = [];
  for (const env of listDir(join(stateDir, 'links'))) {
    if (env.startsWith('.')) continue;
    for (const task of listDir(join(stateDir, 'links', env))) {
      if (task.startsWith('.')) continue;
      const codeDigest = digestOf(join(stateDir, 'links', env, task));
      if (codeDigest) out.push({ env, task, codeDigest });
    }
  }
  return out;
}

/**
 * What a delivered process is started with (pure): its cwd inside the stable
 * link (the build keeps the repository layout, so cwd and script map 1:1)
 * and its script unchanged: relative to that cwd, as PM2 resolves it, or a
 * program's name. Code outside the repository keeps its own paths.
 */
export function deliveredProcess(link: string, code: Pick<TaskCode, 'cwd' | 'script'>): { cwd: string; script: string } {
  if (isAbsolute(code.cwd)) return { cwd: code.cwd, script: code.script };
  return { cwd: code.cwd === '.' ? link : resolve(link, code.cwd), script: code.script };
}
