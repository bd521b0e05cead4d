/** File writes that a crash cannot leave half done (I/O). */
import { closeSync, fsyncSync, openSync, renameSync, rmSync, writeSync } from 'node:fs';
import { dirname } from 'node:path';

/**
 * Writes a file atomically: to a temporary file beside it, flushed to disk,
 * then renamed over the old one, so a reader (or the next start after a
 * crash or power loss) sees the old content or the new, never a truncated one.
 */
export function writeFileAtomic(file: string, text: string, opts: { mode?: number } = {}): void {
  const tmp = `${file}.${process.pid}.tmp`;
  try {
    const fd = openSync(tmp, 'w', opts.mode ?? 0o644);
    try {
      writeSync(fd, text);
      fsyncSync(fd);
    } finally {
      closeSync(fd);
    }
    renameSync(tmp, file);
  } catch (err) {
    rmSync(tmp, { force: true });
    throw err;
  }
  syncDir(dirname(file));
}

/** Flushes a folder's entries (the rename) to disk; not every file system allows it, and the data is safe either way. */
function syncDir(dir: string): void {
  let fd: number | undefined;
  try {
    fd = openSync(dir, 'r');
    fsyncSync(fd);
  } catch (err) {
    if (!['EISDIR', 'EINVAL', 'EPERM', 'EACCES'].includes((err as NodeJS.ErrnoException).code ?? '')) throw err;
  } finally {
    if (fd !== undefined) closeSync(fd);
  }
}
