/**
 * The controller loop (level-based, like controller-runtime): triggers
 * (new revision, PM2 process events, resync interval, a watched local
 * repository, the webhook) only queue a full reconcile; one pass runs at a
 * time and a trigger during a pass queues exactly one more. A pass always
 * reports: an unreachable source runs on from the last fetched revision, a
 * lost PM2 daemon is reported and replaced, and each environment's failure
 * is its own.
 */
import { randomUUID } from 'node:crypto';
import { sep } from 'node:path';
import { watch, type FSWatcher } from 'chokidar';
import type { Pm2Bus } from '../adapters/pm2.js';
import { SourceUnreachableError } from '../domain/errors.js';
import type { Conditions, Outage } from '../domain/failure.js';
import { findEnvironments } from '../render/render.js';
import { readManifestFiles } from '../manifest/load.js';
import type { CommitFacts } from '../source/approval.js';
import { reconcileEnvironment, reportFailure, type ControllerContext, type EnvironmentOutcome } from './environment.js';
import { describeFailure, firstLine, unknownFacts, type Failure } from './failure.js';
import { isOwnRef, movesFollowedRef } from './ref-events.js';
import { recordingReports, type EnvironmentReport } from './observer.js';
import { readSuspensions, writeSuspensions } from './suspensions.js';
import { durationMs } from '../policy/duration.js';
import type { Suspension } from '../report/suspension.js';

export interface ControllerOptions {
  /** Environments to run; empty: every environment of the tip. */
  environments: string[];
  intervalMs: number;
  resyncMs: number;
  /** How long stop() waits for the current step before leaving it to the next start; default 6 s. */
  stopWaitMs?: number;
  /** Before each pass: the environments of the pass this controller may reconcile (others are held by another controller). */
  claim?: (environments: string[]) => Promise<string[]>;
  /** Called after every pass (for tests, metrics and notifications). */
  onPass?: (pass: { revision: string; reasons: string[]; outcomes: EnvironmentOutcome[] }) => void;
}

/** SIGTERM must end the process within 10 s: 6 s for the current step, the rest for closing (with room for a loaded host). */
const STOP_WAIT_MS = 6_000;
/** How soon a pass runs again after the daemon could not be restarted. */
const DAEMON_RETRY_MS = 1_000;

/** The running controller of one manifest repository. */
export class Controller {
  private queued = new Set<string>();
  private running: Promise<void> | undefined;
  private stopping = false;
  private timer: NodeJS.Timeout | undefined;
  private retryTimer: NodeJS.Timeout | undefined;
  private watcher: FSWatcher | undefined;
  private bus: Pm2Bus | undefined;
  private lastRevision: string | undefined;
  /** When each environment was last reconciled (wall clock), for its interval. */
  private readonly lastSync = new Map<string, number>();
  /** When a held-back environment should be looked at again (the context's clock: windows follow it). */
  private readonly wakeAt = new Map<string, number>();
  private wakeTimer: NodeJS.Timeout | undefined;
  /** Suspension records of the status branch, and suspend/resume requests not written yet. */
  private suspensions = new Map<string, Suspension>();
  private lastSuspensions = '';
  private readonly suspensionRequests: Suspension[] = [];
  private statusPullFailing = false;
  private applying = false;
  /** A process event in a managed namespace that came while a pass was applying. */
  private missedEvent: string | undefined;
  private namespaces = new Set<string>();
  private knownEnvironments: string[] = [];
  private eventTimer: NodeJS.Timeout | undefined;
  private sourceDown: Conditions['source'];
  private daemonDown: Outage | undefined;
  /** The daemon outage of the previous pass, so that one outage keeps its first "since". */
  private daemonDownBefore: Outage | undefined;
  private lastConditions = '{}';
  /** Correlation id of the pass the queued triggers will run, and of the pass running now. */
  private pendingId: string | undefined;
  private passId: string | undefined;
  private passCtx: ControllerContext;
  private readonly reports = new Map<string, EnvironmentReport>();
  private readonly ctx: ControllerContext;

  constructor(ctx: ControllerContext, private readonly opts: ControllerOptions) {
    this.ctx = { ...ctx, observer: recordingReports(ctx.observer, this.reports) };
    this.passCtx = this.ctx;
  }

  /** Each environment's last report (what the API shows), by name. */
  lastResults(): ReadonlyMap<string, EnvironmentReport> {
    return this.reports;
  }

  /** Queues a pass like trigger(), and says the correlation id that pass will carry. */
  requestPass(reason: string): { correlationId: string; done: Promise<void> } {
    const done = this.trigger(reason);
    return { correlationId: this.pendingId ?? this.passId ?? '', done };
  }

  /**
   * Suspends or resumes an environment (the API's operators): the record is
   * committed to the status branch at the start of the next pass, which then
   * honours it. Resolves to the record and the id of that pass.
   */
  setSuspension(environment: string, change: { suspended: boolean; by: string; reason?: string }): { record: Suspension; correlationId: string; done: Promise<void> } {
    const record: Suspension = { environment, suspended: change.suspended, by: change.by, at: this.ctx.now().toISOString(), ...(change.reason ? { reason: change.reason } : {}) };
    this.suspensionRequests.push(record);
    const pass = this.requestPass(`${change.suspended ? 'suspend' : 'resume'} requested by ${change.by}`);
    return { record, ...pass };
  }

  /** The suspension record of an environment as the last pass read it. */
  suspensionOf(environment: string): Suspension | undefined {
    return this.suspensions.get(environment);
  }

  /** Starts watching and queues the first pass (it runs in the background). */
  async start(): Promise<void> {
    const paths = await this.ctx.source.watchPaths();
    if (paths.length) {
      // The controller's own pushes (status branch, applied refs) are not a reason to reconcile.
      this.watcher = watch(paths, { ignoreInitial: true, depth: 10, awaitWriteFinish: false, ignored: (path) => isOwnRef(path) });
      this.watcher.on('all', (event, path) => {
        if (!movesFollowedRef(event, path)) return;
        this.ctx.logger.debug({ event, path }, 'repository ref changed');
        this.trigger('repository refs changed');
      });
      // A repository moved away or unreadable is found by the next fetch; the watcher only speeds things up.
      this.watcher.on('error', (err) => this.ctx.logger.warn({ err }, 'cannot watch the repository refs'));
      await new Promise<void>((resolve) => { this.watcher!.once('ready', () => resolve()); });
    }
    this.ctx.pm2.onLost((loss) => {
      this.ctx.logger.error({ reason: loss.reason, since: loss.since.toISOString() }, 'lost the connection to the PM2 daemon');
      this.trigger('PM2 daemon connection lost');
    });
    await this.subscribe();
    this.timer = setInterval(() => this.trigger('interval'), this.opts.intervalMs);
    this.trigger('start');
  }

  /** (Re)subscribes to the event bus of the current daemon: drift in a managed namespace queues a pass. */
  private async subscribe(): Promise<void> {
    this.bus?.close?.();
    this.bus = await this.ctx.pm2.bus();
    this.bus.on('process:event', (packet) => {
      const ns = packet.process?.namespace;
      if (!ns || !this.namespaces.has(ns)) return;
      const heals = packet.event === 'exit' || packet.event === 'stop' || packet.event === 'delete';
      this.notifyProcessEvent(packet, heals);
      if (!heals) return;
      const reason = `process ${packet.process?.name ?? '?'} ${packet.event}`;
      // A pass's own actions cause such events, but so does a `pm2 stop` by hand while it runs, after it
      // looked: one more pass once this one ends looks again (it changes nothing when the events were its own).
      if (this.applying) { this.missedEvent ??= reason; return; }
      // Debounced: a crash loop or a scripted `pm2 stop` of many processes is one reconcile.
      clearTimeout(this.eventTimer);
      this.eventTimer = setTimeout(() => this.trigger(reason), 500);
    });
  }

  /** Tells the observer of a process event, with the id of the pass it belongs to (running, or the one it queues). */
  private notifyProcessEvent(packet: { process?: { name?: string; pm_id?: number; namespace?: string }; event?: string }, queues: boolean): void {
    if (!this.ctx.observer?.processEvent) return;
    const correlationId = this.applying ? this.passId : queues ? (this.pendingId ??= randomUUID()) : (this.passId ?? this.pendingId);
    this.ctx.observer.processEvent({
      correlationId: correlationId ?? '',
      event: String(packet.event ?? ''),
      name: packet.process?.name ?? '',
      namespace: packet.process?.namespace ?? '',
      ...(typeof packet.process?.pm_id === 'number' ? { pmId: packet.process.pm_id } : {}),
      at: new Date().toISOString(),
    });
  }

  /** Queues a reconcile pass; returns the promise of the pass that will honour it. */
  trigger(reason: string): Promise<void> {
    if (this.stopping) return this.running ?? Promise.resolve();
    // The interval ticks are the clock, not news: only the other reasons are worth a line.
    if (reason !== 'interval') this.ctx.logger.debug({ reason, running: Boolean(this.running) }, 'reconcile queued');
    this.queued.add(reason);
    this.pendingId ??= randomUUID();
    if (!this.running) {
      this.running = this.drain().finally(() => { this.running = undefined; });
    }
    return this.running;
  }

  private async drain(): Promise<void> {
    while (this.queued.size && !this.stopping) {
      const reasons = [...this.queued];
      this.queued.clear();
      this.passId = this.pendingId ?? randomUUID();
      this.pendingId = undefined;
      this.passCtx = { ...this.ctx, correlationId: this.passId, logger: this.ctx.logger.child({ correlationId: this.passId }) };
      try {
        await this.pass(reasons);
      } catch (err) {
        this.ctx.logger.error({ err, reasons }, 'reconcile pass failed; retrying at the next trigger');
      }
    }
  }

  private conditions(): Conditions {
    return { ...(this.sourceDown ? { source: this.sourceDown } : {}), ...(this.daemonDown ? { daemon: this.daemonDown } : {}) };
  }

  /**
   * Writes the suspend/resume requests, takes in the status branch (records
   * others committed) and reads every suspension record. A status branch
   * that cannot be fetched leaves the records as last read.
   */
  private async syncSuspensions(): Promise<void> {
    const requests = this.suspensionRequests.splice(0);
    try {
      if (requests.length && !(await writeSuspensions(this.ctx.status, requests))) this.ctx.logger.warn({ environments: requests.map((r) => r.environment) }, 'the suspension is committed but not pushed yet; this controller honours it, others once it is pushed');
      if (!this.ctx.status.pending) await this.ctx.status.pull();
      if (this.statusPullFailing) this.ctx.logger.info('the status branch can be fetched again');
      this.statusPullFailing = false;
    } catch (err) {
      if (!this.statusPullFailing) this.ctx.logger.warn({ err }, 'cannot fetch the status branch; suspensions stay as last read');
      this.statusPullFailing = true;
    }
    this.suspensions = readSuspensions(this.ctx.status, this.ctx.logger);
  }

  /** How often an environment is reconciled when nothing changed: its `spec.policy.interval`, else `--resync`. */
  private intervalOf(env: string): number {
    const text = this.reports.get(env)?.state?.policy.interval;
    if (!text) return this.opts.resyncMs;
    try { return durationMs(text); } catch { return this.opts.resyncMs; }
  }

  /** Whether an environment's interval passed or its wake time came, in a pass where nothing else changed. */
  private due(env: string, now: number): boolean {
    const wake = this.wakeAt.get(env);
    if (wake !== undefined && this.ctx.now().getTime() >= wake) return true;
    return now - (this.lastSync.get(env) ?? 0) >= this.intervalOf(env);
  }

  /** Queues a pass for the earliest wake time (a sync window opening, a retry falling due). */
  private scheduleWake(): void {
    clearTimeout(this.wakeTimer);
    if (this.stopping || !this.wakeAt.size) return;
    const delay = Math.min(Math.max(0, Math.min(...this.wakeAt.values()) - this.ctx.now().getTime()), 2_000_000_000);
    this.wakeTimer = setTimeout(() => this.trigger('a sync window or retry is due'), delay);
  }

  private async pass(reasons: string[]): Promise<void> {
    this.ctx.source.beginPass();
    await this.ctx.status.flush();
    await this.syncSuspensions();
    this.daemonDownBefore = this.daemonDown;
    if (!this.ctx.pm2.lost) this.daemonDown = undefined;
    const revision = await this.fetchTip();
    if (!revision) return;
    const now = Date.now();
    const changed = revision !== this.lastRevision;
    const onlyInterval = reasons.every((r) => r === 'interval');
    const conditions = JSON.stringify(this.conditions());
    const suspensions = JSON.stringify([...this.suspensions.values()].sort((a, b) => a.environment.localeCompare(b.environment)));
    // Nothing changed: only the environments whose interval passed (or whose wake time came) are reconciled.
    const quiet = !changed && onlyInterval && conditions === this.lastConditions && suspensions === this.lastSuspensions;
    const dueNow = quiet ? new Set((this.opts.environments.length ? this.opts.environments : this.knownEnvironments).filter((e) => this.due(e, now))) : undefined;
    if (dueNow && !dueNow.size) return;
    const facts = await this.ctx.source.facts(revision, this.ctx.allowedSignersFile).catch((err: unknown) => {
      this.ctx.logger.error({ err, revision }, 'cannot read the commit');
      return unknownFacts(revision, err);
    });
    const all = await this.environmentsAt(revision);
    const claimed = this.opts.claim ? await this.opts.claim(all) : all;
    const envs = dueNow ? claimed.filter((e) => dueNow.has(e)) : claimed;
    const outcomes: EnvironmentOutcome[] = [];
    const correlationId = this.passId ?? '';
    const started = Date.now();
    this.ctx.observer?.passStarted?.({ correlationId, revision, reasons, environments: envs, at: new Date(started).toISOString() });
    this.applying = true;
    try {
      if (!this.ctx.pm2.lost || (await this.recoverDaemon(envs, revision, facts))) {
        for (const env of envs) outcomes.push(await this.reconcileOne(env, revision, facts, reasons));
      }
    } finally {
      this.applying = false;
      const missed = this.missedEvent;
      this.missedEvent = undefined;
      if (missed) this.trigger(`${missed} during the last pass`);
    }
    this.lastRevision = revision;
    for (const o of outcomes) {
      this.lastSync.set(o.environment, now);
      if (o.wakeAt) this.wakeAt.set(o.environment, Date.parse(o.wakeAt));
      else this.wakeAt.delete(o.environment);
    }
    this.scheduleWake();
    this.lastConditions = JSON.stringify(this.conditions());
    this.lastSuspensions = suspensions;
    this.opts.onPass?.({ revision, reasons, outcomes });
    this.ctx.observer?.passFinished?.({ correlationId, revision, reasons, durationMs: Date.now() - started, at: new Date().toISOString() });
  }

  /** One environment, in its own try: whatever it throws becomes its reported failure, never the others'. */
  private async reconcileOne(env: string, revision: string, facts: CommitFacts, reasons: string[]): Promise<EnvironmentOutcome> {
    const ctx = this.passCtx;
    const started = Date.now();
    ctx.logger.info({ environment: env, revision, reasons }, 'reconciling');
    let outcome: EnvironmentOutcome;
    try {
      const suspension = this.suspensions.get(env);
      outcome = await reconcileEnvironment(ctx, env, revision, facts, { conditions: this.conditions(), ...(suspension ? { suspension } : {}) });
    } catch (err) {
      const failure = describeFailure(err);
      if (failure.reason === 'daemon-unreachable') {
        const lost = this.ctx.pm2.lost;
        this.daemonDown ??= lost ? { since: lost.since.toISOString(), reason: lost.reason } : (this.daemonDownBefore ?? { since: new Date().toISOString(), reason: firstLine(err) });
      }
      ctx.logger.error({ err, environment: env, revision }, `${env}: reconcile failed: ${failure.message}`);
      outcome = await this.report(env, revision, facts, failure);
    }
    ctx.logger.info({ ...outcome }, `${env}: ${outcome.outcome}`);
    ctx.observer?.reconciled?.({ correlationId: ctx.correlationId ?? '', environment: env, outcome: outcome.outcome, ...(outcome.reason ? { reason: outcome.reason } : {}), durationMs: Date.now() - started, at: new Date().toISOString() });
    // Known at once, so that processes a daemon lost in this very pass are recognised as managed.
    if (outcome.namespace) this.namespaces.add(outcome.namespace);
    return outcome;
  }

  /** Writes a failure report; if even that fails (git), the log is all that is left. */
  private async report(env: string, revision: string, facts: CommitFacts, failure: Failure): Promise<EnvironmentOutcome> {
    try {
      return await reportFailure(this.passCtx, env, revision, facts, failure, { conditions: this.conditions() });
    } catch (err) {
      this.passCtx.logger.error({ err, environment: env }, `${env}: cannot write the failure report`);
      return { environment: env, outcome: 'failed', reason: failure.reason, actions: 0 };
    }
  }

  /**
   * The daemon is gone: reports it for every environment, then opens a new
   * connection (starting a new daemon under the same PM2_HOME), stops what
   * the old daemon left running and re-subscribes to its events. Resolves to
   * whether PM2 is back; if not, a pass is queued again shortly.
   */
  private async recoverDaemon(envs: string[], revision: string, facts: CommitFacts): Promise<boolean> {
    const lost = this.ctx.pm2.lost!;
    this.daemonDown ??= { since: lost.since.toISOString(), reason: lost.reason };
    for (const env of envs) {
      await this.report(env, revision, facts, { reason: 'daemon-unreachable', message: `the PM2 daemon is unreachable since ${this.daemonDown.since} (${this.daemonDown.reason}); starting a new one` });
    }
    if (this.stopping) return false;
    try {
      this.ctx.logger.info({ home: this.ctx.pm2.home }, 'connecting to the PM2 daemon again (starting one when none runs)');
      const { startedDaemon } = await this.ctx.pm2.reconnect();
      this.ctx.logger.warn({ startedDaemon }, startedDaemon ? 'started a new PM2 daemon' : 'reconnected to the PM2 daemon');
      for (const p of await this.ctx.pm2.reapOrphans(this.namespaces)) {
        this.ctx.logger.warn({ task: p.name, namespace: p.namespace, processPid: p.pid, signal: p.signal }, `stopped ${p.name} (pid ${p.pid}): it outlived its PM2 daemon`);
      }
      await this.subscribe();
      this.daemonDown = undefined;
      return true;
    } catch (err) {
      this.ctx.logger.error({ err }, 'cannot reach or start the PM2 daemon; retrying');
      clearTimeout(this.retryTimer);
      this.retryTimer = setTimeout(() => this.trigger('retrying the PM2 daemon'), DAEMON_RETRY_MS);
      return false;
    }
  }

  /** Fetches the tip; when the source cannot be fetched, goes on with the last revision fetched (if any). */
  private async fetchTip(): Promise<string | undefined> {
    try {
      const revision = await this.ctx.source.fetch();
      if (this.sourceDown) this.ctx.logger.info({ since: this.sourceDown.since }, 'the manifest repository is reachable again');
      this.sourceDown = undefined;
      return revision;
    } catch (err) {
      if (!(err instanceof SourceUnreachableError)) throw err;
      const reason = err.branchDeleted ? `branch ${this.ctx.source.branch} was deleted from the repository` : firstLine(err.cause ?? err);
      const last = this.lastRevision ?? (await this.ctx.source.lastFetched());
      if (this.sourceDown?.reason !== reason) {
        // Logged once per outage (and when its reason changes), not at every interval.
        if (last) this.ctx.logger.warn({ err, reason, revision: last }, 'cannot fetch the manifest repository; going on with the last fetched revision');
        else this.ctx.logger.error({ err, reason }, 'cannot fetch the manifest repository and no revision was fetched before; nothing to reconcile until it can be');
        this.sourceDown = { since: this.sourceDown?.since ?? new Date().toISOString(), reason, ...(err.branchDeleted ? { branchDeleted: true } : {}) };
      }
      return last;
    }
  }

  /**
   * The environments to reconcile: those of the tip. A file of the tip that
   * cannot be read may hide an Environment, so then the ones reconciled before
   * stay in the list (and report the problem) rather than fall silent.
   */
  private async environmentsAt(revision: string): Promise<string[]> {
    if (this.opts.environments.length) return this.opts.environments;
    const known = this.knownEnvironments.length ? this.knownEnvironments : this.ctx.store.environments();
    try {
      const release = await this.ctx.source.release(revision);
      const files = readManifestFiles({ repoRoot: release, path: this.ctx.path });
      const names = new Set(findEnvironments(files).map((e) => e.name));
      if (files.some((f) => f.diagnostics.length > 0 || (f.unreadable?.length ?? 0) > 0)) for (const name of known) names.add(name);
      this.knownEnvironments = [...names].sort();
    } catch (err) {
      this.ctx.logger.error({ err, revision, environments: known }, 'cannot list the environments of the tip; reconciling the known ones');
      this.knownEnvironments = known;
    }
    return this.knownEnvironments;
  }

  /** Lets the current step finish for up to `stopWaitMs` (its status is written), then stops watching. */
  async stop(): Promise<void> {
    this.stopping = true;
    clearInterval(this.timer);
    clearTimeout(this.eventTimer);
    clearTimeout(this.retryTimer);
    clearTimeout(this.wakeTimer);
    const waitMs = this.opts.stopWaitMs ?? STOP_WAIT_MS;
    let timer: NodeJS.Timeout | undefined;
    const finished = await Promise.race([
      (this.running ?? Promise.resolve()).then(() => true),
      new Promise<boolean>((resolve) => { timer = setTimeout(() => resolve(false), waitMs); }),
    ]);
    clearTimeout(timer);
    if (!finished) this.ctx.logger.warn({ waitMs }, 'the current step did not finish in time; the next start reports what it left unfinished');
    await Promise.race([this.watcher?.close(), new Promise((resolve) => { setTimeout(resolve, 500); })]);
    this.bus?.close?.();
  }
}
