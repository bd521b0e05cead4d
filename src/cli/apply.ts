import { ApplyError } from '../domain/errors.js';
import { reconcileOnce } from '../reconcile.js';
import { COLOR, formatLive, formatPlan, formatProgress, formatResults, PLAIN, type ProgressEvent } from './format.js';
import type { CliIo, SourceOptions } from './io.js';
import { openSession } from './session.js';
import { refuseUnderController } from './apply-guard.js';
import { approvalFloor, checkApproval } from './approvals.js';

/**
 * `pm2-gitops apply`: reconcile once; exit 3 when the environment requires
 * approvals the commit lacks, exit 4 when an action failed or a failed job
 * blocks, exit 2 while a controller runs the environment on this daemon
 * (unless --force).
 */
export async function applyCommand(opts: SourceOptions & { concurrency?: string; force?: boolean; stateDir?: string; keepBuilds?: string; allowedSigners?: string; requireApprovals?: string[] }, io: CliIo): Promise<number> {
  const floor = approvalFloor(opts.requireApprovals ?? []);
  const s = await openSession(opts);
  try {
    await checkApproval({ state: s.state, repoDir: s.repoDir, revision: s.revision, floor, ...(opts.allowedSigners ? { allowedSigners: opts.allowedSigners } : {}) });
  } catch (err) {
    await s.close();
    throw err;
  }
  await refuseUnderController(s, opts.force);
  const style = io.isTty ? COLOR : PLAIN;
  // In a terminal each step shows as it starts and ends (on stderr, so stdout keeps the summary).
  const progress = io.isTty && !opts.json ? (e: ProgressEvent): void => io.err(formatProgress(e, style)) : undefined;
  let result;
  try {
    result = await reconcileOnce(
      { state: s.state, repoDir: s.repoDir, revision: s.revision, apply: true, delivery: progress ? { ...s.delivery, onProgress: (event) => progress({ kind: 'build', event }) } : s.delivery },
      {
        pm2: s.pm2,
        logger: s.logger,
        concurrency: opts.concurrency ? Number(opts.concurrency) : undefined,
        ...(progress ? {
          onStart: (action) => progress({ kind: 'action-start', action }),
          onHealth: (action) => progress({ kind: 'health-start', action }),
          onResult: (r) => progress({ kind: 'action-end', result: r }),
        } : {}),
      },
    );
  } finally {
    await s.close();
  }
  if (opts.json) {
    io.out(`${JSON.stringify({
      environment: result.environment,
      namespace: result.namespace,
      revision: result.revision,
      converged: result.converged,
      actions: result.results.map((r) => ({ task: r.task, action: r.action, reason: r.reason, result: r.result, message: r.message, patch: r.patch, startedAt: r.startedAt, durationMs: r.durationMs })),
      holds: result.plan.holds,
      ...(result.plan.refusal ? { refusal: result.plan.refusal } : {}),
      inSync: result.plan.inSync,
    }, null, 2)}\n`);
  } else {
    io.out(formatPlan(result.plan, style));
    if (result.results.length) io.out(formatResults(result.results, style));
    io.out(`\n${style.bold(`${result.environment} (namespace ${result.namespace}) at ${result.revision}:`)}\n${formatLive(result.live, Date.now())}`);
  }
  if (result.plan.refusal) throw new ApplyError(`apply of ${result.environment} was not run: ${result.plan.refusal.reason}`);
  if (!result.converged) {
    const failed = result.results.filter((r) => r.result !== 'ok').map((r) => `${r.task} (${r.result}: ${r.message})`);
    const blocking = result.plan.holds.filter((h) => h.blocking).map((h) => `${h.task} (${h.reason})`);
    throw new ApplyError(`apply of ${result.environment} did not converge; the rest of the environment keeps running: ${[...failed, ...blocking].join('; ')}`);
  }
  return 0;
}
