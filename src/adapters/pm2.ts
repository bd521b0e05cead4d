/**
 * The PM2 adapter: the daemon of one PM2_HOME. Processes are always addressed
 * by pm_id, never by name, so that a process of the same name in another
 * namespace is never touched. Every call has a time limit and fails at once
 * when the daemon's socket closed; `reconnect()` then opens a fresh connection,
 * starting a new daemon when none runs.
 */
import { createRequire } from 'node:module';
import { homedir } from 'node:os';
import { join } from 'node:path';
import type { Pm2Entry } from '../domain/live.js';
import { reapOrphans, type ReapedProcess, type SeenProcess } from './orphans.js';
import { Pm2Connection, type ConnectionLoss, type Pm2Bus } from './pm2-connection.js';

export type { ConnectionLoss, Pm2Bus } from './pm2-connection.js';
export type { ReapedProcess } from './orphans.js';

const require = createRequire(import.meta.url);

/** How long a reload waits for one of the same worker that PM2 still runs (a cluster worker's listen_timeout plus kill_timeout, with room). */
const RELOAD_IN_PROGRESS_WAIT_MS = 60_000;

/**
 * Time limits of daemon calls. A list is an in-memory read that answers in
 * milliseconds even for hundreds of processes: 10 s without an answer means
 * the daemon is hung or gone. Calls that stop or start processes wait for
 * them in PM2 (a stop sends SIGINT and waits kill_timeout before SIGKILL; a
 * cluster start or reload waits for the new worker to listen, up to
 * listen_timeout), so their limit is a base for PM2's own work plus those
 * per-process times; a reload of a big cluster goes one worker per call, so
 * each call stays bounded.
 */
const LIST_TIMEOUT_MS = 10_000;
const BUS_TIMEOUT_MS = 10_000;
const CALL_BASE_MS = 30_000;
const DEFAULT_KILL_TIMEOUT_MS = 1_600;
const DEFAULT_LISTEN_TIMEOUT_MS = 3_000;

interface Pm2Common {
  verifyConfs(apps: unknown[]): Array<Record<string, unknown>> | Error;
  resolveAppAttributes(opts: { cwd: string; pm2_home: string }, app: Record<string, unknown>): Record<string, unknown>;
}

export interface Pm2ConnectOptions {
  /** PM2_HOME of the daemon; default: $PM2_HOME, else ~/.pm2. */
  home?: string;
}

/** Resolves the PM2_HOME a command talks to. */
export function pm2Home(opts: Pm2ConnectOptions = {}): string {
  return opts.home ?? process.env.PM2_HOME ?? join(homedir(), '.pm2');
}

function ms(value: unknown, fallback: number): number {
  const n = Number(value);
  return Number.isFinite(n) && n > 0 ? n : fallback;
}

/** A connected PM2 daemon. */
export class Pm2Client {
  readonly home: string;
  private conn: Pm2Connection;
  private readonly common: Pm2Common;
  private readonly lostListeners: Array<(loss: ConnectionLoss) => void> = [];
  /** Processes the current daemon listed last, by pid: orphan candidates should it die. */
  private seen = new Map<number, SeenProcess>();
  /** What the previous daemon listed, kept until reapOrphans() looked at it. */
  private seenBefore: SeenProcess[] = [];

  private constructor(home: string, conn: Pm2Connection, common: Pm2Common) {
    this.home = home;
    this.conn = conn;
    this.common = common;
  }

  /** Connects to (and if needed starts) the daemon; throws UnreachableError when it cannot. */
  static async connect(opts: Pm2ConnectOptions = {}): Promise<Pm2Client> {
    const home = pm2Home(opts);
    let client: Pm2Client | undefined;
    const conn = await Pm2Connection.open(home, (loss) => client?.notifyLost(loss));
    client = new Pm2Client(home, conn, require('pm2/lib/Common.js') as Pm2Common);
    return client;
  }

  private notifyLost(loss: ConnectionLoss): void {
    for (const listener of this.lostListeners) listener(loss);
  }

  /** Set while the daemon connection is lost: since when and why. */
  get lost(): ConnectionLoss | undefined {
    return this.conn.lost;
  }

  /** Calls `listener` whenever the connection to the daemon is lost. */
  onLost(listener: (loss: ConnectionLoss) => void): void {
    this.lostListeners.push(listener);
  }

  /**
   * Opens a fresh connection in place of a lost one, starting a new daemon
   * when none runs; resolves to whether this call started it. Throws
   * DaemonUnreachableError when it cannot.
   */
  async reconnect(): Promise<{ startedDaemon: boolean }> {
    await this.conn.close();
    this.seenBefore.push(...this.seen.values());
    this.seen = new Map();
    this.conn = await Pm2Connection.open(this.home, (loss) => this.notifyLost(loss));
    return { startedDaemon: this.conn.startedDaemon };
  }

  /**
   * Stops the processes of managed namespaces that an earlier daemon ran and
   * that outlived it (see orphans.ts); call after reconnect(), before the
   * first apply on the new daemon.
   */
  async reapOrphans(namespaces: ReadonlySet<string>): Promise<ReapedProcess[]> {
    const candidates = this.seenBefore.filter((p) => namespaces.has(p.namespace));
    if (!candidates.length) { this.seenBefore = []; return []; }
    const listed = new Set((await this.list()).map((e) => e.pid));
    this.seenBefore = [];
    return reapOrphans(this.home, candidates, listed);
  }

  private call<T>(method: string, arg: unknown, timeoutMs: number): Promise<T> {
    return this.conn.call<T>(method, arg, timeoutMs);
  }

  private killTimeoutOf(pmId: number, conf?: Record<string, unknown>): number {
    if (conf?.kill_timeout !== undefined) return ms(conf.kill_timeout, DEFAULT_KILL_TIMEOUT_MS);
    for (const p of this.seen.values()) if (p.pmId === pmId) return p.killTimeoutMs;
    return DEFAULT_KILL_TIMEOUT_MS;
  }

  /** Every process the daemon knows, with its pm2_env. */
  async list(): Promise<Pm2Entry[]> {
    const entries = await this.call<Pm2Entry[]>('getMonitorData', {}, LIST_TIMEOUT_MS);
    const seen = new Map<number, SeenProcess>();
    for (const e of entries) {
      const env = e.pm2_env;
      if (!(e.pid > 0) || typeof env.unique_id !== 'string' || typeof env.namespace !== 'string') continue;
      seen.set(e.pid, { pid: e.pid, pmId: e.pm_id, uniqueId: env.unique_id, name: e.name, namespace: env.namespace, killTimeoutMs: ms(env.kill_timeout, DEFAULT_KILL_TIMEOUT_MS) });
    }
    this.seen = seen;
    return entries;
  }

  /**
   * Resolves an app the way `pm2 start` does (aliases, defaults, bytes and
   * milliseconds, absolute paths, interpreter) without starting it.
   * Throws when PM2 rejects the configuration (e.g. script not found).
   */
  resolveApp(app: Record<string, unknown>): Record<string, unknown> {
    const verified = this.common.verifyConfs([structuredClone(app)]);
    if (verified instanceof Error) throw verified;
    const pwd = process.env.PWD;
    try {
      // prepareAppConf sets process.env.PWD to the app's cwd; keep ours.
      const resolved = this.common.resolveAppAttributes({ cwd: String(app.cwd ?? process.cwd()), pm2_home: this.home }, verified[0]!) as Record<string, unknown>;
      // PM2's programmatic API marks its own client with PM2_PROGRAMMATIC and copies the client's env into the app:
      // `pm2 start` never gives it to a process, so neither does pm2-gitops (unless the task declares it).
      const env = resolved.env as Record<string, unknown> | undefined;
      if (env && !Object.hasOwn((app.env ?? {}) as object, 'PM2_PROGRAMMATIC')) delete env.PM2_PROGRAMMATIC;
      return resolved;
    } finally {
      if (pwd === undefined) delete process.env.PWD;
      else process.env.PWD = pwd;
    }
  }

  /** Starts a resolved app (all its instances); resolves to the new pm_ids. */
  async create(resolved: Record<string, unknown>): Promise<number[]> {
    const instances = Math.max(1, Number(resolved.instances) || 1);
    const timeout = CALL_BASE_MS + instances * ms(resolved.listen_timeout, DEFAULT_LISTEN_TIMEOUT_MS);
    const started = await this.call<Array<{ pm2_env: { pm_id: number } }>>('prepare', { ...resolved, env: { ...(resolved.env as object), PM2_HOME: this.home } }, timeout);
    return started.map((p) => p.pm2_env.pm_id);
  }

  /**
   * Restarts one process with a new configuration: `conf` replaces the options
   * it names; keys listed in `unset` are removed (options and env variables).
   */
  async restart(pmId: number, conf?: Record<string, unknown>, unset: readonly string[] = []): Promise<void> {
    const timeout = CALL_BASE_MS + 2 * this.killTimeoutOf(pmId, conf) + ms(conf?.listen_timeout, DEFAULT_LISTEN_TIMEOUT_MS);
    await this.call('restartProcessId', { id: pmId, env: this.updateEnv(conf, unset) }, timeout);
  }

  /** Zero-downtime reload of one cluster worker, with a new configuration as for restart(). */
  async reload(pmId: number, conf?: Record<string, unknown>, unset: readonly string[] = []): Promise<void> {
    // PM2 refuses to reload a worker whose previous reload (ours, cut short, or one by hand) is still
    // replacing it, and does not list the outgoing worker: wait for that reload to end, then do ours.
    const deadline = Date.now() + RELOAD_IN_PROGRESS_WAIT_MS;
    const timeout = CALL_BASE_MS + this.killTimeoutOf(pmId, conf) + ms(conf?.listen_timeout, DEFAULT_LISTEN_TIMEOUT_MS);
    for (;;) {
      try {
        await this.call('reloadProcessId', { id: pmId, env: this.updateEnv(conf, unset) }, timeout);
        return;
      } catch (err) {
        if (!(err instanceof Error && /Reload already in progress/.test(err.message)) || Date.now() > deadline) throw err;
        await new Promise((resolve) => { setTimeout(resolve, 250); });
      }
    }
  }

  private updateEnv(conf: Record<string, unknown> | undefined, unset: readonly string[]): Record<string, unknown> {
    if (!conf) return {};
    const currentConf: Record<string, unknown> = { ...conf, env: { ...(conf.env as object), PM2_HOME: this.home } };
    for (const key of unset) currentConf[key] = 'null';
    return { ...(conf.env as object), current_conf: currentConf };
  }

  /** Starts a stopped process again. */
  async start(pmId: number): Promise<void> {
    await this.call('startProcessId', pmId, CALL_BASE_MS + DEFAULT_LISTEN_TIMEOUT_MS);
  }

  /** Stops one process (SIGINT, then SIGKILL after its kill_timeout). */
  async stop(pmId: number): Promise<void> {
    await this.call('stopProcessId', pmId, CALL_BASE_MS + this.killTimeoutOf(pmId));
  }

  /** Stops and removes one process. */
  async delete(pmId: number): Promise<void> {
    await this.call('deleteProcessId', pmId, CALL_BASE_MS + this.killTimeoutOf(pmId));
  }

  /** Adds one worker with exactly the configuration of an existing one; resolves to its pm_id. */
  async duplicate(pmId: number): Promise<number> {
    const proc = await this.call<{ pm2_env: { pm_id: number } }>('duplicateProcessId', pmId, CALL_BASE_MS + DEFAULT_LISTEN_TIMEOUT_MS);
    return proc.pm2_env.pm_id;
  }

  /** Subscribes to PM2's event bus (process events) of the current daemon. */
  async bus(): Promise<Pm2Bus> {
    return this.conn.bus(BUS_TIMEOUT_MS);
  }

  /** Closes the connection (bounded); the daemon keeps running. */
  async disconnect(): Promise<void> {
    await this.conn.close();
  }

  /** Stops every process and the daemon itself. */
  async killDaemon(): Promise<void> {
    await this.conn.killDaemon();
  }
}
