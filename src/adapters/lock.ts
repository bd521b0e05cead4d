/**
 * An exclusive lock file (I/O): `open(O_EXCL)` with the holder's pid inside; a
 * lock whose holder is gone is taken over.
 */
import { closeSync, openSync, readFileSync, unlinkSync, writeSync } from 'node:fs';
import { UnreachableError } from '../domain/errors.js';

function holderAlive(file: string): boolean {
  try {
    const pid = Number(readFileSync(file, 'utf8').split('\n')[0]);
    if (!Number.isInteger(pid) || pid <= 0) return false;
    process.kill(pid, 0);
    return true;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'EPERM';
  }
}

function tryAcquire(file: string, note: string): boolean {
  try {
    const fd = openSync(file, 'wx');
    writeSync(fd, `${process.pid}\n${note}\n`);
    closeSync(fd);
    return true;
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'EEXIST') throw err;
    if (holderAlive(file)) return false;
    try { unlinkSync(file); } catch (e) { if ((e as NodeJS.ErrnoException).code !== 'ENOENT') throw e; }
    return tryAcquire(file, note);
  }
}

/** Waits up to `timeoutMs` for the lock; resolves to its release function. Throws UnreachableError on time-out. */
export async function acquireLock(file: string, opts: { timeoutMs?: number; note?: string } = {}): Promise<() => void> {
  const deadline = Date.now() + (opts.timeoutMs ?? 120_000);
  while (!tryAcquire(file, opts.note ?? '')) {
    if (Date.now() > deadline) {
      let holder = 'unknown';
      try { holder = readFileSync(file, 'utf8').trim().replace(/\n/g, ' '); } catch { holder = 'gone'; }
      throw new UnreachableError(`another apply holds ${file} (pid ${holder}); gave up after ${Math.round((opts.timeoutMs ?? 120_000) / 1000)}s`);
    }
    await new Promise((r) => { setTimeout(r, 100); });
  }
  let released = false;
  return () => {
    if (released) return;
    released = true;
    try { unlinkSync(file); } catch (err) { if ((err as NodeJS.ErrnoException).code !== 'ENOENT') throw err; }
  };
}
