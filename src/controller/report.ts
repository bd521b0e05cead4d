/**
 * One environment's report after a reconcile (I/O through the status clone):
 * its status file, its evidence report when something changed or a new
 * failure is to be told (signed, chained, redacted before it is signed), the
 * fleet summary of a host of a fleet, and what the API's observer is told.
 */
import { join } from 'node:path';
import { processSecrets } from '../domain/secret-registry.js';
import type { Conditions } from '../domain/failure.js';
import type { LiveTask } from '../domain/live.js';
import { DEFAULT_POLICY, type DesiredState } from '../domain/manifest.js';
import { redactEnv } from '../diff/redact.js';
import { buildEcosystem } from '../ecosystem/export.js';
import { digest } from '../report/canonical.js';
import { buildEvidence, chainHash, evidenceFileName, serializeEvidence, signEvidence, type EvidenceReport, type Provenance } from '../report/evidence.js';
import { buildFleetSummary } from '../report/fleet.js';
import { reportLayout, type ReportLayout } from '../report/layout.js';
import { buildStatus, parseStatusEvidence, stableStatus, statusRows } from '../report/status.js';
import type { Suspension } from '../report/suspension.js';
import type { ApprovalDecision, CommitFacts } from '../source/approval.js';
import type { Verdict } from './apply-target.js';
import type { ControllerContext, EnvironmentOutcome } from './environment.js';
import { capProblems } from './failure.js';

function liveDigest(live: readonly LiveTask[]): string {
  return digest(live.map((l) => ({ ...l, process: { ...l.process, env: redactEnv(l.process.env as Record<string, unknown>) } })));
}

/** Where this controller's reports on `env` go (DESIGN section 8: one status file and one chain per host of a fleet). */
export function layoutOf(ctx: Pick<ControllerContext, 'host' | 'fleet'>, env: string): ReportLayout {
  return reportLayout(env, ctx.fleet ? ctx.host : undefined);
}

/** The link the next evidence report of `env` continues the chain from. */
export function nextChainLink(ctx: ControllerContext, env: string): { previous: string | null; previousFile?: string; sequence: number } {
  const dir = layoutOf(ctx, env).evidenceDir;
  const files = ctx.status.list(dir).filter((f) => f.endsWith('.json'));
  const last = files[files.length - 1];
  if (!last) return { previous: null, sequence: 1 };
  const text = ctx.status.read(join(dir, last))!;
  return { previous: chainHash(text), previousFile: last, sequence: (JSON.parse(text) as EvidenceReport).sequence + 1 };
}

/** What one report of an environment says (status file, evidence when due, the observer): the verdict of its reconcile and its setting. */
export interface ReportInput extends Verdict {
  tip: string;
  facts: CommitFacts;
  decision: ApprovalDecision;
  interrupted?: { revision: string; plannedActions: number };
  running?: string;
  state?: DesiredState;
  /** false: PM2 could not be read, task states are unknown. */
  liveKnown?: boolean;
  conditions?: Conditions;
  /** Actions ran to bring the running revision back (drift healed). */
  healed?: boolean;
  suspension?: Suspension;
  /** Where the fleet's rollout stands for this host (a line of the status file). */
  rollout?: string;
}

/** The key of what a report says, so an unchanged refusal or failure is reported once. */
function reportKey(r: ReportInput): string {
  const base = `${r.tip}:${r.outcome}`;
  return r.reason ? `${base}:${r.reason}:${digest(capProblems(r.problems)).slice(0, 12)}` : base;
}

/**
 * Keeps the fleet summary `status/<env>.md` made from every host's status
 * file (made again after each rebase onto other hosts' pushes).
 */
function deriveSummary(ctx: ControllerContext, layout: ReportLayout, hostTimeoutMs: number): void {
  const { hostsDir, summaryFile } = layout;
  if (!hostsDir || !summaryFile) return;
  ctx.status.derive(summaryFile, () => {
    const hosts = ctx.status.list(hostsDir).filter((n) => n.endsWith('.md')).map((n) => ({ host: n.slice(0, -3), text: ctx.status.read(join(hostsDir, n)) ?? '' }));
    return hosts.length ? buildFleetSummary({ environment: layout.environment, hosts, now: ctx.now(), hostTimeoutMs }) : undefined;
  });
}

/** Whether a host of a fleet should write its unchanged status again, so that the others still see it (last seen). */
function heartbeatDue(ctx: ControllerContext, previous: string | undefined): boolean {
  if (!ctx.fleet || !previous) return false;
  const seen = Date.parse(/^\| reconciled \| ([^|]+) \|$/m.exec(previous)?.[1]?.trim() ?? '');
  return !(ctx.now().getTime() - seen < ctx.fleet.hostTimeoutMs / 2);
}

/** Writes the status file (and evidence report when due) of one reconcile, and tells the observer. */
export async function report(ctx: ControllerContext, env: string, r: ReportInput): Promise<EnvironmentOutcome> {
  const memory = ctx.store.env(env);
  const layout = layoutOf(ctx, env);
  if (ctx.fleet) deriveSummary(ctx, layout, ctx.fleet.hostTimeoutMs);
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
  const key = reportKey(r);
  const resumed = r.interrupted;
  // Report what changed something or failed; an unchanged refusal or failure only once.
  const due = r.results.length > 0 || resumed !== undefined || (r.outcome !== 'converged' && memory.lastReportKey !== key);
  const files: Array<{ path: string; text: string }> = [];
  let evidence: { file: string; hash: string } | undefined;
  const now = ctx.now().toISOString();
  if (due) {
    const link = nextChainLink(ctx, env);
    // Redacted before it is signed: no env value the controller loaded enters the evidence.
    let report = processSecrets.redactJson(buildEvidence({
      environment: env,
      host: ctx.host,
      timestamp: now,
      sequence: link.sequence,
      outcome: r.outcome,
      ...(r.reason ? { reason: r.reason } : {}),
      provenance,
      precedence,
      reproducibility: r.state ? { desiredDigest: digest(r.state), ecosystemDigest: digest(buildEcosystem(r.state, '/')) } : {},
      drifts: r.result?.drifts.filter((d) => d.kind !== 'in-sync' || d.unhealthy.length > 0) ?? [],
      actions: r.results,
      liveDigest: liveDigest(r.result?.live ?? []),
      problems: capProblems(r.problems),
      ...(r.rollback ? { rollback: r.rollback } : {}),
      ...(resumed ? { resumed: { revision: resumed.revision, plannedActions: resumed.plannedActions } } : {}),
      previous: link.previous,
      ...(link.previousFile ? { previousFile: link.previousFile } : {}),
      ...(ctx.correlationId ? { correlationId: ctx.correlationId } : {}),
    }));
    if (ctx.keys) report = signEvidence(report, ctx.keys.privateKey, ctx.keys.publicKey);
    const text = serializeEvidence(report);
    const path = join(layout.evidenceDir, evidenceFileName(report));
    files.push({ path, text });
    evidence = { file: path, hash: chainHash(text) };
  }
  if (r.results.length) {
    ctx.store.update(env, (m) => {
      m.lastActions ??= {};
      // One line per task: a build failure's output tail has its own section.
      for (const a of r.results) m.lastActions[a.task] = { action: `${a.action} (${a.result})`, ...(a.message ? { message: a.message.split('\n')[0]! } : {}), at: a.startedAt };
    });
  }
  const lastActions = ctx.store.env(env).lastActions ?? {};
  const previousStatus = ctx.status.read(layout.statusFile);
  const status = processSecrets.redactText(buildStatus({
    environment: env,
    namespace: r.state?.namespace ?? '',
    host: ctx.host,
    running: r.running,
    provenance,
    precedence,
    outcome: r.outcome,
    ...(r.reason ? { reason: r.reason } : {}),
    ...(r.message ? { message: r.message } : {}),
    ...(r.conditions ? { conditions: r.conditions } : {}),
    ...(ctx.warnings?.length ? { warnings: ctx.warnings } : {}),
    reconciledAt: now,
    tasks: statusRows((r.state?.tasks ?? []).map((t) => ({ name: t.name, type: t.type })), r.result?.live ?? [], r.results, { liveKnown: r.liveKnown !== false, code: new Map((r.result?.code ?? []).map((c) => [c.task, c])) })
      .map((row) => {
        const last = lastActions[row.task];
        return last ? { ...row, lastAction: `${last.action} at ${last.at}`, health: last.message } : row;
      }),
    observed: r.result !== undefined && r.liveKnown !== false,
    holds: r.result?.plan.holds ?? [],
    problems: r.problems,
    ...(r.buildFailures?.length ? { buildFailures: r.buildFailures } : {}),
    evidence: evidence ?? (previousStatus ? parseStatusEvidence(previousStatus) : undefined),
    badRevisions: memory.bad,
    ...(r.suspension ? { suspension: r.suspension } : {}),
    ...(r.rollback ?? r.standing ? { rollback: r.rollback ?? r.standing } : {}),
    ...(r.rollout ? { rollout: r.rollout } : {}),
  }));
  if (!previousStatus || stableStatus(previousStatus) !== stableStatus(status) || files.length || heartbeatDue(ctx, previousStatus)) files.push({ path: layout.statusFile, text: status });
  if (files.length) {
    await ctx.status.write(files, `${env}: ${r.outcome} at ${r.tip.slice(0, 12)}${evidence ? ' (evidence)' : ''}`);
  }
  ctx.store.update(env, (m) => { m.lastReportKey = key; delete m.pending; });
  ctx.observer?.reported?.({
    correlationId: ctx.correlationId ?? '', environment: env, tip: r.tip, ...(r.running ? { running: r.running } : {}), outcome: r.outcome, ...(r.reason ? { reason: r.reason } : {}),
    problems: r.problems, decision: r.decision, ...(r.state ? { state: r.state } : {}), ...(r.result && r.liveKnown !== false ? { result: r.result } : {}),
    results: r.results, lastActions, ...(evidence ? { evidence: evidence.file } : {}), at: now,
    ...(r.healed ? { healed: true } : {}), ...(r.suspension ? { suspension: r.suspension } : {}), host: ctx.host,
  });
  return { environment: env, outcome: r.outcome, ...(r.reason ? { reason: r.reason } : {}), running: r.running, actions: r.results.length, ...(evidence ? { evidence: evidence.file } : {}) };
}
