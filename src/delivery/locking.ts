/**
 * Lock files of the build store (I/O), on top of adapters/lock.ts: a build of
 * a task, garbage collection of that task and the private index of a working
 * tree each run under one lock, across processes and within one.
 */
import { mkdirSync } from 'node:fs';
import { dirname } from 'node:path';
import { tryLock } from '../adapters/lock.js';
import { UnreachableError } from '../domain/errors.js';

/** Runs `fn` holding the lock `file`, waiting up to `timeoutMs` for it. Throws UnreachableError when the wait times out. */
export async function withLock<T>(file: string, opts: { timeoutMs: number; what: string }, fn: () => Promise<T>): Promise<T> {
  mkdirSync(dirname(file), { recursive: true });
  const deadline = Date.now() + opts.timeoutMs;
  for (let attempt = 0; ; attempt++) {
    const got = await tryLock(file, { note: opts.what });
    if (got.acquired) {
      try {
        return await fn();
      } finally {
        got.lock.release();
      }
    }
    if (Date.now() > deadline) {
      throw new UnreachableError(`${opts.what}: the lock ${file} is held by pid ${got.holder.pid}; gave up after ${Math.round(opts.timeoutMs / 1000)} s`);
    }
    await new Promise((r) => { setTimeout(r, Math.min(50 + attempt * 25, 500)); });
  }
}

/** Runs `fn` when the lock `file` is free right now; otherwise does nothing and resolves to `{ acquired: false }`. */
export async function ifUnlocked<T>(file: string, what: string, fn: () => Promise<T>): Promise<{ acquired: true; value: T } | { acquired: false }> {
  mkdirSync(dirname(file), { recursive: true });
  const got = await tryLock(file, { note: what });
  if (!got.acquired) return { acquired: false };
  try {
    return { acquired: true, value: await fn() };
  } finally {
    got.lock.release();
  }
}
