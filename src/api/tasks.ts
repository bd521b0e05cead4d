/**
 * The API's views of environments and tasks (pure): what git wants, what PM2
 * runs, the code digests, each task's last action and its shape. Env values
 * never appear: env maps are replaced by SHA-256 prefixes here, and the server
 * passes every answer through the process-wide redaction as well.
 */
import type { EnvironmentReport } from '../controller/observer.js';
import type { LiveTask } from '../domain/live.js';
import type { DesiredTask } from '../domain/manifest.js';
import { redactEnv } from '../diff/redact.js';
import { SHAPES, statusRows, type ShapeState } from '../report/status.js';

/** One task as `GET /api/environments/:env/tasks` shows it. */
export interface TaskView {
  name: string;
  type: 'service' | 'job';
  state: ShapeState;
  /** The state with its shape, as the status file writes it (`○ online`). */
  shape: string;
  desired?: Record<string, unknown>;
  live: { instances: Array<{ pmId: number; pid: number; status: string; restarts: number; startedAt: number; cpu?: number; memory?: number }>; process?: Record<string, unknown> };
  code?: { desired?: string; running?: string; mixed?: boolean; adopted?: boolean };
  lastAction?: { action: string; at: string; message?: string };
}

/** One environment as `GET /api/environments` lists it. */
export interface EnvironmentView {
  name: string;
  namespace?: string;
  tip: string;
  running?: string;
  outcome: string;
  reason?: string;
  approval: { required: number; granted: number; ok: boolean };
  problems: string[];
  tasks: number;
  evidence?: string;
  reconciledAt: string;
  correlationId: string;
  /** Set while the environment is suspended: who suspended it and when. */
  suspended?: { by: string; at: string; reason?: string };
}

const ENV_KEY = /^env(_.+)?$/;

/** A process spec or comparable process with every env block replaced by digests of its values. */
export function withoutEnvValues(process: Record<string, unknown>): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const [key, value] of Object.entries(process)) {
    out[key] = ENV_KEY.test(key) && value && typeof value === 'object' ? redactEnv(value as Record<string, unknown>) : value;
  }
  return out;
}

function desiredView(t: DesiredTask): Record<string, unknown> {
  return {
    process: withoutEnvValues(t.process),
    dependsOn: t.dependsOn,
    labels: t.labels,
    file: t.file,
    ...(t.health ? { health: t.health } : {}),
    ...(t.source ? { source: t.source } : {}),
    ...(t.build ? { build: t.build } : {}),
  };
}

/** The environment list entry of a report. */
export function environmentView(r: EnvironmentReport): EnvironmentView {
  return {
    name: r.environment,
    ...(r.state ? { namespace: r.state.namespace } : {}),
    tip: r.tip,
    ...(r.running ? { running: r.running } : {}),
    outcome: r.outcome,
    ...(r.reason ? { reason: r.reason } : {}),
    approval: { required: r.decision.required, granted: r.decision.granted, ok: r.decision.ok },
    problems: r.problems,
    tasks: r.state?.tasks.length ?? 0,
    ...(r.evidence ? { evidence: r.evidence } : {}),
    reconciledAt: r.at,
    correlationId: r.correlationId,
    ...(r.suspension?.suspended ? { suspended: { by: r.suspension.by, at: r.suspension.at, ...(r.suspension.reason ? { reason: r.suspension.reason } : {}) } } : {}),
  };
}

/**
 * The tasks of an environment: declared ones (and live ones git no longer
 * declares), with `live` read now when given, else as the last reconcile saw it.
 */
export function taskViews(r: EnvironmentReport, live?: readonly LiveTask[]): TaskView[] {
  const seen = live ?? r.result?.live ?? [];
  const declared = r.state?.tasks ?? [];
  const code = new Map((r.result?.code ?? []).map((c) => [c.task, c]));
  const rows = statusRows(declared.map((t) => ({ name: t.name, type: t.type })), seen, live ? [] : r.results, { liveKnown: live !== undefined || r.result !== undefined });
  const liveByName = new Map(seen.map((l) => [l.name, l]));
  const desiredByName = new Map(declared.map((t) => [t.name, t]));
  return rows.map((row) => {
    const l = liveByName.get(row.task);
    const d = desiredByName.get(row.task);
    const c = code.get(row.task);
    const last = r.lastActions[row.task];
    return {
      name: row.task,
      type: row.type,
      state: row.state,
      shape: SHAPES[row.state],
      ...(d ? { desired: desiredView(d) } : {}),
      live: {
        instances: (l?.instances ?? []).map((i) => ({ pmId: i.pmId, pid: i.pid, status: i.status, restarts: i.restarts, startedAt: i.startedAt, ...(i.cpu !== undefined ? { cpu: i.cpu } : {}), ...(i.memory !== undefined ? { memory: i.memory } : {}) })),
        ...(l ? { process: withoutEnvValues(l.process) } : {}),
      },
      ...(c ? { code: { desired: c.desired, ...(c.running ? { running: c.running } : {}), ...(c.mixed ? { mixed: true } : {}), ...(c.adopted ? { adopted: true } : {}) } } : {}),
      ...(last ? { lastAction: { action: last.action, at: last.at, ...(last.message ? { message: last.message } : {}) } } : {}),
    };
  });
}

/** A task whose state changed between two looks. */
export interface TaskStateChange { task: string; from?: ShapeState; to: ShapeState }

/** The tasks whose state differs between `before` and `after` (by name; new tasks have no `from`). */
export function taskStateChanges(before: readonly Pick<TaskView, 'name' | 'state'>[], after: readonly Pick<TaskView, 'name' | 'state'>[]): TaskStateChange[] {
  const was = new Map(before.map((t) => [t.name, t.state]));
  const out: TaskStateChange[] = [];
  for (const t of after) {
    const from = was.get(t.name);
    if (from !== t.state) out.push({ task: t.name, ...(from ? { from } : {}), to: t.state });
  }
  return out;
}
