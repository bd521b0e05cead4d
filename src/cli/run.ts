import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { basename, join, resolve } from 'node:path';
import { defaultStateDir, keepBuilds } from './session.js';
import { ControllerLeases } from '../adapters/controller-lease.js';
import { createLogger } from '../adapters/logger.js';
import { Pm2Client, pm2Home } from '../adapters/pm2.js';
import { Controller } from '../controller/controller.js';
import { combineObservers } from '../controller/observer.js';
import { Notifier } from '../notify/notifier.js';
import { rebuildState } from '../controller/rebuild.js';
import { preferSmallHeap } from '../controller/runtime.js';
import { StateStore } from '../controller/state-store.js';
import { ValidationError } from '../domain/errors.js';
import { processSecrets } from '../domain/secret-registry.js';
import { buildReader } from '../api/builds.js';
import { liveReader } from '../api/live.js';
import { startApiServer } from '../api/server.js';
import { ApiTelemetry } from '../api/telemetry.js';
import { StatusRepo } from '../report/status-repo.js';
import { AppliedRefs } from '../source/applied-refs.js';
import { parseAllowedSigners } from '../source/approval.js';
import { approvalFloor } from './approvals.js';
import { GitSource, isLocalRepo } from '../source/git-source.js';
import { parseDuration } from './duration.js';
import type { CliIo } from './io.js';
import { renderOptions } from './render-options.js';
import { EnvironmentClaims } from './run-claims.js';
import { apiSettings, type ApiSettings } from './run-api.js';
import { loadSigningKeys } from './run-keys.js';

export interface RunOptions {
  repo: string;
  path: string;
  env: string[];
  branch?: string;
  interval: string;
  resync: string;
  stateDir?: string;
  signingKey?: string;
  /** Continue the evidence chains with this key, writing a key rotation record. */
  rotateKey?: boolean;
  /** The old private key, so that it signs the rotation record too. */
  previousKey?: string;
  allowedSigners?: string;
  requireApprovals: string[];
  host?: string;
  /** This host's labels (`--host-label KEY=VALUE`, repeatable), matched by spec.hostSelector. */
  hostLabel?: string[];
  /** How long a host of the fleet may go without a status before the summary shows it lost. */
  hostTimeout?: string;
  concurrency: string;
  keepBuilds?: string;
  allowRoot?: string[];
  maxInstances?: string;
  /** `HOST:PORT` of the HTTP API (DESIGN section 7). */
  listen?: string;
  /** Ed25519 public key that API tokens are checked with (EdDSA), instead of PM2_GITOPS_JWT_SECRET. */
  jwtPublicKey?: string;
  /** URLs that notifications are posted to (repeatable). */
  notify?: string[];
}

/** The `--notify` URLs, checked before anything starts; each is a secret from then on (a Slack webhook's path is one). */
function notifyUrls(urls: readonly string[]): string[] {
  for (const [i, url] of urls.entries()) {
    let parsed: URL | undefined;
    try { parsed = new URL(url); } catch { parsed = undefined; }
    if (!parsed || (parsed.protocol !== 'http:' && parsed.protocol !== 'https:')) throw new ValidationError(`--notify (${i + 1}): expected an http:// or https:// URL`);
  }
  if (urls.length) processSecrets.register('controller --notify URLs', [{ values: [...urls], words: [], shown: [] }]);
  return [...urls];
}

/** Secrets the controller reads from its environment and removes, so managed processes never inherit them. */
const SECRET_VARS = ['PM2_GITOPS_JWT_SECRET', 'PM2_GITOPS_WEBHOOK_SECRET'];

/** Environment names from --env end up in file names: check them like manifest names. */
function environmentNames(names: string[]): string[] {
  for (const name of names) {
    if (!/^[a-z0-9][a-z0-9-]*$/.test(name)) throw new ValidationError(`--env: expected an environment name ([a-z0-9][a-z0-9-]*), got a name of ${name.length} characters`);
  }
  return names;
}

/** A URL without its user and password: lease files and messages name the repository, never a token in it. */
function withoutCredentials(url: string): string {
  return url.replace(/^([a-z][a-z0-9+.-]*:\/\/)[^/@]*@/i, '$1');
}

/** The state dir root: `--state-dir`, else `$PM2_HOME/pm2-gitops` (it belongs to the daemon it manages). */
function stateRootOf(opts: RunOptions): string {
  return resolve(opts.stateDir ?? defaultStateDir());
}

/** The repository's own folder in the state dir root: its mirror, releases, status clone, state and keys. */
function stateDirOf(opts: RunOptions, url: string): string {
  const root = stateRootOf(opts);
  return join(root, `${basename(url).replace(/\.git$/, '').replace(/[^A-Za-z0-9._-]/g, '-') || 'repo'}-${createHash('sha256').update(`${url}\n${opts.path}`).digest('hex').slice(0, 10)}`);
}

/**
 * `pm2-gitops run`: the controller loop, until SIGTERM or SIGINT. Refuses to
 * start (ConflictError, exit 2) while another live controller holds its state
 * dir or a named environment on this PM2 daemon, or when a signing key would
 * change without a rotation record.
 */
export async function runCommand(opts: RunOptions, io: CliIo): Promise<number> {
  preferSmallHeap();
  const api = apiSettings(opts, process.env);
  const notify = notifyUrls(opts.notify ?? []);
  for (const name of SECRET_VARS) {
    // Never in a log line or message, should one ever hold it.
    if (process.env[name]) processSecrets.register(`controller ${name}`, [{ values: [process.env[name]!], words: [], shown: [] }]);
    delete process.env[name];
  }
  const envs = environmentNames(opts.env);
  const url = isLocalRepo(opts.repo) ? resolve(opts.repo) : opts.repo;
  const stateDir = stateDirOf(opts, url);
  const leases = new ControllerLeases({ repo: withoutCredentials(url), stateDir, pm2Home: pm2Home() });
  try {
    await leases.holdStateDir();
    // Before PM2 is touched: a refused controller starts no daemon and changes nothing.
    for (const env of envs) await leases.hold(env);
    return await runController(opts, io, { url, stateDir, envs, leases, api, notify });
  } finally {
    leases.releaseAll();
  }
}

async function runController(opts: RunOptions, io: CliIo, at: { url: string; stateDir: string; envs: string[]; leases: ControllerLeases; api?: ApiSettings; notify: string[] }): Promise<number> {
  const { url, stateDir } = at;
  const logger = createLogger();
  const render = renderOptions(opts);
  const host = render.host!.name;
  // Named hosts are hosts of a fleet: each reports to its own status file and evidence chain.
  // A host held back by a rollout looks at the other hosts' reports again at each poll of the repository.
  const fleet = opts.host !== undefined ? { hostTimeoutMs: parseDuration(opts.hostTimeout ?? '10m', '--host-timeout'), rolloutPollMs: parseDuration(opts.interval, '--interval') } : undefined;
  const keys = loadSigningKeys(stateDir, { signingKey: opts.signingKey, previousKey: opts.previousKey, rotateKey: opts.rotateKey });
  const allowedSigners = opts.allowedSigners ? parseAllowedSigners(readFileSync(resolve(opts.allowedSigners), 'utf8')) : [];
  const source = await GitSource.open({ repo: url, branch: opts.branch, stateDir, logger });
  const status = await StatusRepo.open({
    url,
    dir: join(stateDir, 'status'),
    author: { name: 'pm2-gitops', email: `pm2-gitops@${host}` },
    logger,
    ...(fleet ? { fleet: true } : {}),
    ...(opts.signingKey && readFileSync(keys.file, 'utf8').includes('OPENSSH') ? { signingKeyFile: keys.file } : {}),
  });
  const appliedRefs = new AppliedRefs({ mirror: source.mirror, stateDir, logger });
  const now = (): Date => new Date();
  const store = new StateStore(stateDir);
  const claims = new EnvironmentClaims({ leases: at.leases, status, store, keys, rotateKey: Boolean(opts.rotateKey), previousKeyGiven: Boolean(opts.previousKey), appliedRefs, host, fleet: fleet !== undefined, logger, now });
  await claims.holdAll(at.envs);
  const pm2 = await Pm2Client.connect();
  const warnings = [...status.repairs];
  const readLive = liveReader(pm2);
  // A look after a process event reads PM2 afresh: a list cached for requests could predate the event (stopping, not yet stopped).
  const lookLive = liveReader(pm2, 0);
  const telemetry = at.api ? new ApiTelemetry({ logger, readLive: async (r) => (await lookLive([r]))?.get(r.environment) }) : undefined;
  const notifier = at.notify.length ? new Notifier({ urls: at.notify, host, logger }) : undefined;
  const observer = combineObservers([telemetry, notifier]);
  if (store.damaged) warnings.push(await rebuildState(store, { status, pm2, host, fleet: fleet !== undefined, logger }));
  const controller = new Controller({
    source, status, pm2, logger, stateDir, host, appliedRefs,
    ...(fleet ? { fleet } : {}),
    store, warnings,
    path: opts.path,
    allowedSigners,
    ...(opts.allowedSigners ? { allowedSignersFile: resolve(opts.allowedSigners) } : {}),
    approvalFloor: approvalFloor(opts.requireApprovals),
    keys,
    concurrency: Number(opts.concurrency),
    deliveryDir: stateRootOf(opts),
    ...(keepBuilds(opts.keepBuilds) ? { keepBuilds: keepBuilds(opts.keepBuilds) } : {}),
    renderOptions: render,
    ...(observer ? { observer } : {}),
    now,
  }, {
    environments: at.envs,
    intervalMs: parseDuration(opts.interval, '--interval'),
    // A host of a fleet reports at least every half host timeout, so that the others never take it for lost.
    resyncMs: Math.min(parseDuration(opts.resync, '--resync'), fleet ? fleet.hostTimeoutMs / 2 : Infinity),
    claim: (names) => claims.admit(names),
  });
  logger.info({ repo: withoutCredentials(url), branch: source.branch, path: opts.path, stateDir, host, hostLabels: render.host!.labels, fleet: fleet !== undefined, signingKey: keys.id }, 'controller starting');
  io.err(`pm2-gitops: following ${withoutCredentials(url)} branch ${source.branch} (state in ${stateDir})\n`);
  const server = at.api && telemetry
    ? await startApiServer({ host: at.api.host, port: at.api.port, verifier: at.api.verifier, ...(at.api.webhookSecret ? { webhookSecret: at.api.webhookSecret } : {}), controller, telemetry, readLive, readBuild: buildReader(stateRootOf(opts)), logger })
      .catch((err: unknown) => { throw new ValidationError(`--listen ${at.api!.host}:${at.api!.port}: cannot listen (${(err as NodeJS.ErrnoException).code ?? (err as Error).message})`, [], { cause: err }); })
    : undefined;
  if (server) {
    logger.info({ host: server.host, port: server.port, auth: at.api!.verifier.alg, webhook: Boolean(at.api!.webhookSecret) }, 'HTTP API listening');
    if (!at.api!.webhookSecret) logger.warn('PM2_GITOPS_WEBHOOK_SECRET is not set: every call to /hooks/git is refused');
  }
  const stopped = new Promise<void>((resolveStop) => {
    const stop = (signal: string): void => {
      logger.info({ signal }, 'stopping after the current step');
      // Bounded at every step (Controller.stop waits 6 s at most, a disconnect 1 s), so the process is gone within 10 s.
      void controller.stop().then(() => server?.close()).then(() => { notifier?.close(); return pm2.disconnect(); }).finally(() => resolveStop());
    };
    process.once('SIGTERM', () => stop('SIGTERM'));
    process.once('SIGINT', () => stop('SIGINT'));
  });
  await controller.start();
  await stopped;
  return 0;
}
