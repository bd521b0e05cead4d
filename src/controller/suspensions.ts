/**
 * The suspension records of the status branch (I/O through the status
 * clone): read at the start of every pass, after taking in what others
 * committed, so that `pm2-gitops suspend` on any machine and the API of any
 * host's controller are seen by every controller of the repository.
 */
import type { Logger } from '../adapters/logger.js';
import { parseSuspension, serializeSuspension, suspensionPath, SUSPENSIONS_DIR, type Suspension } from '../report/suspension.js';
import type { StatusRepo } from '../report/status-repo.js';

/** Every readable record of the status clone, by environment. */
export function readSuspensions(status: StatusRepo, logger: Logger): Map<string, Suspension> {
  const out = new Map<string, Suspension>();
  for (const file of status.list(SUSPENSIONS_DIR)) {
    if (!file.endsWith('.json')) continue;
    const env = file.slice(0, -'.json'.length);
    const record = parseSuspension(status.read(suspensionPath(env)) ?? '', env);
    if (record) out.set(env, record);
    else logger.warn({ file: `${SUSPENSIONS_DIR}/${file}` }, `${SUSPENSIONS_DIR}/${file} is not a suspension record of environment ${env}; it is ignored`);
  }
  return out;
}

/** Commits records (one commit) and pushes them; resolves to whether the remote has them now. */
export async function writeSuspensions(status: StatusRepo, records: readonly Suspension[]): Promise<boolean> {
  if (!records.length) return true;
  const message = records.map((r) => `${r.environment}: ${r.suspended ? 'suspended' : 'resumed'} by ${r.by}`).join('; ');
  await status.write(records.map((r) => ({ path: suspensionPath(r.environment), text: serializeSuspension(r) })), message);
  return !status.pending;
}
