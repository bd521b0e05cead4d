/**
 * Builds for the task view (I/O): the store's record of a task's build,
 * complete (`builds/`) or failed (`failures/`), read when a task is looked at.
 */
import { readRecord } from '../delivery/records.js';
import { failureFile, isStoreName, recordFile } from '../delivery/layout.js';
import type { BuildRecord } from '../delivery/types.js';

const DIGEST = /^[0-9a-f]{64}$/;

/** A reader of the build record of a task's digest under `stateDir`: the complete one, else the failed one, else undefined. */
export function buildReader(stateDir: string): (task: string, digest: string) => BuildRecord | undefined {
  return (task, digest) => {
    if (!isStoreName(task) || !DIGEST.test(digest)) return undefined;
    return readRecord(recordFile(stateDir, task, digest)) ?? readRecord(failureFile(stateDir, task, digest));
  };
}
