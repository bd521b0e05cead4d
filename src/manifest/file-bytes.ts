/**
 * Manifest file bytes (I/O): reading a file whole, but never more than the
 * size limit, and telling whether a file still holds the bytes read before.
 */
import { closeSync, fstatSync, openSync, readSync } from 'node:fs';
import { MAX_FILE_BYTES } from './limits.js';

/** Working buffer for comparing files with their kept bytes; grows as needed (up to the file size limit) and is reused. */
let scratch = Buffer.allocUnsafe(64 * 1024);

/**
 * Whether the file at `full` holds exactly `bytes`. The file is read into the
 * reused working buffer and compared byte for byte, so an unchanged file costs
 * no string, no Stats object and no parse, while any change of content (even
 * one that keeps the size and the modification time) is seen. Any error (the
 * file is gone, unreadable, a directory) answers false: the caller's plain read
 * then reports it as before.
 */
export function holdsBytes(full: string, bytes: Buffer): boolean {
  const length = bytes.length;
  // Kept files are at most MAX_FILE_BYTES long, so the buffer never grows beyond one byte more.
  if (scratch.length <= length) scratch = Buffer.allocUnsafe(Math.min(Math.max(length + 1, scratch.length * 2), MAX_FILE_BYTES + 1));
  const buffer = scratch;
  let fd: number;
  try {
    fd = openSync(full, 'r');
  } catch {
    return false;
  }
  try {
    // Ask for one byte more than expected: a longer file fills it and differs.
    let total = 0;
    for (;;) {
      const read = readSync(fd, buffer, total, length + 1 - total, null);
      if (read === 0) break;
      total += read;
      if (total > length) return false;
    }
    return total === length && buffer.compare(bytes, 0, length, 0, length) === 0;
  } catch {
    return false;
  } finally {
    closeSync(fd);
  }
}

/**
 * The bytes of the file at `full`, or its size when it is larger than
 * MAX_FILE_BYTES: a large file is refused before it is read (parsing 100 MB of
 * YAML takes gigabytes), and a file that grows while it is read is cut short
 * at the limit.
 */
export function readBounded(full: string): Buffer | number {
  const fd = openSync(full, 'r');
  try {
    const size = fstatSync(fd).size;
    if (size > MAX_FILE_BYTES) return size;
    let buffer = Buffer.allocUnsafe(size + 1);
    let total = 0;
    for (;;) {
      if (total === buffer.length) {
        if (total > MAX_FILE_BYTES) return total;
        const grown = Buffer.allocUnsafe(Math.min(buffer.length * 2, MAX_FILE_BYTES + 1));
        buffer.copy(grown, 0, 0, total);
        buffer = grown;
      }
      const read = readSync(fd, buffer, total, buffer.length - total, null);
      if (read === 0) break;
      total += read;
    }
    return buffer.subarray(0, total);
  } finally {
    closeSync(fd);
  }
}
