/**
 * perform (thin shell): the PM2 calls of one action. Workers are addressed by
 * pm_id; a reload replaces cluster workers one at a time.
 */
import type { ComparableProcess } from '../domain/live.js';
import type { Action } from '../domain/plan.js';
import type { ProcessOps } from './ops.js';

/** Comparable option → the pm2_env key PM2 stores it under, where they differ. */
const STORED_AS: Record<string, string> = {
  out_file: 'pm_out_log_path',
  error_file: 'pm_err_log_path',
  log_file: 'pm_log_path',
  pid_file: 'pm_pid_path',
};

/**
 * The pm2_env keys to remove on restart: options the live process has and the
 * desired one does not, and env variables no longer declared.
 */
export function keysToUnset(live: ComparableProcess | undefined, desired: ComparableProcess): string[] {
  if (!live) return [];
  const keys: string[] = [];
  for (const key of Object.keys(live)) {
    if (key !== 'env' && !(key in desired)) keys.push(STORED_AS[key] ?? key);
  }
  const desiredEnv = (desired.env ?? {}) as Record<string, unknown>;
  for (const key of Object.keys((live.env ?? {}) as Record<string, unknown>)) {
    if (!(key in desiredEnv)) keys.push(key);
  }
  return keys.sort();
}

export interface PerformInput {
  action: Action;
  /** PM2-resolved app configuration of the desired task (absent for delete). */
  app?: Record<string, unknown>;
  liveProcess?: ComparableProcess;
  desiredProcess?: ComparableProcess;
}

async function adjustCount(ops: ProcessOps, ids: number[], to: number): Promise<number[]> {
  const kept = [...ids].sort((a, b) => a - b);
  while (kept.length > to) await ops.delete(kept.pop()!);
  const first = kept[0];
  while (first !== undefined && kept.length < to) kept.push(await ops.duplicate(first));
  return kept;
}

/** Runs the PM2 calls of one action; throws on the first call PM2 refuses. */
export async function perform(ops: ProcessOps, input: PerformInput): Promise<void> {
  const { action, app } = input;
  const unset = input.desiredProcess ? keysToUnset(input.liveProcess, input.desiredProcess) : [];
  const ids = [...action.pmIds].sort((a, b) => a - b);
  switch (action.action) {
    case 'create':
      await ops.create(app!);
      return;
    case 'delete':
      for (const id of ids) await ops.delete(id);
      return;
    case 'scale':
      await adjustCount(ops, ids, action.to ?? ids.length);
      return;
    case 'start':
      for (const id of ids) await ops.restart(id);
      return;
    case 'restart':
    case 'reload': {
      // Shrink before replacing, so surplus workers are not restarted only to be removed.
      const keep = action.to !== undefined && action.to < ids.length ? await adjustCount(ops, ids, action.to) : ids;
      for (const id of keep) {
        if (action.action === 'reload') await ops.reload(id, app, unset);
        else await ops.restart(id, app, unset);
      }
      if (action.to !== undefined && action.to > keep.length) await adjustCount(ops, keep, action.to);
      return;
    }
  }
}
