/**
 * Status files (pure): `status/<env>.md`, for people. Values that change on
 * every look (uptime) are written as points in time, so an unchanged
 * environment produces an unchanged file. Each list has a byte budget, so a
 * file stays under STATUS_MAX_BYTES whatever the reconcile found.
 */
import type { Conditions, FailureReason } from '../domain/failure.js';
import { hasExited, type LiveTask } from '../domain/live.js';
import type { ActionResult, Hold } from '../domain/plan.js';
import type { Outcome, Provenance, Precedence } from './evidence.js';

/** The shapes of task states (DESIGN.md section 6). */
export const SHAPES = {
  starting: '△ starting',
  online: '○ online',
  stopping: '⬠ stopping',
  stopped: '□ stopped',
  errored: '△ errored (failing)',
  deleted: '∅ deleted',
  completed: '□ completed',
  missing: '∅ not running',
  unknown: '? unknown (PM2 unreachable)',
} as const;

/** The largest status file buildStatus writes. */
export const STATUS_MAX_BYTES = 256 * 1024;

/** Byte budgets of the parts of a status file; with the header they stay under STATUS_MAX_BYTES. */
const BUDGET = { tasks: 152 * 1024, builds: 8 * 1024, problems: 48 * 1024, holds: 24 * 1024, bad: 8 * 1024, warnings: 4 * 1024, line: 2 * 1024 };

export type ShapeState = keyof typeof SHAPES;

export interface StatusTaskRow {
  task: string;
  type: 'service' | 'job';
  state: ShapeState;
  pids: number[];
  restarts: number;
  /** ISO time the oldest online worker started, if any. */
  since?: string;
  lastAction?: string;
  health?: string;
  /** Code digests (DESIGN section 9): the one its processes run (from their marker) and the one the revision wants. */
  code?: StatusCode;
}

/**
 * A task's code: the digest its processes run (absent when none runs or PM2
 * could not be read), the one desired, `mixed` when workers run different
 * builds, `adopted` when its processes run from the repository as found.
 */
export interface StatusCode { running?: string; desired?: string; mixed?: boolean; adopted?: boolean }

/** A build that failed in this reconcile: task, step, exit code and the tail of its output (redacted). */
export interface StatusBuildFailure {
  task: string;
  message: string;
  tail: readonly string[];
}

export interface StatusInput {
  environment: string;
  namespace: string;
  host: string;
  /** Revision that is running (the last good one when the newest was refused or rolled back). */
  running?: string;
  provenance?: Provenance;
  precedence?: Precedence;
  outcome: Outcome;
  /** Set when the outcome is `failed`: what kind of failure, for scripts. */
  reason?: FailureReason;
  /** The one-line human message of a failure. */
  message?: string;
  /** Outages of the source or the daemon, whatever the outcome. */
  conditions?: Conditions;
  /** Things the controller repaired or could not recover (damaged state files), for the operator. */
  warnings?: string[];
  reconciledAt: string;
  tasks: StatusTaskRow[];
  holds: Hold[];
  problems: string[];
  buildFailures?: StatusBuildFailure[];
  /** The task rows come from PM2 read in this reconcile (not only from the manifests). */
  observed?: boolean;
  evidence?: { file: string; hash: string };
  /** Revisions marked bad, not retried until a new commit arrives. */
  badRevisions: Array<{ revision: string; reason: string }>;
  rollback?: { from: string; to: string; reason: string };
  /** Set while the environment is suspended: who suspended it, when, and why. */
  suspension?: { by: string; at: string; reason?: string };
  /** Where the fleet's progressive rollout stands for this host (`spec.rollout`). */
  rollout?: string;
}

/** Maps a live task's instance statuses to one shape. */
export function shapeOf(live: LiveTask | undefined, type: 'service' | 'job'): ShapeState {
  if (!live || live.instances.length === 0) return 'missing';
  const statuses = live.instances.map((i) => i.status);
  if (statuses.some((s) => s === 'errored')) return 'errored';
  if (type === 'job' && statuses.every((s) => hasExited(s))) {
    return live.instances.every((i) => (i.exitCode ?? 0) === 0) ? 'completed' : 'errored';
  }
  if (statuses.some((s) => s === 'stopping')) return 'stopping';
  if (statuses.some((s) => s === 'launching' || s === 'waiting restart' || s === 'one-launch-status')) return 'starting';
  if (statuses.every((s) => s === 'online')) return 'online';
  return 'stopped';
}

/**
 * Status rows for the declared tasks and any undeclared live task, with each
 * task's last action; with `liveKnown: false` (PM2 could not be read) states
 * are `unknown` rather than claimed missing.
 */
export function statusRows(declared: Array<{ name: string; type: 'service' | 'job' }>, live: readonly LiveTask[], results: readonly ActionResult[], opts: { liveKnown?: boolean; code?: ReadonlyMap<string, StatusCode> } = {}): StatusTaskRow[] {
  const liveByName = new Map(live.map((l) => [l.name, l]));
  const names = new Map(declared.map((d) => [d.name, d.type]));
  for (const l of live) if (!names.has(l.name)) names.set(l.name, 'service');
  for (const r of results) if (!names.has(r.task)) names.set(r.task, r.type);
  return [...names.entries()].sort(([a], [b]) => a.localeCompare(b)).map(([task, type]) => {
    const l = liveByName.get(task);
    const result = results.find((r) => r.task === task);
    const online = l?.instances.filter((i) => i.status === 'online') ?? [];
    const deleted = result?.action === 'delete' && result.result === 'ok';
    return {
      task,
      type,
      state: deleted ? 'deleted' : opts.liveKnown === false ? 'unknown' : shapeOf(l, type),
      pids: (l?.instances ?? []).map((i) => i.pid).filter((p) => p > 0),
      restarts: (l?.instances ?? []).reduce((n, i) => n + i.restarts, 0),
      ...(online.length ? { since: new Date(Math.min(...online.map((i) => i.startedAt))).toISOString() } : {}),
      ...(result ? { lastAction: `${result.action} (${result.result})`, health: result.message } : {}),
      ...codeOf(opts.code?.get(task), opts.liveKnown !== false),
    };
  });
}

function codeOf(code: StatusCode | undefined, liveKnown: boolean): { code?: StatusCode } {
  if (!code) return {};
  // Without PM2 nobody can tell which code runs: only the desired digest is said.
  if (!liveKnown) return code.desired ? { code: { desired: code.desired } } : {};
  return { code };
}

const short = (d: string): string => d.slice(0, 12);

/**
 * The code cell: the running digest (12 hex) when it is the desired one,
 * `running → desired` while they differ, `– → desired` while none runs.
 */
export function codeCell(code: StatusCode | undefined): string {
  if (!code) return '–';
  if (code.adopted) return `\`${code.desired ? short(code.desired) : '–'}\` (adopted, runs from the repository)`;
  const running = code.mixed ? 'mixed' : code.running ? `\`${short(code.running)}\`` : '–';
  if (!code.desired || (code.running === code.desired && !code.mixed)) return running;
  return `${running} → \`${short(code.desired)}\``;
}

/** Cuts a line to `max` bytes (UTF-8), marking the cut. */
export function clip(text: string, max: number = BUDGET.line): string {
  if (Buffer.byteLength(text) <= max) return text;
  // A cut inside a multi-byte character decodes to U+FFFD: drop it.
  const cut = Buffer.from(text).subarray(0, max - 4).toString('utf8').replace(/\uFFFD+$/, '');
  return `${cut} …`;
}

/** The lines that fit in `budget` bytes, then one line saying how many were left out. */
export function fitLines(lines: readonly string[], budget: number, more: (n: number) => string): string[] {
  const out: string[] = [];
  let used = 0;
  for (const [i, line] of lines.entries()) {
    const clipped = clip(line);
    used += Buffer.byteLength(clipped) + 1;
    if (used > budget) {
      out.push(more(lines.length - i));
      return out;
    }
    out.push(clipped);
  }
  return out;
}

function cell(text: string | undefined): string {
  return clip((text ?? '').replace(/\|/g, '\\|').replace(/\n/g, ' ')) || '–';
}

function runningText(s: StatusInput): string {
  const last = s.running ? `\`${s.running}\`` : undefined;
  // Without the daemon nobody can tell what runs: say what was applied last, never that it runs.
  if (s.conditions?.daemon) return `unknown: PM2 is unreachable${last ? ` (last applied ${last})` : ''}`;
  // A revision runs only where its processes do: a daemon without any of them runs nothing, whatever was applied.
  const none = s.observed === true && s.tasks.length > 0 && s.tasks.every((t) => t.state === 'missing' || t.state === 'deleted');
  if (none) return `nothing: no process of this environment runs${last ? ` (last applied ${last})` : ''}`;
  return last ?? 'nothing yet';
}

function outageLine(what: string, o: { since: string; reason: string } | undefined, then: string): string[] {
  return o ? [`| ${what} | **unreachable** since ${o.since}: ${cell(o.reason)}; ${then} |`] : [];
}

function approvalLine(p: Precedence | undefined, prov: Provenance | undefined): string {
  if (!p || p.approvals.required === 0) return 'not required';
  const who = prov?.approvers.length ? `: ${prov.approvers.join(', ')}` : '';
  const signed = prov?.signature.verified ? `; signed by ${prov.signature.signer ?? 'unknown'} (${prov.signature.key ?? 'key unknown'})` : '';
  if (p.approvals.ok) return `approved, ${p.approvals.granted} of ${p.approvals.required} required${who}${signed}`;
  return `**refused**, ${p.approvals.granted} of ${p.approvals.required} required: ${p.approvals.reasons.join('; ')}`;
}

const OUTCOME_TEXT: Record<Outcome, string> = {
  converged: 'converged',
  failed: '**failed** (the last good state keeps running)',
  'rolled-back': '**rolled back** to the last good revision',
  'not-approved': '**not approved**: not applied, the last approved revision keeps running',
  invalid: '**invalid manifests**: not applied, the last good revision keeps running',
  held: '**held**: this revision would delete more than the prune limit allows; not applied, the last good revision keeps running',
  suspended: '**suspended**: observed and reported, nothing is changed until it is resumed',
  waiting: '**waiting**: the newest revision is not applied yet (see the message); the last good revision keeps running',
};

/** Renders the status file. */
export function buildStatus(s: StatusInput): string {
  const rev = s.provenance ? `\`${s.provenance.revision}\`${s.provenance.subject ? ` ${cell(s.provenance.subject)}` : ''}` : '–';
  const lines = [
    `# ${s.environment}`,
    '',
    '| | |',
    '| --- | --- |',
    `| result | ${OUTCOME_TEXT[s.outcome]} |`,
    ...(s.reason ? [`| reason | ${s.reason} |`] : []),
    ...(s.message ? [`| message | ${cell(s.message)} |`] : []),
    ...(s.suspension ? [`| suspended | by ${cell(s.suspension.by)} at ${s.suspension.at}${s.suspension.reason ? `: ${cell(s.suspension.reason)}` : ''} |`] : []),
    ...outageLine('source', s.conditions?.source, 'the last fetched revision keeps running and self-healing'),
    ...outageLine('daemon', s.conditions?.daemon, 'a new daemon is being started'),
    `| revision | ${rev} |`,
    `| running | ${runningText(s)} |`,
    ...(s.rollout ? [`| rollout | ${cell(s.rollout)} |`] : []),
    `| author | ${s.provenance?.author ? cell(`${s.provenance.author.name} <${s.provenance.author.email}>`) : '–'} |`,
    `| approval | ${approvalLine(s.precedence, s.provenance)} |`,
    `| reconciled | ${s.reconciledAt} |`,
    `| host | ${cell(s.host)} |`,
    `| namespace | ${cell(s.namespace)} |`,
    `| evidence | ${s.evidence ? `\`${s.evidence.file}\` (sha256 \`${s.evidence.hash}\`)` : '–'} |`,
    '',
    '## Tasks',
    '',
    '| task | type | state | pids | restarts | up since | last action | health | code |',
    '| --- | --- | --- | --- | --- | --- | --- | --- | --- |',
    ...fitLines(s.tasks.map((t) => `| ${cell(t.task)} | ${t.type} | ${SHAPES[t.state]} | ${t.pids.join(', ') || '–'} | ${t.restarts} | ${t.since ?? '–'} | ${cell(t.lastAction)} | ${cell(t.health)} | ${codeCell(t.code)} |`), BUDGET.tasks,
      (n) => `| … and ${n} more tasks | | | | | | | | |`),
  ];
  const more = (what: string) => (n: number): string => `- … and ${n} more ${what}`;
  if (s.warnings?.length) lines.push('', '## Warnings', '', ...fitLines(s.warnings.map((w) => `- ${w.replace(/\n/g, ' ')}`), BUDGET.warnings, more('warnings')));
  if (s.rollback) lines.push('', '## Rollback', '', `Rolled back from \`${s.rollback.from}\` to \`${s.rollback.to}\`: ${cell(s.rollback.reason)}`);
  if (s.buildFailures?.length) {
    const blocks = s.buildFailures.flatMap((b) => [`- ${b.task}: ${b.message.replace(/\n/g, ' ')}`, ...(b.tail.length ? ['  ```', ...b.tail.map((l) => `  ${l.replace(/```/g, "'''")}`), '  ```'] : [])]);
    lines.push('', '## Build failures (nothing of these tasks was touched)', '', ...fitLines(blocks, BUDGET.builds, more('lines of build output')));
  }
  if (s.problems.length) lines.push('', '## Problems', '', ...fitLines(s.problems.map((p) => `- ${p.replace(/\n/g, ' ')}`), BUDGET.problems, more('problems')));
  if (s.holds.length) lines.push('', '## Held back', '', ...fitLines(s.holds.map((h) => `- ${h.task}: ${h.reason.replace(/\n/g, ' ')}`), BUDGET.holds, more('held-back tasks')));
  if (s.badRevisions.length) {
    lines.push('', '## Bad revisions (not retried until a new commit)', '', ...fitLines(s.badRevisions.map((b) => `- \`${b.revision}\`: ${b.reason.replace(/\n/g, ' ')}`), BUDGET.bad, more('bad revisions')));
  }
  return `${lines.join('\n')}\n`;
}

/** The status file without its volatile line, to decide whether it changed. */
export function stableStatus(text: string): string {
  return text.split('\n').filter((l) => !l.startsWith('| reconciled |')).join('\n');
}

/** Reads the newest evidence file and hash a status file names. */
export function parseStatusEvidence(text: string): { file: string; hash: string } | undefined {
  const m = /\| evidence \| `([^`]+)` \(sha256 `([0-9a-f]{64})`\) \|/.exec(text);
  return m ? { file: m[1]!, hash: m[2]! } : undefined;
}
