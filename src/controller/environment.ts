/**
 * One environment's reconcile in the controller: pick the revision to run
 * (the tip when it is valid, approved and not marked bad; else the last good
 * one), apply it, roll back on failed health, and report (status + evidence).
 */
import type { KeyObject } from 'node:crypto';
import { mkdirSync, renameSync, rmSync, symlinkSync } from 'node:fs';
import { join } from 'node:path';
import type { Logger } from '../adapters/logger.js';
import type { Pm2Client } from '../adapters/pm2.js';
import { formatDiagnostic } from '../domain/diagnostic.js';
import { ValidationError } from '../domain/errors.js';
import type { LiveTask } from '../domain/live.js';
import { DEFAULT_POLICY, type DesiredState } from '../domain/manifest.js';
import type { ActionResult } from '../domain/plan.js';
import { redactEnv } from '../diff/redact.js';
import { buildEcosystem } from '../ecosystem/export.js';
import { readLive } from '../live/read.js';
import { loadDesiredState } from '../manifest/load.js';
import { reconcileOnce, type ReconcileResult } from '../reconcile.js';
import { digest } from '../report/canonical.js';
import { buildEvidence, chainHash, evidenceFileName, serializeEvidence, signEvidence, type EvidenceReport, type Outcome, type Provenance } from '../report/evidence.js';
import { buildStatus, parseStatusEvidence, stableStatus, statusRows } from '../report/status.js';
import type { StatusRepo } from '../report/status-repo.js';
import { evaluateApproval, requiredApprovals, type AllowedSigner, type ApprovalDecision, type CommitFacts } from '../source/approval.js';
import type { GitSource } from '../source/git-source.js';
import { awaitUncheckedServices } from './readiness.js';
import type { StateStore } from './state-store.js';

export interface ControllerContext {
  source: GitSource;
  status: StatusRepo;
  store: StateStore;
  pm2: Pm2Client;
  logger: Logger;
  stateDir: string;
  /** Manifest folder inside the repository. */
  path: string;
  host: string;
  allowedSigners: AllowedSigner[];
  allowedSignersFile?: string;
  approvalFloor: Record<string, number>;
  keys?: { privateKey: KeyObject; publicKey: KeyObject };
  concurrency?: number;
  /** Keeps each applied revision reachable on the remote (refs/pm2-gitops/applied/<sha>). */
  appliedRefs?: { record(revision: string): Promise<void> };
  now(): Date;
}

export interface EnvironmentOutcome {
  environment: string;
  outcome: Outcome;
  running?: string;
  actions: number;
  evidence?: string;
}

/** Points `envs/<env>/current` at a release, atomically; resolves to the link's path. */
function switchCurrent(ctx: ControllerContext, env: string, release: string): string {
  const dir = join(ctx.stateDir, 'envs', env);
  mkdirSync(dir, { recursive: true });
  const link = join(dir, 'current');
  const tmp = `${link}.${process.pid}.tmp`;
  rmSync(tmp, { force: true });
  symlinkSync(release, tmp);
  renameSync(tmp, link);
  return link;
}

function liveDigest(live: readonly LiveTask[]): string {
  return digest(live.map((l) => ({ ...l, process: { ...l.process, env: redactEnv(l.process.env as Record<string, unknown>) } })));
}

interface Attempt { state?: DesiredState; problems: string[] }

function rolledBackProblem(r: { from: string; to: string; reason: string }): string {
  return `revision ${r.from} failed (${r.reason}); rolled back to ${r.to}`;
}

function render(release: string, ctx: ControllerContext, env: string): Attempt {
  try {
    return { state: loadDesiredState({ repoRoot: release, path: ctx.path }, env), problems: [] };
  } catch (err) {
    if (err instanceof ValidationError) {
      return { problems: err.diagnostics.length ? err.diagnostics.map((d) => formatDiagnostic({ ...d, file: join(ctx.path === '.' ? '' : ctx.path, d.file) })) : [err.message] };
    }
    throw err;
  }
}

interface Applied { result: ReconcileResult; unready: string[] }

/**
 * Applies a revision under a journal entry (cleared once reported). A pass that
 * resumes an interrupted run also waits for the services that run left
 * unchecked; one that does not become ready makes the apply not converged.
 */
async function apply(ctx: ControllerContext, env: string, revision: string, state: DesiredState, journal: { sequence: number; resumed: boolean }): Promise<Applied> {
  const release = await ctx.source.release(revision);
  const repoDir = switchCurrent(ctx, env, release);
  const result = await reconcileOnce({ state, repoDir, revision, apply: true }, {
    pm2: ctx.pm2,
    logger: ctx.logger.child({ environment: env }),
    concurrency: ctx.concurrency,
    onPlan: (plan) => ctx.store.update(env, (m) => { m.pending = { revision, sequence: journal.sequence, plannedActions: plan.actions.length, at: ctx.now().toISOString() }; }),
  });
  await ctx.appliedRefs?.record(revision);
  if (!journal.resumed || !result.converged) return { result, unready: [] };
  const unready = await awaitUncheckedServices(ctx.pm2, state, result.results);
  return { result: { ...result, converged: unready.length === 0, live: await readLive(ctx.pm2, state) }, unready };
}

function nextChainLink(ctx: ControllerContext, env: string): { previous: string | null; previousFile?: string; sequence: number } {
  const files = ctx.status.list(join('evidence', env)).filter((f) => f.endsWith('.json'));
  const last = files[files.length - 1];
  if (!last) return { previous: null, sequence: 1 };
  const text = ctx.status.read(join('evidence', env, last))!;
  return { previous: chainHash(text), previousFile: last, sequence: (JSON.parse(text) as EvidenceReport).sequence + 1 };
}

/** Reconciles one environment at the given tip and writes its status (and evidence when due). */
export async function reconcileEnvironment(ctx: ControllerContext, env: string, tip: string, facts: CommitFacts): Promise<EnvironmentOutcome> {
  const memory = ctx.store.env(env);
  // A journal left by a run that stopped before reporting: this reconcile reports for it.
  const interrupted = memory.pending && memory.pending.sequence >= nextChainLink(ctx, env).sequence ? memory.pending : undefined;
  const tipRelease = await ctx.source.release(tip);
  const attempt = render(tipRelease, ctx, env);
  const required = requiredApprovals(ctx.approvalFloor[env] ?? 0, attempt.state?.policy.approvals.required);
  const decision: ApprovalDecision = evaluateApproval(facts, required, ctx.allowedSigners);
  const badMark = memory.bad.find((b) => b.revision === tip);
  let outcome: Outcome = 'converged';
  let standing: EvidenceReport['rollback'];
  const problems = [...attempt.problems];
  if (!attempt.state) outcome = 'invalid';
  else if (!decision.ok) { outcome = 'not-approved'; problems.push(...decision.reasons); }
  else if (badMark && memory.lastGood) {
    // Still rolled back: the same status as the pass that rolled back, so nothing new is reported.
    outcome = 'rolled-back';
    standing = { from: tip, to: memory.lastGood, reason: badMark.reason };
    problems.push(rolledBackProblem(standing));
  } else if (badMark) { outcome = 'failed'; problems.push(`revision ${tip} is marked bad (${badMark.reason}); waiting for a new commit`); }
  const tipAccepted = outcome === 'converged';
  const target = tipAccepted ? tip : memory.lastGood;
  let targetState = tipAccepted ? attempt.state : undefined;
  if (!tipAccepted && target) targetState = render(await ctx.source.release(target), ctx, env).state;

  const sequenceAtStart = nextChainLink(ctx, env).sequence;
  let result: ReconcileResult | undefined;
  let rollback: EvidenceReport['rollback'];
  const results: ActionResult[] = [];
  if (target && targetState) {
    const applied = await apply(ctx, env, target, targetState, { sequence: sequenceAtStart, resumed: interrupted !== undefined });
    result = applied.result;
    results.push(...result.results);
    const failures = [...result.results.filter((r) => r.result !== 'ok').map((r) => `${r.task}: ${r.message ?? r.result}`), ...applied.unready];
    if (result.plan.refusal) {
      // Held whole: nothing of the tip ran. The last good revision keeps running and self-healing.
      outcome = 'held';
      problems.push(result.plan.refusal.reason);
      if (target === tip && memory.lastGood && memory.lastGood !== tip) {
        const good = render(await ctx.source.release(memory.lastGood), ctx, env).state;
        if (good) {
          result = (await apply(ctx, env, memory.lastGood, good, { sequence: sequenceAtStart, resumed: false })).result;
          results.push(...result.results);
        }
      }
    } else if (result.converged) {
      if (target === tip) ctx.store.update(env, (m) => { m.lastGood = tip; });
    } else if (target === tip && targetState.policy.rollback && memory.lastGood && memory.lastGood !== tip) {
      const reason = failures.join('; ') || 'a failed job blocks the environment';
      ctx.store.update(env, (m) => { m.bad = [...m.bad.filter((b) => b.revision !== tip), { revision: tip, reason }]; });
      const good = render(await ctx.source.release(memory.lastGood), ctx, env).state;
      if (good) {
        ctx.logger.warn({ environment: env, from: tip, to: memory.lastGood, reason }, 'health failed after apply; rolling back');
        rollback = { from: tip, to: memory.lastGood, reason };
        result = (await apply(ctx, env, memory.lastGood, good, { sequence: sequenceAtStart, resumed: false })).result;
        results.push(...result.results);
        outcome = 'rolled-back';
        problems.push(rolledBackProblem(rollback));
      }
    } else {
      outcome = 'failed';
      problems.push(...result.results.filter((r) => r.result !== 'ok').map((r) => `${r.action} ${r.task} ${r.result}: ${r.message ?? ''}`));
      problems.push(...applied.unready.map((u) => `not ready after an interrupted apply: ${u}`));
      problems.push(...result.plan.holds.filter((h) => h.blocking).map((h) => `${h.task}: ${h.reason}`));
    }
  }
  return report(ctx, env, { tip, facts, decision, outcome, problems, result, results, rollback, standing, interrupted, running: ctx.store.env(env).lastGood ?? (result?.converged ? target : undefined), state: attempt.state ?? targetState });
}

interface ReportInput {
  tip: string;
  facts: CommitFacts;
  decision: ApprovalDecision;
  outcome: Outcome;
  problems: string[];
  result?: ReconcileResult;
  results: ActionResult[];
  rollback?: EvidenceReport['rollback'];
  /** A rollback done by an earlier pass that still stands (the tip is marked bad). */
  standing?: EvidenceReport['rollback'];
  interrupted?: { revision: string; plannedActions: number };
  running?: string;
  state?: DesiredState;
}

async function report(ctx: ControllerContext, env: string, r: ReportInput): Promise<EnvironmentOutcome> {
  const memory = ctx.store.env(env);
  const provenance: Provenance = {
    revision: r.tip,
    author: r.facts.author,
    committer: r.facts.committer,
    subject: r.facts.subject,
    signature: { verified: r.facts.signature.verified && r.facts.signature.code === 'G', ...(r.facts.signature.signer ? { signer: r.facts.signature.signer } : {}), ...(r.facts.signature.key ? { key: r.facts.signature.key } : {}), detail: r.facts.signature.detail },
    approvers: r.decision.approvers,
  };
  const policy = r.state?.policy ?? DEFAULT_POLICY;
  const precedence = { policy, approvals: { required: r.decision.required, granted: r.decision.granted, ok: r.decision.ok, reasons: r.decision.reasons } };
  const key = `${r.tip}:${r.outcome}`;
  const resumed = r.interrupted;
  // Report what changed something or failed; an unchanged refusal or failure only once.
  const due = r.results.length > 0 || resumed !== undefined || (r.outcome !== 'converged' && memory.lastReportKey !== key);
  const files: Array<{ path: string; text: string }> = [];
  let evidence: { file: string; hash: string } | undefined;
  const now = ctx.now().toISOString();
  if (due) {
    const link = nextChainLink(ctx, env);
    let report = buildEvidence({
      environment: env,
      host: ctx.host,
      timestamp: now,
      sequence: link.sequence,
      outcome: r.outcome,
      provenance,
      precedence,
      reproducibility: r.state ? { desiredDigest: digest(r.state), ecosystemDigest: digest(buildEcosystem(r.state, '/')) } : {},
      drifts: r.result?.drifts.filter((d) => d.kind !== 'in-sync' || d.unhealthy.length > 0) ?? [],
      actions: r.results,
      liveDigest: liveDigest(r.result?.live ?? []),
      problems: r.problems,
      ...(r.rollback ? { rollback: r.rollback } : {}),
      ...(resumed ? { resumed: { revision: resumed.revision, plannedActions: resumed.plannedActions } } : {}),
      previous: link.previous,
      ...(link.previousFile ? { previousFile: link.previousFile } : {}),
    });
    if (ctx.keys) report = signEvidence(report, ctx.keys.privateKey, ctx.keys.publicKey);
    const text = serializeEvidence(report);
    const path = join('evidence', env, evidenceFileName(report));
    files.push({ path, text });
    evidence = { file: path, hash: chainHash(text) };
  }
  if (r.results.length) {
    ctx.store.update(env, (m) => {
      m.lastActions ??= {};
      for (const a of r.results) m.lastActions[a.task] = { action: `${a.action} (${a.result})`, ...(a.message ? { message: a.message } : {}), at: a.startedAt };
    });
  }
  const lastActions = ctx.store.env(env).lastActions ?? {};
  const previousStatus = ctx.status.read(join('status', `${env}.md`));
  const status = buildStatus({
    environment: env,
    namespace: r.state?.namespace ?? '',
    host: ctx.host,
    running: r.running,
    provenance,
    precedence,
    outcome: r.outcome,
    reconciledAt: now,
    tasks: statusRows((r.state?.tasks ?? []).map((t) => ({ name: t.name, type: t.type })), r.result?.live ?? [], r.results)
      .map((row) => {
        const last = lastActions[row.task];
        return last ? { ...row, lastAction: `${last.action} at ${last.at}`, health: last.message } : row;
      }),
    holds: r.result?.plan.holds ?? [],
    problems: r.problems,
    evidence: evidence ?? (previousStatus ? parseStatusEvidence(previousStatus) : undefined),
    badRevisions: memory.bad,
    ...(r.rollback ?? r.standing ? { rollback: r.rollback ?? r.standing } : {}),
  });
  if (!previousStatus || stableStatus(previousStatus) !== stableStatus(status) || files.length) files.push({ path: join('status', `${env}.md`), text: status });
  if (files.length) {
    await ctx.status.write(files, `${env}: ${r.outcome} at ${r.tip.slice(0, 12)}${evidence ? ' (evidence)' : ''}`);
  }
  ctx.store.update(env, (m) => { m.lastReportKey = key; delete m.pending; });
  return { environment: env, outcome: r.outcome, running: r.running, actions: r.results.length, ...(evidence ? { evidence: evidence.file } : {}) };
}
