/** Build records on disk (I/O): read, written whole (temp file + rename), listed. */
import { randomBytes } from 'node:crypto';
import { mkdirSync, readdirSync, readFileSync, renameSync, statSync, writeFileSync } from 'node:fs';
import { dirname } from 'node:path';
import type { BuildRecord } from './types.js';

/** The record in `file`, or undefined when it is missing or unreadable (a half-written record never exists: writes are renames). */
export function readRecord(file: string): BuildRecord | undefined {
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw err;
  }
  try {
    const value = JSON.parse(text) as BuildRecord;
    return value && value.version === 1 ? value : undefined;
  } catch {
    // Not a record this version wrote: treated as absent, so the build is made again.
    return undefined;
  }
}

/** Writes a record atomically. */
export function writeRecord(file: string, record: BuildRecord): void {
  mkdirSync(dirname(file), { recursive: true });
  const tmp = `${file}.${process.pid}.${randomBytes(4).toString('hex')}.tmp`;
  writeFileSync(tmp, `${JSON.stringify(record, null, 2)}\n`);
  renameSync(tmp, file);
}

/** Names in a folder (none when it does not exist). */
export function listDir(dir: string): string[] {
  try {
    return readdirSync(dir);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return [];
    throw err;
  }
}

/** Whether `path` is a directory (not following a symlink there is not needed: the store makes none inside builds/). */
export function isDirectory(path: string): boolean {
  try {
    return statSync(path).isDirectory();
  } catch {
    return false;
  }
}
