/**
 * The controller's HTTP server (`run --listen`, DESIGN section 7): health,
 * readiness, metrics, the environments and their tasks, a reconcile trigger,
 * the event stream, the git webhook and the dashboard at `/`. Everything but
 * /healthz, /readyz, the signed webhook and the dashboard's own files (which
 * hold no data) needs a bearer JWT; nothing here can apply what is not
 * in git (a trigger only queues a pass of the controller). Every request is
 * logged once, with the correlation id of the pass it queued, if any.
 */
import { randomUUID } from 'node:crypto';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { Logger } from '../adapters/logger.js';
import type { EnvironmentReport } from '../controller/observer.js';
import type { BuildRecord } from '../delivery/types.js';
import type { LiveTask } from '../domain/live.js';
import { processSecrets } from '../domain/secret-registry.js';
import { allows, verifyBearer, type Principal, type Role, type TokenVerifier } from './auth.js';
import { loadDashboard, serveAsset, type DashboardAsset } from './dashboard-assets.js';
import { renderLive } from './metrics.js';
import { buildView, type TaskDetail } from './task-detail.js';
import { environmentView, taskViews } from './tasks.js';
import type { ApiTelemetry } from './telemetry.js';
import { BodyError, MAX_BODY_BYTES, readBody, verifyWebhook } from './webhook.js';

/** What the server needs of the controller: its last reports and a way to queue a pass. */
export interface ApiController {
  lastResults(): ReadonlyMap<string, EnvironmentReport>;
  requestPass(reason: string): { correlationId: string; done: Promise<void> };
  /** Suspends or resumes an environment: recorded on the status branch by the pass it queues. */
  setSuspension?(environment: string, change: { suspended: boolean; by: string }): { record: { suspended: boolean; by: string; at: string }; correlationId: string };
}

export interface ApiServerOptions {
  host: string;
  port: number;
  verifier: TokenVerifier;
  /** PM2_GITOPS_WEBHOOK_SECRET; without it every webhook call is refused. */
  webhookSecret?: string;
  controller: ApiController;
  telemetry: ApiTelemetry;
  /** Live tasks of every reported environment, read now; undefined when PM2 cannot be read. */
  readLive(reports: readonly EnvironmentReport[]): Promise<Map<string, LiveTask[]> | undefined>;
  /** The build record of a task's code digest, for the task view; absent: the view shows no build. */
  readBuild?: (task: string, digest: string) => BuildRecord | undefined;
  /** The dashboard's files (default: read from the package at start). */
  dashboard?: ReadonlyMap<string, DashboardAsset>;
  logger: Logger;
  /** How long a client may take to send a request's headers, and a webhook its body (default 5 s each; any request 10 s in all). */
  headersTimeoutMs?: number;
  bodyTimeoutMs?: number;
}

/** A listening API server. */
export interface ApiServer {
  host: string;
  port: number;
  close(): Promise<void>;
}

interface Exchange {
  req: IncomingMessage;
  res: ServerResponse;
  path: string;
  /** Fields of the request's one log line. */
  log: { requestId: string; correlationId?: string; subject?: string; role?: Role; provider?: string };
  logged?: boolean;
}

const ENV_TASKS = /^\/api\/environments\/([a-z0-9][a-z0-9-]*)\/tasks$/;
const ENV_TASK = /^\/api\/environments\/([a-z0-9][a-z0-9-]*)\/tasks\/([^/]+)$/;
const ENV_RECONCILE = /^\/api\/environments\/([a-z0-9][a-z0-9-]*)\/reconcile$/;
const ENV_SUSPEND = /^\/api\/environments\/([a-z0-9][a-z0-9-]*)\/(suspend|resume)$/;

function json(res: ServerResponse, status: number, body: unknown, headers: Record<string, string> = {}): void {
  // The last guard: whatever an answer holds passes the process-wide redaction.
  const text = JSON.stringify(processSecrets.redactJson(body));
  res.writeHead(status, { 'content-type': 'application/json; charset=utf-8', 'cache-control': 'no-store', ...headers });
  res.end(text);
}

function sendJsonText(res: ServerResponse, text: string): void {
  res.writeHead(200, { 'content-type': 'application/json; charset=utf-8', 'cache-control': 'no-store' });
  res.end(text);
}

/**
 * The tasks answer of a report, made once per process list look, report and
 * set of secrets: at 200 tasks it is about 300 KiB to build and redact, which
 * held the endpoint to about 16 requests/s (bench/api.ts).
 */
const tasksAnswers = new WeakMap<EnvironmentReport, { live: LiveTask[] | undefined; redactor: unknown; text: string }>();

function tasksAnswer(report: EnvironmentReport, live: LiveTask[] | undefined): string {
  const redactor = processSecrets.redactor();
  const kept = tasksAnswers.get(report);
  if (kept && kept.live === live && kept.redactor === redactor && live !== undefined) return kept.text;
  const text = JSON.stringify(processSecrets.redactJson({ environment: report.environment, revision: report.running ?? report.tip, observedNow: live !== undefined, tasks: taskViews(report, live) }));
  tasksAnswers.set(report, { live, redactor, text });
  return text;
}

function refuse(res: ServerResponse, status: 401 | 403 | 404 | 405 | 408 | 413 | 503, extra: Record<string, string> = {}): void {
  const words = { 401: 'unauthorized', 403: 'forbidden', 404: 'not found', 405: 'method not allowed', 408: 'request timeout', 413: 'payload too large', 503: 'not ready' } as const;
  json(res, status, { error: words[status] }, { ...(status === 401 ? { 'www-authenticate': 'Bearer' } : {}), ...extra });
}

/** Starts the server; resolves once it listens (port 0: any free port). */
export async function startApiServer(given: ApiServerOptions): Promise<ApiServer> {
  const opts = { ...given, dashboard: given.dashboard ?? dashboardOrNothing(given.logger) };
  const server: Server = createServer({
    headersTimeout: opts.headersTimeoutMs ?? 5_000,
    requestTimeout: 10_000,
    // Checked every second, so a slow client is cut off close to its limit.
    connectionsCheckingInterval: 1_000,
  }, (req, res) => { void handle(opts, req, res); });
  server.keepAliveTimeout = 5_000;
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(opts.port, opts.host, () => { server.off('error', reject); resolve(); });
  });
  const address = server.address() as AddressInfo;
  return {
    host: address.address,
    port: address.port,
    close: () => new Promise<void>((resolve) => {
      opts.telemetry.close();
      server.close(() => resolve());
      server.closeAllConnections();
    }),
  };
}

function dashboardOrNothing(logger: Logger): ReadonlyMap<string, DashboardAsset> {
  try {
    return loadDashboard();
  } catch (err) {
    // The API works without its page: say so once, and / answers 404.
    logger.error({ err }, 'the dashboard is not served');
    return new Map();
  }
}

async function handle(opts: ApiServerOptions, req: IncomingMessage, res: ServerResponse): Promise<void> {
  const started = process.hrtime.bigint();
  const path = (req.url ?? '/').split('?')[0]!;
  const x: Exchange = { req, res, path, log: { requestId: randomUUID() } };
  res.once('finish', () => logRequest(opts.logger, x, started));
  res.once('close', () => { if (!res.writableFinished) logRequest(opts.logger, x, started); });
  try {
    await route(opts, x);
  } catch (err) {
    opts.logger.error({ err, requestId: x.log.requestId, path }, 'request failed');
    if (!res.headersSent) json(res, 500, { error: 'internal error' });
    else res.destroy();
  }
}

function logRequest(logger: Logger, x: Exchange, started: bigint): void {
  if (x.logged) return;
  x.logged = true;
  const durationMs = Number(process.hrtime.bigint() - started) / 1e6;
  logger.info({ ...x.log, method: x.req.method, path: x.path, status: x.res.statusCode, durationMs: Math.round(durationMs * 10) / 10 }, 'http request');
}

async function authorize(opts: ApiServerOptions, x: Exchange, needed: Role): Promise<Principal | undefined> {
  const principal = await verifyBearer(x.req.headers.authorization, opts.verifier);
  if (!principal) { refuse(x.res, 401); return undefined; }
  x.log.subject = principal.subject;
  x.log.role = principal.role;
  if (!allows(principal.role, needed)) { refuse(x.res, 403); return undefined; }
  return principal;
}

async function route(opts: ApiServerOptions, x: Exchange): Promise<void> {
  const method = x.req.method ?? 'GET';
  const { path, res } = x;
  if (path === '/healthz') { json(res, 200, { status: 'ok' }); return; }
  if (path === '/readyz') {
    if (opts.telemetry.ready) json(res, 200, { status: 'ready' });
    else refuse(res, 503);
    return;
  }
  if (path === '/hooks/git') { await webhook(opts, x); return; }
  const asset = opts.dashboard?.get(path);
  if (asset) {
    if (method !== 'GET' && method !== 'HEAD') { refuse(res, 405, { allow: 'GET' }); return; }
    serveAsset(x.req, res, asset);
    return;
  }

  const reconcile = ENV_RECONCILE.exec(path);
  const suspend = ENV_SUSPEND.exec(path);
  if (!(await authorize(opts, x, reconcile || suspend ? 'operator' : 'viewer'))) return;
  if (suspend) {
    if (method !== 'POST') { refuse(res, 405, { allow: 'POST' }); return; }
    const env = suspend[1]!;
    if (!opts.controller.setSuspension || !opts.controller.lastResults().has(env)) { refuse(res, 404); return; }
    // Who: the token's subject, as the status file and the status branch's history will say.
    const change = opts.controller.setSuspension(env, { suspended: suspend[2] === 'suspend', by: x.log.subject! });
    x.log.correlationId = change.correlationId;
    json(res, 202, { environment: env, suspended: change.record.suspended, by: change.record.by, at: change.record.at, correlationId: change.correlationId });
    return;
  }
  if (reconcile) {
    if (method !== 'POST') { refuse(res, 405, { allow: 'POST' }); return; }
    if (!opts.controller.lastResults().has(reconcile[1]!)) { refuse(res, 404); return; }
    const pass = opts.controller.requestPass(`reconcile requested by ${x.log.subject}`);
    x.log.correlationId = pass.correlationId;
    json(res, 202, { queued: true, environment: reconcile[1], correlationId: pass.correlationId });
    return;
  }
  if (method !== 'GET' && method !== 'HEAD') { refuse(res, 405, { allow: 'GET' }); return; }
  if (path === '/api/events') {
    if (method !== 'GET') { refuse(res, 405, { allow: 'GET' }); return; }
    opts.telemetry.hub.attach(x.req, res);
    return;
  }
  if (path === '/metrics') { await metrics(opts, res); return; }
  if (path === '/api/environments') {
    const envs = [...opts.controller.lastResults().values()].sort((a, b) => a.environment.localeCompare(b.environment));
    json(res, 200, { environments: envs.map(environmentView) });
    return;
  }
  const tasks = ENV_TASKS.exec(path);
  if (tasks) {
    const report = opts.controller.lastResults().get(tasks[1]!);
    if (!report) { refuse(res, 404); return; }
    const live = (await opts.readLive([report]))?.get(report.environment);
    sendJsonText(res, tasksAnswer(report, live));
    return;
  }
  const task = ENV_TASK.exec(path);
  if (task) {
    let name: string;
    try { name = decodeURIComponent(task[2]!); } catch { refuse(res, 404); return; }
    await taskDetail(opts, res, task[1]!, name);
    return;
  }
  refuse(res, 404);
}

async function taskDetail(opts: ApiServerOptions, res: ServerResponse, environment: string, name: string): Promise<void> {
  const report = opts.controller.lastResults().get(environment);
  const live = report ? (await opts.readLive([report]))?.get(environment) : undefined;
  const view = report ? taskViews(report, live).find((t) => t.name === name) : undefined;
  if (!report || !view) { refuse(res, 404); return; }
  const lastDiff = opts.telemetry.lastDiff(environment, name);
  const digest = view.code?.desired ?? view.code?.running;
  const record = digest ? opts.readBuild?.(name, digest) : undefined;
  const detail: TaskDetail = { ...view, ...(lastDiff ? { lastDiff } : {}), ...(record ? { build: buildView(record) } : {}) };
  json(res, 200, { environment, revision: report.running ?? report.tip, observedNow: live !== undefined, task: detail });
}

async function metrics(opts: ApiServerOptions, res: ServerResponse): Promise<void> {
  const reports = [...opts.controller.lastResults().values()];
  const live = await opts.readLive(reports);
  const liveText = renderLive(reports.map((r) => ({
    environment: r.environment,
    types: new Map((r.state?.tasks ?? []).map((t) => [t.name, t.type])),
    live: live?.get(r.environment) ?? [],
  })));
  res.writeHead(200, { 'content-type': 'text/plain; version=0.0.4; charset=utf-8', 'cache-control': 'no-store' });
  res.end(processSecrets.redactText(opts.telemetry.metrics.render() + liveText));
}

async function webhook(opts: ApiServerOptions, x: Exchange): Promise<void> {
  if ((x.req.method ?? 'GET') !== 'POST') { refuse(x.res, 405, { allow: 'POST' }); return; }
  let body: Buffer;
  try {
    body = await readBody(x.req, { limit: MAX_BODY_BYTES, timeoutMs: opts.bodyTimeoutMs ?? 5_000 });
  } catch (err) {
    if (!(err instanceof BodyError)) throw err;
    refuse(x.res, err.status, { connection: 'close' });
    // The rest of an oversized or stalled body is not read: the connection goes.
    x.res.once('finish', () => x.req.destroy());
    return;
  }
  const provider = opts.webhookSecret ? verifyWebhook(x.req.headers, body, opts.webhookSecret) : undefined;
  if (!provider) { refuse(x.res, 401); return; }
  x.log.provider = provider;
  const pass = opts.controller.requestPass(`webhook (${provider})`);
  x.log.correlationId = pass.correlationId;
  json(x.res, 202, { queued: true, correlationId: pass.correlationId });
}
