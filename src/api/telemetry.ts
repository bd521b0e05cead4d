/**
 * What the API learns from the running controller (its observer): metrics,
 * the event stream and readiness. It only records and tells; a process event
 * makes it look at PM2 again to report the task states that changed.
 */
import type { ControllerObserver, EnvironmentReport, ProcessEventReport } from '../controller/observer.js';
import type { BuildEvent } from '../delivery/types.js';
import type { LiveTask } from '../domain/live.js';
import type { Logger } from '../adapters/logger.js';
import { EventHub, type ApiEvent } from './events.js';
import { MetricsRegistry } from './metrics.js';
import { lastDiffs, type LastDiff } from './task-detail.js';
import { taskStateChanges, taskViews, type TaskView } from './tasks.js';

const SECONDS = [0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 120, 300];
const BUILD_SECONDS = [0.1, 0.5, 1, 5, 10, 30, 60, 120, 300, 600];
/** Process events of one environment within this time are one look at PM2. */
const LOOK_DEBOUNCE_MS = 50;

export interface TelemetryDeps {
  logger: Logger;
  /** Reads the live tasks of a reported environment now; undefined when PM2 cannot be read. */
  readLive?: (report: EnvironmentReport) => Promise<LiveTask[] | undefined>;
  now?: () => Date;
}

/** The API's observer of the controller. */
export class ApiTelemetry implements ControllerObserver {
  readonly hub = new EventHub();
  readonly metrics = new MetricsRegistry();
  /** True after the first completed pass. */
  ready = false;
  private readonly reports = new Map<string, EnvironmentReport>();
  private readonly views = new Map<string, TaskView[]>();
  private readonly diffs = new Map<string, Map<string, LastDiff>>();
  private readonly outcomes = new Map<string, Array<{ environment: string; outcome: string; reason?: string; durationMs: number }>>();
  private readonly looks = new Map<string, NodeJS.Timeout>();
  private readonly m;

  constructor(private readonly deps: TelemetryDeps) {
    const r = this.metrics;
    this.m = {
      duration: r.histogram('pm2_gitops_reconcile_duration_seconds', 'Time one environment\'s reconcile took, in seconds.', SECONDS),
      reconciles: r.counter('pm2_gitops_reconciles_total', 'Reconciles of an environment, by result (converged, failed, rolled-back, not-approved, invalid, held, suspended, waiting).'),
      actions: r.counter('pm2_gitops_actions_total', 'PM2 actions taken, by environment, action and result.'),
      drifted: r.gauge('pm2_gitops_drifted_tasks', 'Tasks that differed from git when the last reconcile of the environment looked.'),
      lastSuccess: r.gauge('pm2_gitops_last_successful_reconcile_timestamp_seconds', 'When the environment last converged, in seconds since the epoch.'),
      builds: r.histogram('pm2_gitops_build_duration_seconds', 'Time of each build step (install, run, export, check), by environment, task, step and status.', BUILD_SECONDS),
      ready: r.gauge('pm2_gitops_ready', '1 once the controller completed its first reconcile pass.'),
    };
    this.m.ready.set({}, 0);
  }

  private now(): string {
    return (this.deps.now?.() ?? new Date()).toISOString();
  }

  private publish(event: ApiEvent): void {
    this.hub.publish(event);
  }

  passStarted(e: { correlationId: string; revision: string; reasons: string[]; environments: string[]; at: string }): void {
    this.outcomes.set(e.correlationId, []);
    this.publish({ type: 'reconcile-started', correlationId: e.correlationId, at: e.at, data: { revision: e.revision, reasons: e.reasons, environments: e.environments } });
  }

  passFinished(e: { correlationId: string; revision: string; reasons: string[]; durationMs: number; at: string }): void {
    this.ready = true;
    this.m.ready.set({}, 1);
    const outcomes = this.outcomes.get(e.correlationId) ?? [];
    this.outcomes.delete(e.correlationId);
    this.publish({ type: 'reconcile-finished', correlationId: e.correlationId, at: e.at, data: { revision: e.revision, durationMs: e.durationMs, environments: outcomes } });
  }

  reconciled(e: { correlationId: string; environment: string; outcome: string; reason?: string; durationMs: number; at: string }): void {
    const env = { environment: e.environment };
    this.m.duration.observe(env, e.durationMs / 1000);
    this.m.reconciles.inc({ ...env, result: e.outcome });
    if (e.outcome === 'converged') this.m.lastSuccess.set(env, Math.floor(Date.parse(e.at) / 1000));
    this.outcomes.get(e.correlationId)?.push({ environment: e.environment, outcome: e.outcome, ...(e.reason ? { reason: e.reason } : {}), durationMs: e.durationMs });
  }

  reported(r: EnvironmentReport): void {
    const before = this.reports.get(r.environment);
    this.reports.set(r.environment, r);
    this.diffs.set(r.environment, lastDiffs(this.diffs.get(r.environment) ?? new Map(), r));
    for (const a of r.results) this.m.actions.inc({ environment: r.environment, action: a.action, result: a.result });
    if (r.result) this.m.drifted.set({ environment: r.environment }, r.result.drifts.filter((d) => d.kind !== 'in-sync' || d.unhealthy.length > 0).length);
    if (r.outcome === 'not-approved' && (before?.outcome !== 'not-approved' || before.tip !== r.tip)) {
      this.publish({ type: 'approval-refused', correlationId: r.correlationId, at: r.at, environment: r.environment, data: { revision: r.tip, required: r.decision.required, granted: r.decision.granted, reasons: r.decision.reasons } });
    }
    if (r.result) this.compare(r.environment, taskViews(r), r.correlationId);
  }

  build(e: { correlationId: string; environment: string; event: BuildEvent; at: string }): void {
    const ev = e.event;
    const data: Record<string, unknown> = { task: ev.task, step: ev.step };
    if (ev.phase === 'end') {
      Object.assign(data, { status: ev.status, durationMs: ev.durationMs, ...(ev.exitCode !== undefined ? { exitCode: ev.exitCode } : {}) });
      this.m.builds.observe({ environment: e.environment, task: ev.task, step: ev.step, status: String(ev.status) }, ev.durationMs / 1000);
    }
    this.publish({ type: ev.phase === 'start' ? 'build-started' : 'build-finished', correlationId: e.correlationId, at: e.at, environment: e.environment, data });
  }

  processEvent(e: ProcessEventReport): void {
    const report = [...this.reports.values()].find((r) => r.state?.namespace === e.namespace);
    this.publish({ type: 'process', correlationId: e.correlationId, at: e.at, ...(report ? { environment: report.environment } : {}), data: { event: e.event, name: e.name, namespace: e.namespace, ...(e.pmId !== undefined ? { pmId: e.pmId } : {}) } });
    if (report && this.deps.readLive && !this.looks.has(report.environment)) {
      this.looks.set(report.environment, setTimeout(() => { void this.look(report.environment, e.correlationId); }, LOOK_DEBOUNCE_MS));
    }
  }

  /** Reads an environment's processes again and tells which task states changed. */
  private async look(environment: string, correlationId: string): Promise<void> {
    this.looks.delete(environment);
    const report = this.reports.get(environment);
    if (!report) return;
    try {
      const live = await this.deps.readLive!(report);
      if (live) this.compare(environment, taskViews(report, live), correlationId);
    } catch (err) {
      this.deps.logger.debug({ err, environment }, 'cannot read the live tasks for the event stream');
    }
  }

  private compare(environment: string, views: TaskView[], correlationId: string): void {
    const before = this.views.get(environment) ?? [];
    this.views.set(environment, views);
    for (const c of taskStateChanges(before, views)) {
      this.publish({ type: 'task-state', correlationId, at: this.now(), environment, data: { task: c.task, ...(c.from ? { from: c.from } : {}), to: c.to, shape: views.find((v) => v.name === c.task)?.shape } });
    }
  }

  /** The last difference a reconcile found for a task of an environment (since the controller started). */
  lastDiff(environment: string, task: string): LastDiff | undefined {
    return this.diffs.get(environment)?.get(task);
  }

  /** Stops pending looks and ends every event stream. */
  close(): void {
    for (const t of this.looks.values()) clearTimeout(t);
    this.looks.clear();
    this.hub.close();
  }
}
