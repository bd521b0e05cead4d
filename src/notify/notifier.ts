/**
 * `run --notify URL` (I/O): the controller's observer that posts
 * notifications (notifications.ts) to each URL. Posting never blocks the
 * loop: observer calls only queue. A post that fails (no answer, 5xx, 408,
 * 429) is tried again after 1 s, 2 s, 4 s … at most 5 min apart, up to
 * `maxAttempts`; each URL's queue is bounded (the oldest are dropped first).
 * Every body passes the process-wide redaction, so no env value leaves.
 */
import { postJson, urlOrigin } from '../adapters/http-post.js';
import type { Logger } from '../adapters/logger.js';
import type { ControllerObserver, EnvironmentReport } from '../controller/observer.js';
import type { BuildEvent } from '../delivery/types.js';
import { processSecrets } from '../domain/secret-registry.js';
import { notificationOfBuild, notificationsOfReport, type Notification } from './notifications.js';

export interface NotifierOptions {
  urls: readonly string[];
  host: string;
  logger: Logger;
  /** Posts a body; resolves to the HTTP status (default: postJson). */
  send?: (url: string, body: string) => Promise<number>;
  firstDelayMs?: number;
  maxDelayMs?: number;
  maxAttempts?: number;
  /** Notifications waiting per URL before the oldest are dropped. */
  maxQueue?: number;
}

interface Pending { notification: Notification; body: string; attempts: number }

interface Target {
  url: string;
  queue: Pending[];
  busy: boolean;
  timer?: NodeJS.Timeout;
  dropped: number;
}

/** Whether a failed post is worth another try: no answer, a server error, a timeout or too many requests. */
function retryable(status: number | undefined): boolean {
  return status === undefined || status >= 500 || status === 408 || status === 429;
}

/** Posts notifications of the controller's reports and builds to every `--notify` URL. */
export class Notifier implements ControllerObserver {
  private readonly before = new Map<string, EnvironmentReport>();
  private readonly revisions = new Map<string, string>();
  private readonly targets: Target[];
  private closed = false;

  constructor(private readonly opts: NotifierOptions) {
    this.targets = opts.urls.map((url) => ({ url, queue: [], busy: false, dropped: 0 }));
  }

  passStarted(e: { correlationId: string; revision: string }): void {
    this.revisions.set(e.correlationId, e.revision);
  }

  passFinished(e: { correlationId: string }): void {
    this.revisions.delete(e.correlationId);
  }

  reported(r: EnvironmentReport): void {
    const before = this.before.get(r.environment);
    this.before.set(r.environment, r);
    for (const n of notificationsOfReport(before, r, this.opts.host)) this.enqueue(n);
  }

  build(e: { correlationId: string; environment: string; event: BuildEvent; at: string }): void {
    const revision = this.revisions.get(e.correlationId);
    const n = notificationOfBuild({ ...e, ...(revision ? { revision } : {}) }, this.opts.host);
    if (n) this.enqueue(n);
  }

  /** Queues a notification for every URL. */
  enqueue(notification: Notification): void {
    if (this.closed) return;
    const body = JSON.stringify(processSecrets.redactJson(notification));
    for (const t of this.targets) {
      t.queue.push({ notification, body, attempts: 0 });
      const max = this.opts.maxQueue ?? 100;
      if (t.queue.length > max) {
        t.queue.splice(0, t.queue.length - max);
        t.dropped++;
        this.opts.logger.warn({ target: urlOrigin(t.url), dropped: t.dropped }, 'too many notifications wait for an answer; dropped the oldest');
      }
      this.pump(t);
    }
  }

  /** Sends the head of a target's queue, one at a time (in order). */
  private pump(t: Target): void {
    if (t.busy || t.timer || this.closed || !t.queue.length) return;
    t.busy = true;
    const head = t.queue[0]!;
    void this.post(t, head).finally(() => { t.busy = false; this.pump(t); });
  }

  private async post(t: Target, p: Pending): Promise<void> {
    p.attempts++;
    let status: number | undefined;
    let error: unknown;
    try {
      status = await (this.opts.send ?? postJson)(t.url, p.body);
    } catch (err) {
      error = err;
    }
    const log = { target: urlOrigin(t.url), event: p.notification.event, environment: p.notification.environment, correlationId: p.notification.correlationId, attempts: p.attempts };
    if (status !== undefined && status >= 200 && status < 300) {
      t.queue.shift();
      this.opts.logger.debug({ ...log, status }, 'notification sent');
      return;
    }
    const maxAttempts = this.opts.maxAttempts ?? 10;
    if (!retryable(status) || p.attempts >= maxAttempts) {
      t.queue.shift();
      this.opts.logger.warn({ ...log, ...(status !== undefined ? { status } : { err: error }) }, `notification not delivered${retryable(status) ? ` after ${p.attempts} attempts` : ' (refused)'}; dropped`);
      return;
    }
    const delay = Math.min((this.opts.firstDelayMs ?? 1_000) * 2 ** (p.attempts - 1), this.opts.maxDelayMs ?? 300_000);
    this.opts.logger.info({ ...log, ...(status !== undefined ? { status } : { err: error }), retryInMs: delay }, 'notification not delivered; trying again');
    t.timer = setTimeout(() => { t.timer = undefined; this.pump(t); }, delay);
    // Waiting to retry a notification never keeps the controller from exiting.
    t.timer.unref();
  }

  /** Stops retrying; what still waits is dropped (and counted in the log). */
  close(): void {
    this.closed = true;
    const waiting = this.targets.reduce((n, t) => n + t.queue.length, 0);
    for (const t of this.targets) clearTimeout(t.timer);
    if (waiting) this.opts.logger.warn({ waiting }, 'stopping with notifications not delivered');
  }
}
