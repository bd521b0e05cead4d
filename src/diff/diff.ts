/**
 * diff (pure): desired comparable processes × live tasks → one Drift per task
 * name, with an RFC 6902 patch from live to desired (env values redacted).
 */
import fastJsonPatch from 'fast-json-patch';
import { hasExited, type ComparableProcess, type LiveTask } from '../domain/live.js';
import type { Drift, PatchOperation } from '../domain/plan.js';
import { redactPatch } from './redact.js';

const { compare, getValueByPointer } = fastJsonPatch;

/** The desired side of a diff: a task name and its comparable process. */
export interface DesiredSide {
  name: string;
  type: 'service' | 'job';
  comparable: ComparableProcess;
}

const HEALTHY_SERVICE = new Set(['online', 'launching']);

function unhealthyOf(live: LiveTask, type: 'service' | 'job'): Drift['unhealthy'] {
  return live.instances
    .filter((i) => (type === 'job' ? i.status === 'errored' || (hasExited(i.status) && i.exitCode !== undefined && i.exitCode !== 0) : !HEALTHY_SERVICE.has(i.status)))
    .map((i) => ({ pmId: i.pmId, status: i.status, ...(i.exitCode !== undefined ? { exitCode: i.exitCode } : {}) }));
}

/** Orders operations by path so that the same difference always prints the same. */
function sortOps(ops: PatchOperation[]): PatchOperation[] {
  return [...ops].sort((a, b) => a.path.localeCompare(b.path) || a.op.localeCompare(b.op));
}

/**
 * The live options to compare with `desired`, without what PM2 itself adds to
 * processes that never declared it. A process that pm2-gitops did not start
 * (adopted from an ecosystem file) keeps the `env_<name>` blocks of that file;
 * they only matter to a later `pm2 restart --env <name>`. The PM2 CLI's
 * `stop`/`restart` of a cluster app stores `merge_logs: true`, which only
 * changes the log file names of workers started later (paths are compared
 * without worker ids). Neither is a reason to restart a process.
 */
function comparedLive(l: LiveTask, desired: ComparableProcess): ComparableProcess {
  const undeclared = Object.keys(l.process).filter((k) => !(k in desired) && ((!l.marker && k.startsWith('env_')) || (k === 'merge_logs' && l.process[k] === true)));
  if (undeclared.length === 0) return l.process;
  const out: ComparableProcess = { ...l.process };
  for (const k of undeclared) delete out[k];
  return out;
}

/** The patch from `live` to `desired`, each `replace` carrying the live value it replaces. */
function patchOf(live: ComparableProcess, desired: ComparableProcess): PatchOperation[] {
  return (compare(live, desired) as PatchOperation[]).map((op) => (op.op === 'replace' ? { ...op, oldValue: getValueByPointer(live, op.path) as unknown } : op));
}

/** Diffs every task; drifts are sorted by task name. */
export function diff(desired: readonly DesiredSide[], live: readonly LiveTask[]): Drift[] {
  const liveByName = new Map(live.map((l) => [l.name, l]));
  const out: Drift[] = [];
  for (const d of desired) {
    const l = liveByName.get(d.name);
    if (!l) {
      out.push({ task: d.name, kind: 'missing', patch: [], unhealthy: [] });
      continue;
    }
    const patch = sortOps(redactPatch(patchOf(comparedLive(l, d.comparable), d.comparable)));
    out.push({ task: d.name, kind: patch.length ? 'changed' : 'in-sync', patch, unhealthy: unhealthyOf(l, d.type) });
  }
  const declared = new Set(desired.map((d) => d.name));
  for (const l of live) {
    if (!declared.has(l.name)) out.push({ task: l.name, kind: 'extra', patch: [], unhealthy: [] });
  }
  return out.sort((a, b) => a.task.localeCompare(b.task));
}
