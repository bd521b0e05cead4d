/**
 * The task view of the API (pure): one task as `GET /api/environments/:env/tasks`
 * shows it, plus the last difference a reconcile found for it (live → desired,
 * env values as SHA-256 prefixes) with what was done about it, and its build.
 */
import type { EnvironmentReport } from '../controller/observer.js';
import type { Drift, PatchOperation } from '../domain/plan.js';
import type { BuildRecord, StepRecord } from '../delivery/types.js';
import { tailLines } from '../delivery/output.js';
import type { TaskView } from './tasks.js';

/** The last time a reconcile found a task different from git, and what it did. */
export interface LastDiff {
  at: string;
  correlationId: string;
  revision: string;
  kind: Drift['kind'];
  /** From live to desired (env values already redacted by diff). */
  patch: PatchOperation[];
  unhealthy: Drift['unhealthy'];
  /** The actions planned for the task in that reconcile, with their results. */
  actions: Array<{ action: string; reason: string; result?: string; message?: string }>;
}

/** One build step with the tail of its output. */
export interface BuildStepView {
  kind: StepRecord['kind'];
  command?: string;
  status: StepRecord['status'];
  exitCode?: number | null;
  timedOut?: boolean;
  startedAt: string;
  durationMs: number;
  reusedFrom?: string;
  message?: string;
  tail: string[];
}

/** A task's build as the store recorded it. */
export interface BuildView {
  codeDigest: string;
  status: BuildRecord['status'];
  revision?: string;
  createdAt: string;
  steps: BuildStepView[];
}

/** `GET /api/environments/:env/tasks/:task`. */
export interface TaskDetail extends TaskView {
  lastDiff?: LastDiff;
  build?: BuildView;
}

/** Bytes of one step's tail the view keeps: 40 lines of a minified bundle could be megabytes. */
const TAIL_BYTES = 8 * 1024;

/** The view of a build record: each step with the last lines of its output. */
export function buildView(record: BuildRecord): BuildView {
  return {
    codeDigest: record.codeDigest,
    status: record.status,
    ...(record.revision ? { revision: record.revision } : {}),
    createdAt: record.createdAt,
    steps: record.steps.map((s) => ({
      kind: s.kind,
      ...(s.command !== undefined ? { command: s.command } : {}),
      status: s.status,
      ...(s.exitCode !== undefined ? { exitCode: s.exitCode } : {}),
      ...(s.timedOut ? { timedOut: true } : {}),
      startedAt: s.startedAt,
      durationMs: s.durationMs,
      ...(s.reusedFrom ? { reusedFrom: s.reusedFrom } : {}),
      ...(s.message ? { message: s.message } : {}),
      tail: tailLines((s.output ?? '').slice(-TAIL_BYTES)),
    })),
  };
}

/**
 * The tasks of a report that differed from git (or ran unhealthy), each with
 * the actions planned for it; `previous` keeps the other tasks' last diffs,
 * except those of tasks the report no longer knows.
 */
export function lastDiffs(previous: ReadonlyMap<string, LastDiff>, r: EnvironmentReport): Map<string, LastDiff> {
  const out = new Map(previous);
  const result = r.result;
  if (!result) return out;
  const known = new Set([...(r.state?.tasks ?? []).map((t) => t.name), ...result.live.map((l) => l.name)]);
  for (const name of out.keys()) if (!known.has(name)) out.delete(name);
  for (const d of result.drifts) {
    if (d.kind === 'in-sync' && d.unhealthy.length === 0) continue;
    const actions = result.plan.actions.filter((a) => a.task === d.task).map((a) => {
      const done = r.results.find((x) => x.task === d.task && x.action === a.action);
      return { action: a.action, reason: a.reason, ...(done ? { result: done.result, ...(done.message ? { message: done.message } : {}) } : {}) };
    });
    out.set(d.task, { at: r.at, correlationId: r.correlationId, revision: result.revision, kind: d.kind, patch: d.patch, unhealthy: d.unhealthy, actions });
  }
  return out;
}
