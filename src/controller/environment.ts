/**
 * One environment's reconcile in the controller: pick the revision to run
 * (the tip when it is valid, approved and not marked bad; else the last good
 * one), apply it, roll back on failed health, and report (status + evidence).
 * Whatever fails on the way is reported as this environment's failure while
 * the last good revision keeps running and self-healing.
 */
import type { KeyObject } from 'node:crypto';
import type { Logger } from '../adapters/logger.js';
import type { Pm2Client } from '../adapters/pm2.js';
import type { Conditions, FailureReason } from '../domain/failure.js';
import type { DesiredState } from '../domain/manifest.js';
import type { RenderOptions } from '../manifest/load.js';
import type { Outcome } from '../report/evidence.js';
import type { StatusRepo } from '../report/status-repo.js';
import { evaluateApproval, requiredApprovals, type AllowedSigner, type ApprovalDecision, type CommitFacts } from '../source/approval.js';
import type { GitSource } from '../source/git-source.js';
import { DaemonUnreachableError } from '../domain/errors.js';
import type { RetryPolicy } from '../domain/manifest.js';
import type { Suspension } from '../report/suspension.js';
import { applyTarget, observeRevision, rolledBackProblem, type Verdict } from './apply-target.js';
import { describeFailure, secretsOf, type Failure } from './failure.js';
import { afterAttempt, decideGate, staleRetry, type Gate } from './gate.js';
import { renderRevision } from './render-revision.js';
import { peersOf, rolloutGate } from './rollout-gate.js';
import type { ControllerObserver } from './observer.js';
import { layoutOf, nextChainLink, report } from './report.js';
import type { StateStore } from './state-store.js';

export interface ControllerContext {
  source: GitSource;
  status: StatusRepo;
  store: StateStore;
  pm2: Pm2Client;
  logger: Logger;
  stateDir: string;
  /** Root of the build store (builds/, links/): shared with `apply` on this daemon; default: stateDir. */
  deliveryDir?: string;
  /** Builds kept per task (`--keep-builds`). */
  keepBuilds?: number;
  /** Manifest folder inside the repository. */
  path: string;
  host: string;
  /** Report as one host of a fleet (`run --host NAME`): status/<env>/<host>.md, evidence/<env>/<host>/, and the fleet summary. */
  fleet?: { hostTimeoutMs: number; /** How soon a host held back by a rollout looks again (default 5 s). */ rolloutPollMs?: number };
  allowedSigners: AllowedSigner[];
  allowedSignersFile?: string;
  approvalFloor: Record<string, number>;
  keys?: { privateKey: KeyObject; publicKey: KeyObject };
  concurrency?: number;
  /** The operator's render settings (`--allow-root`, `--max-instances`). */
  renderOptions?: RenderOptions;
  /** Keeps each applied revision reachable on the remote (refs/pm2-gitops/applied/<sha>). */
  appliedRefs?: { record(revision: string): Promise<void> };
  /** Repairs made at start (damaged state files), shown in every status file this run writes. */
  warnings?: string[];
  /** Told of each report, build step and process event (the HTTP API); it only looks. */
  observer?: ControllerObserver;
  /** The id of the current pass: in its log lines, its evidence reports and its events. */
  correlationId?: string;
  now(): Date;
}

/** What the controller knows of its surroundings during one pass. */
export interface PassInfo {
  conditions: Conditions;
  /** The environment's suspension record, if any (suspended or resumed). */
  suspension?: Suspension;
}

export interface EnvironmentOutcome {
  environment: string;
  outcome: Outcome;
  reason?: FailureReason;
  running?: string;
  /** PM2 namespace of the revision this reconcile ran (or tried). */
  namespace?: string;
  actions: number;
  evidence?: string;
  /** When a held-back reconcile should run again (a sync window opens, a retry is due). */
  wakeAt?: string;
}

/** Reconciles one environment at the given tip and writes its status (and evidence when due). */
export async function reconcileEnvironment(ctx: ControllerContext, env: string, tip: string, facts: CommitFacts, pass: PassInfo): Promise<EnvironmentOutcome> {
  const memory = ctx.store.env(env);
  // A journal left by a run that stopped before reporting: this reconcile reports for it.
  const interrupted = memory.pending && memory.pending.sequence >= nextChainLink(ctx, env).sequence ? memory.pending : undefined;
  const attempt = await renderRevision(ctx, env, tip);
  const required = requiredApprovals(ctx.approvalFloor[env] ?? 0, attempt.state?.policy.approvals.required);
  const decision: ApprovalDecision = evaluateApproval(facts, required, ctx.allowedSigners);
  const badMark = memory.bad.find((b) => b.revision === tip);
  const v: Verdict = { outcome: 'converged', problems: [...attempt.problems], results: [] };
  if (attempt.failure) Object.assign(v, { outcome: 'failed', reason: attempt.failure.reason, message: attempt.failure.message });
  else if (!attempt.state) v.outcome = 'invalid';
  else if (!decision.ok) { v.outcome = 'not-approved'; v.problems.push(...decision.reasons); }
  else if (badMark?.code && memory.lastGood) {
    // Failed with an error in an earlier pass: the same status as then, so nothing new is reported.
    Object.assign(v, { outcome: 'failed', reason: badMark.code, message: badMark.reason });
    v.problems.push(`revision ${tip}: ${badMark.reason}; the last good revision ${memory.lastGood} keeps running; not retried until a new commit`);
  } else if (badMark && memory.lastGood) {
    // Still rolled back: the same status as the pass that rolled back, so nothing new is reported.
    v.outcome = 'rolled-back';
    v.standing = { from: tip, to: memory.lastGood, reason: badMark.reason };
    if (badMark.builds?.length) v.buildFailures = [...badMark.builds];
    v.problems.push(rolledBackProblem(v.standing));
  } else if (badMark) {
    Object.assign(v, { outcome: 'failed', reason: 'marked-bad' });
    v.problems.push(`revision ${tip} is marked bad (${badMark.reason}); waiting for a new commit`);
  }
  const tipAccepted = v.outcome === 'converged';
  const lastGood = memory.lastGood;
  if (staleRetry(memory, tip)) ctx.store.update(env, (m) => { delete m.retry; });
  // The windows in force are those of the revision that runs: a commit cannot open its own window.
  const runningState = lastGood && lastGood !== tip ? (await renderRevision(ctx, env, lastGood)).state : attempt.state;
  const windowGate = decideGate({ environment: env, tip, tipAccepted, ...(lastGood ? { lastGood } : {}), ...(pass.suspension ? { suspension: pass.suspension } : {}), ...(runningState ?? attempt.state ? { runningPolicy: (runningState ?? attempt.state)!.policy } : {}), ...(attempt.state ? { tipPolicy: attempt.state.policy } : {}), ...(memory.retry ? { retry: memory.retry } : {}), now: ctx.now() });
  const { gate, line: rollout } = fleetGate(ctx, env, windowGate, { tip, tipAccepted, ...(lastGood ? { lastGood } : {}), state: runningState ?? attempt.state });
  const target = tipAccepted && (gate.mode === 'apply' || !lastGood) ? tip : lastGood;
  let targetState = target === undefined ? undefined : target === tip ? attempt.state : runningState;
  if (target && !targetState) targetState = (await renderRevision(ctx, env, target)).state;

  if (target && targetState) {
    const journal = { sequence: nextChainLink(ctx, env).sequence, resumed: interrupted !== undefined };
    if (gate.mode === 'observe' || (target === tip && gate.mode !== 'apply')) await observeTarget(ctx, env, target, targetState, v);
    else await applyTarget(ctx, env, tip, target, targetState, v, journal, { retrying: target === tip && Boolean(attempt.state?.policy.retry) });
  }
  const wakeAt = gateOutcome(ctx, env, v, gate, { tip, target, policy: target === tip && gate.mode === 'apply' ? attempt.state?.policy.retry : undefined });
  const healed = target !== undefined && target === lastGood && gate.mode !== 'observe' && v.results.length > 0 && !v.rollback;
  const running = ctx.store.env(env).lastGood ?? (gate.mode === 'apply' && v.result?.converged ? target : undefined);
  const suspension = pass.suspension?.suspended ? { suspension: pass.suspension } : {};
  const out = await report(ctx, env, { ...v, tip, facts, decision, interrupted, running, state: attempt.state ?? targetState, conditions: pass.conditions, healed, ...suspension, ...(rollout ? { rollout } : {}) });
  return { ...out, ...((targetState ?? attempt.state) ? { namespace: (targetState ?? attempt.state)!.namespace } : {}), ...(wakeAt ? { wakeAt: wakeAt.toISOString() } : {}) };
}

/** The gate narrowed by the environment's rollout over the fleet (the rollout of the revision that runs). */
function fleetGate(ctx: ControllerContext, env: string, gate: Gate, a: { tip: string; tipAccepted: boolean; lastGood?: string; state: DesiredState | undefined }): { gate: Gate; line?: string } {
  const rollout = a.state?.rollout;
  if (!ctx.fleet || !rollout) return { gate };
  const now = ctx.now();
  const peers = peersOf(ctx.status, layoutOf(ctx, env), now, ctx.fleet.hostTimeoutMs);
  const applying = a.tipAccepted && a.tip !== a.lastGood && gate.mode === 'apply';
  return rolloutGate(gate, { rollout, self: ctx.host, tip: a.tip, applying, ...(a.lastGood ? { lastGood: a.lastGood } : {}), peers, now, pollMs: ctx.fleet.rolloutPollMs ?? 5_000 });
}

/**
 * Folds what the gate held back into the verdict, and keeps the retry
 * bookkeeping of an attempt at the tip. Returns when the environment should
 * be looked at again (a window opening, the next attempt).
 */
function gateOutcome(ctx: ControllerContext, env: string, v: Verdict, gate: Gate, a: { tip: string; target?: string; policy?: RetryPolicy }): Date | undefined {
  if (gate.outcome === 'suspended' || (gate.outcome && v.outcome === 'converged')) {
    Object.assign(v, { outcome: gate.outcome, message: gate.message });
    delete v.reason;
  }
  v.problems.push(...gate.problems);
  if (gate.healPaused && v.result && v.result.plan.actions.length > 0) {
    if (v.outcome === 'converged') Object.assign(v, { outcome: 'waiting', message: gate.healPaused });
    v.problems.push(`${gate.healPaused}; ${v.result.plan.actions.length} action(s) wait for it to open`);
  }
  if (a.target !== a.tip || !a.policy) return gate.wakeAt;
  const failed = v.outcome === 'failed';
  const next = afterAttempt(ctx.store.env(env), { tip: a.tip, policy: a.policy, failed, ...(v.reason ? { reason: v.reason } : {}), ...(v.message ?? v.problems.at(-1) ? { message: v.message ?? v.problems.at(-1)! } : {}), now: ctx.now() });
  if (next.problem) v.problems.push(next.problem);
  if (!next.retry && !next.exhausted && !ctx.store.env(env).retry) return gate.wakeAt;
  ctx.store.update(env, (m) => {
    if (next.retry) m.retry = next.retry;
    else delete m.retry;
    if (next.exhausted) m.bad = [...m.bad.filter((b) => b.revision !== a.tip), { revision: a.tip, reason: next.problem!, code: v.reason ?? 'apply-failed' }];
  });
  return next.retry ? new Date(next.retry.nextAt) : gate.wakeAt;
}

/** The running revision observed only (a suspended environment, a closed window): read, diffed and planned, never changed. */
async function observeTarget(ctx: ControllerContext, env: string, target: string, state: DesiredState, v: Verdict): Promise<void> {
  try {
    v.result = await observeRevision(ctx, env, target, state);
  } catch (err) {
    if (err instanceof DaemonUnreachableError) throw err;
    const failure = describeFailure(err, secretsOf([state]));
    Object.assign(v, { outcome: 'failed', reason: failure.reason, message: failure.message });
    v.problems.push(`revision ${target}: ${failure.message}`);
  }
}

/**
 * Reports a failure that stopped one environment's reconcile before it could
 * report itself (PM2 unreachable, or an error outside the apply): nothing
 * running is observed or changed; task states show as unknown.
 */
export async function reportFailure(ctx: ControllerContext, env: string, tip: string, facts: CommitFacts, failure: Failure, pass: PassInfo): Promise<EnvironmentOutcome> {
  const memory = ctx.store.env(env);
  const state = (await renderRevision(ctx, env, memory.lastGood ?? tip)).state;
  const required = requiredApprovals(ctx.approvalFloor[env] ?? 0, state?.policy.approvals.required);
  const decision = evaluateApproval(facts, required, ctx.allowedSigners);
  const problems = [failure.message];
  const out = await report(ctx, env, { tip, facts, decision, outcome: 'failed', reason: failure.reason, message: failure.message, problems, results: [], running: memory.lastGood, state, liveKnown: false, conditions: pass.conditions });
  return { ...out, ...(state ? { namespace: state.namespace } : {}) };
}
