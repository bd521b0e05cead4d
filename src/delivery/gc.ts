/**
 * collectBuilds (I/O): garbage collection of the build store. A task whose
 * lock is held (a build being prepared) is left alone this time; the others
 * are collected under their lock as planCollection decides.
 */
import { rm } from 'node:fs/promises';
import { join } from 'node:path';
import { ValidationError } from '../domain/errors.js';
import { planCollection, type StoredBuild, type StoredFailure } from './gc-plan.js';
import { buildDir, failureFile, isStoreName, recordFile, taskLockFile } from './layout.js';
import { listLinks } from './links.js';
import { ifUnlocked } from './locking.js';
import { isDirectory, listDir, readRecord } from './records.js';

/** Default number of builds kept per task (`--keep-builds`). */
export const DEFAULT_KEEP_BUILDS = 5;

const DIGEST_NAME = /^[0-9a-f]{64}$/;

/** What collectBuilds takes. */
export interface CollectBuildsInput {
  stateDir: string;
  /** Builds kept per task, newest by last use first; at least 1. Default 5. */
  keep?: number;
  /** Builds kept whatever their age: those of the last good revision, and any the caller still needs. */
  protect?: ReadonlyArray<{ task: string; codeDigest: string }>;
}

/** What collectBuilds did, per task and digest. */
export interface CollectBuildsResult {
  removed: Array<{ task: string; codeDigest: string }>;
  removedFailures: Array<{ task: string; codeDigest: string }>;
  kept: Array<{ task: string; codeDigest: string }>;
  /** Tasks left alone because a build of theirs was being prepared. */
  busy: string[];
}

function storedBuilds(stateDir: string, task: string): StoredBuild[] {
  const folder = join(stateDir, 'builds', task);
  const names = listDir(folder);
  const digests = new Set<string>();
  for (const name of names) {
    const digest = name.endsWith('.json') ? name.slice(0, -5) : name;
    if (DIGEST_NAME.test(digest)) digests.add(digest);
  }
  return [...digests].map((codeDigest) => {
    const record = readRecord(recordFile(stateDir, task, codeDigest));
    const complete = record?.status === 'ok' && isDirectory(buildDir(stateDir, task, codeDigest));
    return { codeDigest, complete, ...(record ? { lastUsedAt: record.lastUsedAt, createdAt: record.createdAt } : {}) };
  });
}

function storedFailures(stateDir: string, task: string): StoredFailure[] {
  return listDir(join(stateDir, 'failures', task))
    .filter((name) => DIGEST_NAME.test(name.slice(0, -5)) && name.endsWith('.json'))
    .map((name) => ({ codeDigest: name.slice(0, -5), at: readRecord(join(stateDir, 'failures', task, name))?.createdAt ?? '' }));
}

/**
 * Removes old builds: per task it keeps the newest `keep` by last use, every
 * build a link points at and every build in `protect`; it removes the rest,
 * folders a killed attempt left, and failure records older than the kept
 * builds. Never touches a task while a build of it is being prepared. Throws
 * ValidationError when `keep` is not a whole number of at least 1.
 */
export async function collectBuilds(input: CollectBuildsInput): Promise<CollectBuildsResult> {
  const keep = input.keep ?? DEFAULT_KEEP_BUILDS;
  if (!Number.isInteger(keep) || keep < 1) throw new ValidationError(`keep-builds must be a whole number of at least 1; got ${String(keep)}`);
  const { stateDir } = input;
  const tasks = [...new Set([...listDir(join(stateDir, 'builds')), ...listDir(join(stateDir, 'failures'))])].filter(isStoreName).sort();
  const result: CollectBuildsResult = { removed: [], removedFailures: [], kept: [], busy: [] };
  for (const task of tasks) {
    // Links are read per task under its lock: a link switched meanwhile to a build of this task is seen.
    const outcome = await ifUnlocked(taskLockFile(stateDir, task), `collecting the builds of task ${task}`, async () => {
      const protect = new Set([
        ...listLinks(stateDir).filter((l) => l.task === task).map((l) => l.codeDigest),
        ...(input.protect ?? []).filter((p) => p.task === task).map((p) => p.codeDigest),
      ]);
      const plan = planCollection({ builds: storedBuilds(stateDir, task), failures: storedFailures(stateDir, task), protect, keep });
      for (const codeDigest of plan.remove) {
        // The record first: a build without its record is never reused, whatever is left of its folder.
        await rm(recordFile(stateDir, task, codeDigest), { force: true });
        await rm(buildDir(stateDir, task, codeDigest), { recursive: true, force: true });
        result.removed.push({ task, codeDigest });
      }
      for (const codeDigest of plan.removeFailures) {
        await rm(failureFile(stateDir, task, codeDigest), { force: true });
        result.removedFailures.push({ task, codeDigest });
      }
      for (const codeDigest of plan.keep) result.kept.push({ task, codeDigest });
    });
    if (!outcome.acquired) result.busy.push(task);
  }
  return result;
}
