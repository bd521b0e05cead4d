/**
 * Readiness after an interrupted apply (I/O: PM2 and probes). Actions that a
 * killed run had already sent to PM2 look done to the next diff, so nothing
 * would check their health: the resuming pass waits for those services here.
 */
import { availableParallelism } from 'node:os';
import type { Pm2Client } from '../adapters/pm2.js';
import { systemClock } from '../apply/ops.js';
import { LiveSnapshot } from '../apply/snapshot.js';
import { waitService } from '../apply/wait.js';
import { pm2NameOf, type DesiredState } from '../domain/manifest.js';
import type { ActionResult } from '../domain/plan.js';
import { instanceCount } from '../live/normalize.js';
import { defaultProber } from '../reconcile.js';

/**
 * Waits for every service of `state` that has no result in `results` (those
 * were checked when their action ran); resolves to one `task: detail` line per
 * service that did not become ready within its health timeout.
 */
export async function awaitUncheckedServices(pm2: Pm2Client, state: DesiredState, results: readonly ActionResult[]): Promise<string[]> {
  const acted = new Set(results.map((r) => r.task));
  const snapshot = new LiveSnapshot(pm2, systemClock);
  const since = systemClock.now();
  const cpus = availableParallelism();
  const failures = await Promise.all(state.tasks.filter((t) => t.type === 'service' && !acted.has(t.name)).map(async (t) => {
    const target = { namespace: state.namespace, name: pm2NameOf(t), type: t.type, instances: instanceCount(t.process.instances, cpus), since, ...(t.health ? { health: t.health } : {}) };
    const readiness = await waitService(target, snapshot, defaultProber, systemClock);
    return readiness.ok ? undefined : `${t.name}: ${readiness.detail}`;
  }));
  return failures.filter((f): f is string => f !== undefined);
}
