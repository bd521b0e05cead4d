/**
 * Applying the revision an environment should run (I/O: PM2 through
 * reconcileOnce): judge the result, roll back on failed health, and turn an
 * error thrown on the way into this environment's failure, returning to the
 * last good revision.
 */
import { codeTaskOf } from '../delivery/deliver.js';
import { readCommitCode } from '../delivery/read-code.js';
import type { BuildEvent } from '../delivery/types.js';
import { DaemonUnreachableError } from '../domain/errors.js';
import type { FailureReason } from '../domain/failure.js';
import type { DesiredState } from '../domain/manifest.js';
import type { ActionResult } from '../domain/plan.js';
import { readLive } from '../live/read.js';
import { manifestFilePaths } from '../manifest/load.js';
import { reconcileOnce, type DeliveryInput, type ReconcileResult } from '../reconcile.js';
import type { EvidenceReport, Outcome } from '../report/evidence.js';
import type { ControllerContext } from './environment.js';
import type { BuildFailureNote } from './state-store.js';
import { describeFailure, secretsOf } from './failure.js';
import { awaitUncheckedServices } from './readiness.js';
import { renderRevision } from './render-revision.js';

/** The code of every task of `state` at `revision`, read from the mirror (one listing, no checkout). */
async function codeAt(ctx: ControllerContext, env: string, revision: string, release: string, state: DesiredState): Promise<DeliveryInput> {
  const snapshot = await readCommitCode({
    gitDir: ctx.source.mirror,
    commit: revision,
    tasks: state.tasks.map(codeTaskOf),
    manifestFiles: manifestFilePaths({ repoRoot: release, path: ctx.path }),
  });
  const observer = ctx.observer;
  const onProgress = observer?.build ? (event: BuildEvent) => observer.build!({ correlationId: ctx.correlationId ?? '', environment: env, event, at: ctx.now().toISOString() }) : undefined;
  return { stateDir: ctx.deliveryDir ?? ctx.stateDir, snapshot, ...(ctx.keepBuilds ? { keepBuilds: ctx.keepBuilds } : {}), ...(onProgress ? { onProgress } : {}) };
}

/** The problem line of a rollback. */
export function rolledBackProblem(r: { from: string; to: string; reason: string }): string {
  return `revision ${r.from} failed (${r.reason}); rolled back to ${r.to}`;
}

interface Applied { result: ReconcileResult; unready: string[] }

/**
 * Applies a revision under a journal entry (cleared once reported). A pass that
 * resumes an interrupted run also waits for the services that run left
 * unchecked; one that does not become ready makes the apply not converged.
 * `progress.planned` turns true once the plan is about to run.
 */
async function apply(ctx: ControllerContext, env: string, revision: string, state: DesiredState, journal: { sequence: number; resumed: boolean }, progress: { planned: boolean } = { planned: false }): Promise<Applied> {
  const release = await ctx.source.release(revision);
  const delivery = await codeAt(ctx, env, revision, release, state);
  const result = await reconcileOnce({ state, repoDir: release, revision, apply: true, delivery }, {
    pm2: ctx.pm2,
    logger: ctx.logger.child({ environment: env }),
    concurrency: ctx.concurrency,
    onPlan: (plan) => {
      progress.planned = true;
      ctx.store.update(env, (m) => { m.pending = { revision, sequence: journal.sequence, plannedActions: plan.actions.length, at: ctx.now().toISOString() }; });
    },
  });
  await ctx.appliedRefs?.record(revision);
  if (!journal.resumed || !result.converged) return { result, unready: [] };
  const unready = await awaitUncheckedServices(ctx.pm2, state, result.results);
  return { result: { ...result, converged: unready.length === 0, live: await readLive(ctx.pm2, state) }, unready };
}

/** Reads, diffs and plans a revision against PM2 without changing anything (builds are looked up, never made). */
export async function observeRevision(ctx: ControllerContext, env: string, revision: string, state: DesiredState): Promise<ReconcileResult> {
  const release = await ctx.source.release(revision);
  const delivery = await codeAt(ctx, env, revision, release, state);
  return reconcileOnce({ state, repoDir: release, revision, apply: false, delivery }, { pm2: ctx.pm2, logger: ctx.logger.child({ environment: env }) });
}

/** What a reconcile decided and did, on its way to the report. */
export interface Verdict {
  outcome: Outcome;
  reason?: FailureReason;
  message?: string;
  problems: string[];
  result?: ReconcileResult;
  results: ActionResult[];
  rollback?: EvidenceReport['rollback'];
  /** A rollback done by an earlier pass that still stands (the tip is marked bad). */
  standing?: EvidenceReport['rollback'];
  /** Builds that failed (of the tip, even when rolled back since, and while it stays marked bad). */
  buildFailures?: BuildFailureNote[];
}

/** Problem lines for delivered tasks whose processes do not run the desired code. */
function codeProblems(result: ReconcileResult): string[] {
  return result.code.filter((c) => !c.adopted && (c.mixed || (c.running !== undefined && c.running !== c.desired)))
    .map((c) => `${c.task}: its processes run ${c.mixed ? 'mixed builds' : `code ${c.running!.slice(0, 12)}`}, the revision wants ${c.desired.slice(0, 12)}`);
}

/**
 * Applies `target` and judges the result; an error thrown on the way (other
 * than PM2 being unreachable) fails this environment, marks the tip bad once
 * its plan started to run (unless `retrying`: a retry policy counts the
 * attempts), and returns to the last good revision.
 */
export async function applyTarget(ctx: ControllerContext, env: string, tip: string, target: string, state: DesiredState, v: Verdict, journal: { sequence: number; resumed: boolean }, opts: { retrying?: boolean } = {}): Promise<void> {
  const memory = ctx.store.env(env);
  const progress = { planned: false };
  let applied: Applied;
  try {
    applied = await apply(ctx, env, target, state, journal, progress);
  } catch (err) {
    if (err instanceof DaemonUnreachableError) throw err;
    const failure = describeFailure(err, secretsOf([state]));
    ctx.logger.error({ err, environment: env, revision: target }, `${env}: applying ${target} failed: ${failure.message}`);
    Object.assign(v, { outcome: 'failed', reason: failure.reason, message: failure.message });
    v.problems.push(`revision ${target}: ${failure.message}`);
    if (target !== tip || !memory.lastGood || memory.lastGood === tip) return;
    // Under a retry policy the attempts are counted instead; the revision is marked bad once they are used up.
    if (progress.planned && !opts.retrying) ctx.store.update(env, (m) => { m.bad = [...m.bad.filter((b) => b.revision !== tip), { revision: tip, reason: failure.message, code: failure.reason }]; });
    await fallBack(ctx, env, memory.lastGood, v, journal);
    return;
  }
  v.result = applied.result;
  v.results.push(...applied.result.results);
  const buildFailures = applied.result.builds.flatMap((b): BuildFailureNote[] => (b.failure ? [{ task: b.task, message: b.failure.message, tail: b.failure.tail }] : []));
  if (buildFailures.length) v.buildFailures = buildFailures;
  const failures = [...applied.result.results.filter((r) => r.result !== 'ok').map((r) => `${r.task}: ${(r.message ?? r.result).split('\n')[0]}`), ...applied.unready];
  if (applied.result.plan.refusal) {
    // Held whole: nothing of the tip ran. The last good revision keeps running and self-healing.
    v.outcome = 'held';
    v.problems.push(applied.result.plan.refusal.reason);
    if (target === tip && memory.lastGood && memory.lastGood !== tip) await fallBack(ctx, env, memory.lastGood, v, journal);
  } else if (applied.result.converged) {
    if (target === tip) ctx.store.update(env, (m) => { m.lastGood = tip; });
  } else if (target === tip && state.policy.rollback && memory.lastGood && memory.lastGood !== tip) {
    const reason = failures.join('; ') || 'a failed job blocks the environment';
    ctx.store.update(env, (m) => { m.bad = [...m.bad.filter((b) => b.revision !== tip), { revision: tip, reason, ...(buildFailures.length ? { builds: buildFailures } : {}) }]; });
    const good = (await renderRevision(ctx, env, memory.lastGood)).state;
    if (good) {
      ctx.logger.warn({ environment: env, from: tip, to: memory.lastGood, reason }, 'health failed after apply; rolling back');
      v.rollback = { from: tip, to: memory.lastGood, reason };
      v.result = (await apply(ctx, env, memory.lastGood, good, { sequence: journal.sequence, resumed: false })).result;
      v.results.push(...v.result.results);
      v.outcome = 'rolled-back';
      v.problems.push(rolledBackProblem(v.rollback));
    }
  } else {
    Object.assign(v, { outcome: 'failed', reason: buildFailures.length ? 'build-failed' : 'apply-failed' });
    v.problems.push(...applied.result.results.filter((r) => r.result !== 'ok').map((r) => `${r.action} ${r.task} ${r.result}: ${(r.message ?? '').split('\n')[0]}`));
    v.problems.push(...codeProblems(applied.result));
    v.problems.push(...applied.unready.map((u) => `not ready after an interrupted apply: ${u}`));
    v.problems.push(...applied.result.plan.holds.filter((h) => h.blocking).map((h) => `${h.task}: ${h.reason}`));
  }
}

/** Re-applies the last good revision after the tip failed with an error; its own failure is only added to the problems. */
async function fallBack(ctx: ControllerContext, env: string, good: string, v: Verdict, journal: { sequence: number }): Promise<void> {
  const state = (await renderRevision(ctx, env, good)).state;
  if (!state) return;
  try {
    v.result = (await apply(ctx, env, good, state, { sequence: journal.sequence, resumed: false })).result;
    v.results.push(...v.result.results);
  } catch (err) {
    if (err instanceof DaemonUnreachableError) throw err;
    v.problems.push(`the last good revision ${good} could not be applied either: ${describeFailure(err, secretsOf([state])).message}`);
  }
}
