/**
 * Exclusive lock files (I/O). A lock is created whole (written to a temporary
 * file, then hard-linked into place, which fails when the lock exists), so a
 * reader never sees a half-written holder. A lock whose holder is gone is taken
 * over: gone means its pid is not alive, or the pid now belongs to another
 * process (a different start time in /proc, or a different boot). Takeover
 * runs under a second lock file, so two processes that both find a stale lock
 * cannot both end up holding it.
 *
 * The file's first line is the holder's pid (for people and scripts); the
 * second is the holder as JSON.
 */
import { randomBytes } from 'node:crypto';
import { linkSync, readFileSync, statSync, unlinkSync, writeFileSync } from 'node:fs';
import { hostname } from 'node:os';
import { UnreachableError } from '../domain/errors.js';

/** Who holds a lock, as written into the lock file. */
export interface LockHolder {
  pid: number;
  host: string;
  /** When the holding process started (ISO time). */
  startedAt: string;
  /** The process's start time in clock ticks since boot (/proc/<pid>/stat field 22), where /proc exists. */
  procStart?: string;
  /** The kernel's boot id, where /proc exists: pids start again after a reboot. */
  bootId?: string;
  /** Random per lock: release removes the file only while it still holds this token. */
  token: string;
  /** Free detail the caller adds (the environment, the state dir, a note). */
  [detail: string]: unknown;
}

/** A held lock. */
export interface HeldLock {
  file: string;
  holder: LockHolder;
  /** Removes the lock file, if it is still ours. */
  release(): void;
}

/** The outcome of one attempt: held by us, or by someone alive. */
export type LockAttempt = { acquired: true; lock: HeldLock } | { acquired: false; holder: Partial<LockHolder> & { pid: number } };

/** Takeover guards older than this are left by a process that died while taking over. */
const STALE_GUARD_MS = 10_000;

function readOptional(file: string): string | undefined {
  try {
    return readFileSync(file, 'utf8');
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw err;
  }
}

/** The start time of a process in clock ticks since boot, or undefined without /proc. */
export function processStartTicks(pid: number): string | undefined {
  const stat = readOptional(`/proc/${pid}/stat`);
  if (!stat) return undefined;
  // The command name (field 2) may hold spaces and parentheses: count fields after its last ')'.
  return stat.slice(stat.lastIndexOf(')') + 2).split(' ')[19];
}

function bootId(): string | undefined {
  return readOptional('/proc/sys/kernel/random/boot_id')?.trim();
}

/** This process as a lock holder, with `detail` added. */
export function selfHolder(detail: Record<string, unknown> = {}): LockHolder {
  const procStart = processStartTicks(process.pid);
  const boot = bootId();
  return {
    ...detail,
    pid: process.pid,
    host: hostname(),
    startedAt: new Date(Date.now() - Math.round(process.uptime() * 1000)).toISOString(),
    ...(procStart ? { procStart } : {}),
    ...(boot ? { bootId: boot } : {}),
    token: randomBytes(8).toString('hex'),
  };
}

/** Parses a lock file; a file of an older format (pid, then a note) yields the pid and the note. */
export function parseHolder(text: string): (Partial<LockHolder> & { pid: number }) | undefined {
  const [first = '', second = ''] = text.split('\n');
  const pid = Number(first);
  if (!Number.isInteger(pid) || pid <= 0) return undefined;
  try {
    const parsed = JSON.parse(second) as unknown;
    if (parsed && typeof parsed === 'object' && !Array.isArray(parsed)) return { ...(parsed as Partial<LockHolder>), pid };
  } catch {
    // An older lock file: the second line is a note.
  }
  return second ? { pid, note: second } : { pid };
}

/**
 * Whether a holder may still be alive. A holder on another host cannot be
 * checked from here and counts as alive.
 */
export function holderAlive(holder: Partial<LockHolder> & { pid: number }): boolean {
  if (holder.host && holder.host !== hostname()) return true;
  if (holder.bootId && bootId() && holder.bootId !== bootId()) return false;
  try {
    process.kill(holder.pid, 0);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'EPERM') return false;
  }
  // The pid is in use; by the holder only if it started when the holder did.
  const now = processStartTicks(holder.pid);
  return !(holder.procStart && now && now !== holder.procStart);
}

/** Creates `file` holding `text`, atomically; false when it exists. */
function createWhole(file: string, text: string): boolean {
  const tmp = `${file}.${process.pid}.${randomBytes(4).toString('hex')}.tmp`;
  writeFileSync(tmp, text);
  try {
    linkSync(tmp, file);
    return true;
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'EEXIST') return false;
    throw err;
  } finally {
    unlinkSync(tmp);
  }
}

function removeIf(file: string, keep: (text: string) => boolean): void {
  const text = readOptional(file);
  if (text === undefined || keep(text)) return;
  try { unlinkSync(file); } catch (err) { if ((err as NodeJS.ErrnoException).code !== 'ENOENT') throw err; }
}

/** Removes a stale lock whose text is `stale`, under the takeover guard; false when another process is taking over. */
function takeOver(file: string, stale: string, me: LockHolder): boolean {
  const guard = `${file}.takeover`;
  if (!createWhole(guard, serialize(me))) {
    const text = readOptional(guard);
    const holder = text === undefined ? undefined : parseHolder(text);
    let old = false;
    try { old = Date.now() - statSync(guard).mtimeMs > STALE_GUARD_MS; } catch { old = false; }
    if (text !== undefined && (old || !holder || !holderAlive(holder))) removeIf(guard, (t) => t !== text);
    return false;
  }
  try {
    // Still the stale holder? Then no one else took over in between.
    removeIf(file, (text) => text !== stale);
    return true;
  } finally {
    removeIf(guard, (text) => parseHolder(text)?.token !== me.token);
  }
}

function serialize(holder: LockHolder): string {
  return `${holder.pid}\n${JSON.stringify(holder)}\n`;
}

function held(file: string, holder: LockHolder): HeldLock {
  let released = false;
  return {
    file,
    holder,
    release() {
      if (released) return;
      released = true;
      removeIf(file, (text) => parseHolder(text)?.token !== holder.token);
    },
  };
}

/** One attempt at a lock, without waiting; a lock whose holder is gone is taken over. */
export async function tryLock(file: string, detail: Record<string, unknown> = {}): Promise<LockAttempt> {
  const me = selfHolder(detail);
  for (let attempt = 0; attempt < 50; attempt++) {
    if (createWhole(file, serialize(me))) return { acquired: true, lock: held(file, me) };
    const text = readOptional(file);
    if (text === undefined) continue;
    const holder = parseHolder(text);
    let young = false;
    try { young = Date.now() - statSync(file).mtimeMs < STALE_GUARD_MS; } catch { young = false; }
    // A file that is not a lock at all is someone's: only an old one is cleared.
    if (holder ? holderAlive(holder) : young) return { acquired: false, holder: holder ?? { pid: 0 } };
    if (!takeOver(file, text, me)) await new Promise((r) => { setTimeout(r, 20 + attempt * 5); });
  }
  throw new UnreachableError(`cannot take the lock ${file}: it keeps changing hands`);
}

/** Waits up to `timeoutMs` for the lock; resolves to its release function. Throws UnreachableError on time-out. */
export async function acquireLock(file: string, opts: { timeoutMs?: number; note?: string } = {}): Promise<() => void> {
  const timeoutMs = opts.timeoutMs ?? 120_000;
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const attempt = await tryLock(file, opts.note ? { note: opts.note } : {});
    if (attempt.acquired) return () => attempt.lock.release();
    if (Date.now() > deadline) {
      const h = attempt.holder;
      throw new UnreachableError(`another apply holds ${file} (pid ${h.pid}${h.note ? ` ${String(h.note)}` : ''}); gave up after ${Math.round(timeoutMs / 1000)}s`);
    }
    await new Promise((r) => { setTimeout(r, 100); });
  }
}
