/**
 * The controller loop (level-based, like controller-runtime): triggers
 * (new revision, PM2 process events, resync interval, a watched local
 * repository, the webhook) only queue a full reconcile; one pass runs at a
 * time and a trigger during a pass queues exactly one more. A pass always
 * reports: an unreachable source runs on from the last fetched revision, a
 * lost PM2 daemon is reported and replaced, and each environment's failure
 * is its own.
 */
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
  private lastSync = 0;
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

  constructor(private readonly ctx: ControllerContext, private readonly opts: ControllerOptions) {}

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
      if (packet.event !== 'exit' && packet.event !== 'stop' && packet.event !== 'delete') return;
      const reason = `process ${packet.process?.name ?? '?'} ${packet.event}`;
      // A pass's own actions cause such events, but so does a `pm2 stop` by hand while it runs, after it
      // looked: one more pass once this one ends looks again (it changes nothing when the events were its own).
      if (this.applying) { this.missedEvent ??= reason; return; }
      // Debounced: a crash loop or a scripted `pm2 stop` of many processes is one reconcile.
      clearTimeout(this.eventTimer);
      this.eventTimer = setTimeout(() => this.trigger(reason), 500);
    });
  }

  /** Queues a reconcile pass; returns the promise of the pass that will honour it. */
  trigger(reason: string): Promise<void> {
    if (this.stopping) return this.running ?? Promise.resolve();
    // The interval ticks are the clock, not news: only the other reasons are worth a line.
    if (reason !== 'interval') this.ctx.logger.debug({ reason, running: Boolean(this.running) }, 'reconcile queued');
    this.queued.add(reason);
    if (!this.running) {
      this.running = this.drain().finally(() => { this.running = undefined; });
    }
    return this.running;
  }

  private async drain(): Promise<void> {
    while (this.queued.size && !this.stopping) {
      const reasons = [...this.queued];
      this.queued.clear();
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

  private async pass(reasons: string[]): Promise<void> {
    this.ctx.source.beginPass();
    await this.ctx.status.flush();
    this.daemonDownBefore = this.daemonDown;
    if (!this.ctx.pm2.lost) this.daemonDown = undefined;
    const revision = await this.fetchTip();
    if (!revision) return;
    const now = Date.now();
    const changed = revision !== this.lastRevision;
    const onlyInterval = reasons.every((r) => r === 'interval');
    const conditions = JSON.stringify(this.conditions());
    if (!changed && onlyInterval && conditions === this.lastConditions && now - this.lastSync < this.opts.resyncMs) return;
    const facts = await this.ctx.source.facts(revision, this.ctx.allowedSignersFile).catch((err: unknown) => {
      this.ctx.logger.error({ err, revision }, 'cannot read the commit');
      return unknownFacts(revision, err);
    });
    const all = await this.environmentsAt(revision);
    const envs = this.opts.claim ? await this.opts.claim(all) : all;
    const outcomes: EnvironmentOutcome[] = [];
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
    this.lastSync = now;
    this.lastConditions = JSON.stringify(this.conditions());
    this.opts.onPass?.({ revision, reasons, outcomes });
  }

  /** One environment, in its own try: whatever it throws becomes its reported failure, never the others'. */
  private async reconcileOne(env: string, revision: string, facts: CommitFacts, reasons: string[]): Promise<EnvironmentOutcome> {
    this.ctx.logger.info({ environment: env, revision, reasons }, 'reconciling');
    let outcome: EnvironmentOutcome;
    try {
      outcome = await reconcileEnvironment(this.ctx, env, revision, facts, { conditions: this.conditions() });
    } catch (err) {
      const failure = describeFailure(err);
      if (failure.reason === 'daemon-unreachable') {
        const lost = this.ctx.pm2.lost;
        this.daemonDown ??= lost ? { since: lost.since.toISOString(), reason: lost.reason } : (this.daemonDownBefore ?? { since: new Date().toISOString(), reason: firstLine(err) });
      }
      this.ctx.logger.error({ err, environment: env, revision }, `${env}: reconcile failed: ${failure.message}`);
      outcome = await this.report(env, revision, facts, failure);
    }
    this.ctx.logger.info({ ...outcome }, `${env}: ${outcome.outcome}`);
    // Known at once, so that processes a daemon lost in this very pass are recognised as managed.
    if (outcome.namespace) this.namespaces.add(outcome.namespace);
    return outcome;
  }

  /** Writes a failure report; if even that fails (git), the log is all that is left. */
  private async report(env: string, revision: string, facts: CommitFacts, failure: Failure): Promise<EnvironmentOutcome> {
    try {
      return await reportFailure(this.ctx, env, revision, facts, failure, { conditions: this.conditions() });
    } catch (err) {
      this.ctx.logger.error({ err, environment: env }, `${env}: cannot write the failure report`);
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
