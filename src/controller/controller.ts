/**
 * The controller loop (level-based, like controller-runtime): triggers
 * (new revision, PM2 process events, resync interval, a watched local
 * repository, the webhook) only queue a full reconcile; one pass runs at a
 * time and a trigger during a pass queues exactly one more.
 */
import { sep } from 'node:path';
import { watch, type FSWatcher } from 'chokidar';
import type { Pm2Bus } from '../adapters/pm2.js';
import { findEnvironments } from '../render/render.js';
import { readManifestFiles } from '../manifest/load.js';
import { STATUS_BRANCH } from '../report/status-repo.js';
import { reconcileEnvironment, type ControllerContext, type EnvironmentOutcome } from './environment.js';

export interface ControllerOptions {
  /** Environments to run; empty: every environment of the tip. */
  environments: string[];
  intervalMs: number;
  resyncMs: number;
  /** Before each pass: the environments of the pass this controller may reconcile (others are held by another controller). */
  claim?: (environments: string[]) => Promise<string[]>;
  /** Called after every pass (for tests, metrics and notifications). */
  onPass?: (pass: { revision: string; reasons: string[]; outcomes: EnvironmentOutcome[] }) => void;
}

/** The running controller of one manifest repository. */
export class Controller {
  private queued = new Set<string>();
  private running: Promise<void> | undefined;
  private stopping = false;
  private timer: NodeJS.Timeout | undefined;
  private watcher: FSWatcher | undefined;
  private bus: Pm2Bus | undefined;
  private lastRevision: string | undefined;
  private lastSync = 0;
  private applying = false;
  private namespaces = new Set<string>();
  private eventTimer: NodeJS.Timeout | undefined;

  constructor(private readonly ctx: ControllerContext, private readonly opts: ControllerOptions) {}

  /** Starts watching and runs the first pass. */
  async start(): Promise<void> {
    const paths = await this.ctx.source.watchPaths();
    if (paths.length) {
      // The controller's own status pushes move refs/heads/pm2-gitops/status (and its .lock): not a reason to reconcile.
      const ownRef = `${sep}refs${sep}heads${sep}${STATUS_BRANCH.split('/').join(sep)}`;
      this.watcher = watch(paths, { ignoreInitial: true, depth: 10, awaitWriteFinish: false, ignored: (path) => path.includes(ownRef) });
      this.watcher.on('all', () => this.trigger('repository refs changed'));
      await new Promise<void>((resolve) => { this.watcher!.once('ready', () => resolve()); });
    }
    this.bus = await this.ctx.pm2.bus();
    this.bus.on('process:event', (packet) => {
      const ns = packet.process?.namespace;
      if (this.applying || !ns || !this.namespaces.has(ns)) return;
      if (packet.event !== 'exit' && packet.event !== 'stop' && packet.event !== 'delete') return;
      // Debounced: a crash loop or a scripted `pm2 stop` of many processes is one reconcile.
      clearTimeout(this.eventTimer);
      this.eventTimer = setTimeout(() => this.trigger(`process ${packet.process?.name ?? '?'} ${packet.event}`), 500);
    });
    this.timer = setInterval(() => this.trigger('interval'), this.opts.intervalMs);
    this.trigger('start');
    await this.running;
  }

  /** Queues a reconcile pass; returns the promise of the pass that will honour it. */
  trigger(reason: string): Promise<void> {
    if (this.stopping) return this.running ?? Promise.resolve();
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

  private async pass(reasons: string[]): Promise<void> {
    const revision = await this.ctx.source.fetch();
    const now = Date.now();
    const changed = revision !== this.lastRevision;
    const onlyInterval = reasons.every((r) => r === 'interval');
    if (!changed && onlyInterval && now - this.lastSync < this.opts.resyncMs) return;
    const facts = await this.ctx.source.facts(revision, this.ctx.allowedSignersFile);
    const all = this.opts.environments.length ? this.opts.environments : await this.environmentsAt(revision);
    const envs = this.opts.claim ? await this.opts.claim(all) : all;
    const outcomes: EnvironmentOutcome[] = [];
    this.applying = true;
    try {
      for (const env of envs) {
        this.ctx.logger.info({ environment: env, revision, reasons }, 'reconciling');
        const outcome = await reconcileEnvironment(this.ctx, env, revision, facts);
        outcomes.push(outcome);
        this.ctx.logger.info({ ...outcome }, `${env}: ${outcome.outcome}`);
      }
    } finally {
      this.applying = false;
    }
    await this.refreshNamespaces(revision, envs);
    this.lastRevision = revision;
    this.lastSync = now;
    this.opts.onPass?.({ revision, reasons, outcomes });
  }

  private async environmentsAt(revision: string): Promise<string[]> {
    const release = await this.ctx.source.release(revision);
    return [...new Set(findEnvironments(readManifestFiles({ repoRoot: release, path: this.ctx.path })).map((e) => e.name))];
  }

  private async refreshNamespaces(revision: string, envs: string[]): Promise<void> {
    const release = await this.ctx.source.release(revision);
    const files = readManifestFiles({ repoRoot: release, path: this.ctx.path });
    for (const e of findEnvironments(files)) {
      const ns = (e.doc.value as { spec?: { namespace?: unknown } }).spec?.namespace;
      if (envs.includes(e.name) && typeof ns === 'string') this.namespaces.add(ns);
    }
  }

  /** Finishes the current pass (its status is written), then stops watching. */
  async stop(): Promise<void> {
    this.stopping = true;
    clearInterval(this.timer);
    clearTimeout(this.eventTimer);
    await this.running;
    await this.watcher?.close();
    this.bus?.close?.();
  }
}
