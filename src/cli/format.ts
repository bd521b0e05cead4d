/** Human-readable output of diffs, plans, results and live state (pure). */
import type { LiveTask } from '../domain/live.js';
import type { BuildEvent } from '../delivery/types.js';
import type { Action, ActionResult, Drift, PatchOperation, Plan } from '../domain/plan.js';

export interface Style { red(s: string): string; green(s: string): string; yellow(s: string): string; dim(s: string): string; bold(s: string): string }

const ansi = (code: number) => (s: string): string => `\u001b[${code}m${s}\u001b[0m`;
export const COLOR: Style = { red: ansi(31), green: ansi(32), yellow: ansi(33), dim: ansi(2), bold: ansi(1) };
export const PLAIN: Style = { red: (s) => s, green: (s) => s, yellow: (s) => s, dim: (s) => s, bold: (s) => s };

function show(value: unknown): string {
  return typeof value === 'string' ? value : JSON.stringify(value);
}

function formatOp(op: PatchOperation, s: Style): string {
  switch (op.op) {
    case 'add': return s.green(`    + ${op.path}: ${show(op.value)}`);
    case 'remove': return s.red(`    - ${op.path}`);
    case 'replace': return s.yellow(`    ~ ${op.path}: ${'oldValue' in op ? `${show(op.oldValue)} → ` : ''}${show(op.value)}`);
    default: return `    ${op.op} ${op.path}${op.from ? ` from ${op.from}` : ''}`;
  }
}

/** `1 option differs`, `2 options differ`. */
function optionsDiffer(n: number): string {
  return n === 1 ? '1 option differs' : `${n} options differ`;
}

/** `diff` output: one block per task that differs, each changed option as live → desired. */
export function formatDrifts(drifts: readonly Drift[], s: Style): string {
  const lines: string[] = [];
  for (const d of drifts) {
    if (d.kind === 'in-sync' && d.unhealthy.length === 0) continue;
    if (d.kind === 'missing') lines.push(s.green(`+ ${d.task}: declared, not running in PM2`));
    else if (d.kind === 'extra') lines.push(s.red(`- ${d.task}: running in PM2, no longer declared`));
    else if (d.kind === 'changed') lines.push(s.yellow(`~ ${d.task}: ${optionsDiffer(d.patch.length)} (live → desired)`));
    else lines.push(s.yellow(`! ${d.task}: options match, live state drifted`));
    for (const op of d.patch) lines.push(formatOp(op, s));
    for (const u of d.unhealthy) lines.push(s.red(`    ! pm_id ${u.pmId} is ${u.status}${u.exitCode !== undefined ? ` (exit code ${u.exitCode})` : ''}`));
  }
  return lines.length ? `${lines.join('\n')}\n` : 'no differences\n';
}

/** `plan` output: the ordered actions, then what is held back. */
export function formatPlan(plan: Plan, s: Style): string {
  const lines = [s.bold(`plan for ${plan.environment} at ${plan.revision} (namespace ${plan.namespace}): ${plan.actions.length} action${plan.actions.length === 1 ? '' : 's'}`)];
  plan.actions.forEach((a, i) => {
    const deps = a.dependsOn.length ? s.dim(` after ${a.dependsOn.join(', ')}`) : '';
    lines.push(`  ${i + 1}. ${a.action.padEnd(7)} ${a.task}${deps}: ${a.reason}`);
  });
  for (const h of plan.holds) lines.push(s.yellow(`  hold    ${h.task}: ${h.reason}`));
  if (plan.refusal) lines.push(s.red(`  HELD    ${plan.refusal.reason}`));
  if (plan.actions.length === 0 && plan.holds.length === 0) lines.push('  nothing to do: live state matches the manifests');
  return `${lines.join('\n')}\n`;
}

/** `apply` output: each action with its result. */
export function formatResults(results: readonly ActionResult[], s: Style): string {
  const lines = results.map((r) => {
    const mark = r.result === 'ok' ? s.green('ok     ') : r.result === 'failed' ? s.red('FAILED ') : s.yellow('skipped');
    return `  ${mark} ${r.action.padEnd(7)} ${r.task} (${r.durationMs} ms): ${r.reason}${r.message ? s.dim(` — ${r.message}`) : ''}`;
  });
  const count = (k: ActionResult['result']): number => results.filter((r) => r.result === k).length;
  lines.push(`${results.length} action${results.length === 1 ? '' : 's'}: ${count('ok')} ok, ${count('failed')} failed, ${count('skipped')} skipped`);
  return `${lines.join('\n')}\n`;
}

function uptime(ms: number): string {
  if (ms <= 0) return '-';
  const sec = Math.floor(ms / 1000);
  if (sec < 60) return `${sec}s`;
  if (sec < 3600) return `${Math.floor(sec / 60)}m`;
  if (sec < 86400) return `${Math.floor(sec / 3600)}h`;
  return `${Math.floor(sec / 86400)}d`;
}

/** A `pm2 ls`-like table of the environment's processes. */
export function formatLive(live: readonly LiveTask[], now: number): string {
  const rows = [['task', 'status', 'pids', 'restarts', 'uptime', 'mode']];
  for (const t of live) {
    const statuses = [...new Set(t.instances.map((i) => i.status))].join('/');
    const online = t.instances.filter((i) => i.status === 'online');
    rows.push([
      t.pm2Name === undefined ? t.name : `${t.name} (PM2: ${t.pm2Name})`,
      `${statuses}${t.instances.length > 1 ? ` (${online.length}/${t.instances.length})` : ''}`,
      t.instances.map((i) => i.pid || '-').join(',') || '-',
      String(t.instances.reduce((n, i) => n + i.restarts, 0)),
      online.length ? uptime(now - Math.min(...online.map((i) => i.startedAt))) : '-',
      String(t.process.exec_mode),
    ]);
  }
  const widths = rows[0]!.map((_, c) => Math.max(...rows.map((r) => r[c]!.length)));
  return `${rows.map((r) => `  ${r.map((cell, c) => cell.padEnd(widths[c]!)).join('  ').trimEnd()}`).join('\n')}\n`;
}

/** One step of an apply as it starts or ends, for the progress lines `apply` prints in a terminal. */
export type ProgressEvent =
  | { kind: 'build'; event: BuildEvent }
  | { kind: 'action-start'; action: Action }
  | { kind: 'health-start'; action: Action }
  | { kind: 'action-end'; result: ActionResult };

const seconds = (ms: number): string => `${(ms / 1000).toFixed(1)} s`;

/** A progress line: `▸` as a step starts, `✓`/`✗` as it ends. */
export function formatProgress(e: ProgressEvent, s: Style): string {
  switch (e.kind) {
    case 'build': {
      const step = `${e.event.step}${e.event.command !== undefined ? ` \`${e.event.command}\`` : ''}`;
      if (e.event.phase === 'start') return `  ▸ ${e.event.task}: ${step} …\n`;
      const ok = e.event.status === 'ok';
      const how = ok ? '' : ` (${e.event.status}${e.event.exitCode !== undefined && e.event.exitCode !== null ? `, exit code ${e.event.exitCode}` : ''})`;
      return `  ${ok ? s.green('✓') : s.red('✗')} ${e.event.task}: ${step}${how} ${s.dim(seconds(e.event.durationMs))}\n`;
    }
    case 'action-start': return `  ▸ ${e.action.task}: ${e.action.action} (${e.action.reason}) …\n`;
    case 'health-start': return `  ▸ ${e.action.task}: ${e.action.type === 'job' ? 'waiting for the job to complete' : 'health check'} …\n`;
    case 'action-end': {
      const ok = e.result.result === 'ok';
      const message = e.result.message ? `: ${e.result.message.split('\n')[0]}` : '';
      return `  ${ok ? s.green('✓') : e.result.result === 'failed' ? s.red('✗') : s.yellow('–')} ${e.result.task}: ${e.result.action} ${e.result.result}${message} ${s.dim(seconds(e.result.durationMs))}\n`;
    }
  }
}
