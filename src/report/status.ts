/**
 * Status files (pure): `status/<env>.md`, for people. Values that change on
 * every look (uptime) are written as points in time, so an unchanged
 * environment produces an unchanged file.
 */
import type { LiveTask } from '../domain/live.js';
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
} as const;

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
  reconciledAt: string;
  tasks: StatusTaskRow[];
  holds: Hold[];
  problems: string[];
  evidence?: { file: string; hash: string };
  /** Revisions marked bad, not retried until a new commit arrives. */
  badRevisions: Array<{ revision: string; reason: string }>;
  rollback?: { from: string; to: string; reason: string };
}

/** Maps a live task's instance statuses to one shape. */
export function shapeOf(live: LiveTask | undefined, type: 'service' | 'job'): ShapeState {
  if (!live || live.instances.length === 0) return 'missing';
  const statuses = live.instances.map((i) => i.status);
  if (statuses.some((s) => s === 'errored')) return 'errored';
  if (type === 'job' && statuses.every((s) => s === 'stopped')) {
    return live.instances.every((i) => (i.exitCode ?? 0) === 0) ? 'completed' : 'errored';
  }
  if (statuses.some((s) => s === 'stopping')) return 'stopping';
  if (statuses.some((s) => s === 'launching' || s === 'waiting restart' || s === 'one-launch-status')) return 'starting';
  if (statuses.every((s) => s === 'online')) return 'online';
  return 'stopped';
}

/** Status rows for the declared tasks and any undeclared live task, with each task's last action. */
export function statusRows(declared: Array<{ name: string; type: 'service' | 'job' }>, live: readonly LiveTask[], results: readonly ActionResult[]): StatusTaskRow[] {
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
      state: deleted ? 'deleted' : shapeOf(l, type),
      pids: (l?.instances ?? []).map((i) => i.pid).filter((p) => p > 0),
      restarts: (l?.instances ?? []).reduce((n, i) => n + i.restarts, 0),
      ...(online.length ? { since: new Date(Math.min(...online.map((i) => i.startedAt))).toISOString() } : {}),
      ...(result ? { lastAction: `${result.action} (${result.result})`, health: result.message } : {}),
    };
  });
}

function cell(text: string | undefined): string {
  return (text ?? '').replace(/\|/g, '\\|').replace(/\n/g, ' ') || '–';
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
    `| revision | ${rev} |`,
    `| running | ${s.running ? `\`${s.running}\`` : 'nothing yet'} |`,
    `| author | ${s.provenance?.author ? cell(`${s.provenance.author.name} <${s.provenance.author.email}>`) : '–'} |`,
    `| approval | ${approvalLine(s.precedence, s.provenance)} |`,
    `| reconciled | ${s.reconciledAt} |`,
    `| host | ${cell(s.host)} |`,
    `| namespace | ${cell(s.namespace)} |`,
    `| evidence | ${s.evidence ? `\`${s.evidence.file}\` (sha256 \`${s.evidence.hash}\`)` : '–'} |`,
    '',
    '## Tasks',
    '',
    '| task | type | state | pids | restarts | up since | last action | health |',
    '| --- | --- | --- | --- | --- | --- | --- | --- |',
    ...s.tasks.map((t) => `| ${cell(t.task)} | ${t.type} | ${SHAPES[t.state]} | ${t.pids.join(', ') || '–'} | ${t.restarts} | ${t.since ?? '–'} | ${cell(t.lastAction)} | ${cell(t.health)} |`),
  ];
  if (s.rollback) lines.push('', '## Rollback', '', `Rolled back from \`${s.rollback.from}\` to \`${s.rollback.to}\`: ${cell(s.rollback.reason)}`);
  if (s.problems.length) lines.push('', '## Problems', '', ...s.problems.map((p) => `- ${p.replace(/\n/g, ' ')}`));
  if (s.holds.length) lines.push('', '## Held back', '', ...s.holds.map((h) => `- ${h.task}: ${h.reason}`));
  if (s.badRevisions.length) lines.push('', '## Bad revisions (not retried until a new commit)', '', ...s.badRevisions.map((b) => `- \`${b.revision}\`: ${b.reason}`));
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
