/**
 * The PM2 adapter: one connection to the daemon of one PM2_HOME. Processes are
 * always addressed by pm_id, never by name, so that a process of the same name
 * in another namespace is never touched.
 */
import { createRequire } from 'node:module';
import { homedir } from 'node:os';
import { join } from 'node:path';
import { UnreachableError } from '../domain/errors.js';
import type { Pm2Entry } from '../domain/live.js';

const require = createRequire(import.meta.url);

/** How long a reload waits for one of the same worker that PM2 still runs (a cluster worker's listen_timeout plus kill_timeout, with room). */
const RELOAD_IN_PROGRESS_WAIT_MS = 60_000;

interface Pm2RpcClient {
  executeRemote(method: string, arg: unknown, cb: (err: unknown, res: unknown) => void): void;
  notifyGod?(action: string, id: number): void;
}

interface Pm2Api {
  Client: Pm2RpcClient;
  connect(noDaemon: boolean, cb: (err: unknown) => void): void;
  disconnect(cb?: () => void): void;
  killDaemon(cb: (err: unknown) => void): void;
  launchBus(cb: (err: unknown, bus: Pm2Bus) => void): void;
}

/** PM2's event bus (axon sub socket). */
export interface Pm2Bus {
  on(event: string, handler: (packet: { process?: { name?: string; pm_id?: number; namespace?: string }; event?: string; data?: unknown }) => void): void;
  close?(): void;
}

interface Pm2Common {
  verifyConfs(apps: unknown[]): Array<Record<string, unknown>> | Error;
  resolveAppAttributes(opts: { cwd: string; pm2_home: string }, app: Record<string, unknown>): Record<string, unknown>;
}

export interface Pm2ConnectOptions {
  /** PM2_HOME of the daemon; default: $PM2_HOME, else ~/.pm2. */
  home?: string;
}

function promisify<T>(fn: (cb: (err: unknown, res: T) => void) => void, what: string): Promise<T> {
  return new Promise((resolve, reject) => {
    fn((err, res) => {
      if (err) reject(err instanceof Error ? err : new Error(`${what}: ${typeof err === 'string' ? err : JSON.stringify(err)}`));
      else resolve(res);
    });
  });
}

/** Resolves the PM2_HOME a command talks to. */
export function pm2Home(opts: Pm2ConnectOptions = {}): string {
  return opts.home ?? process.env.PM2_HOME ?? join(homedir(), '.pm2');
}

/** A connected PM2 daemon. */
export class Pm2Client {
  readonly home: string;
  private readonly api: Pm2Api;
  private readonly common: Pm2Common;

  private constructor(home: string, api: Pm2Api, common: Pm2Common) {
    this.home = home;
    this.api = api;
    this.common = common;
  }

  /** Connects to (and if needed starts) the daemon; throws UnreachableError when it cannot. */
  static async connect(opts: Pm2ConnectOptions = {}): Promise<Pm2Client> {
    const home = pm2Home(opts);
    // PM2 reads its paths from PM2_HOME when first loaded and from the instance options after.
    process.env.PM2_HOME = home;
    const pm2 = require('pm2') as { custom: new (opts: Record<string, unknown>) => Pm2Api };
    const common = require('pm2/lib/Common.js') as Pm2Common;
    const api = new pm2.custom({ pm2_home: home, daemon_mode: true });
    try {
      await promisify<void>((cb) => api.connect(false, (err) => cb(err, undefined)), 'connect');
    } catch (err) {
      throw new UnreachableError(`cannot reach the PM2 daemon of PM2_HOME=${home}`, { cause: err });
    }
    return new Pm2Client(home, api, common);
  }

  private call<T>(method: string, arg: unknown): Promise<T> {
    return promisify<T>((cb) => this.api.Client.executeRemote(method, arg, cb as (err: unknown, res: unknown) => void), method);
  }

  /** Every process the daemon knows, with its pm2_env. */
  async list(): Promise<Pm2Entry[]> {
    return this.call<Pm2Entry[]>('getMonitorData', {});
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
      return this.common.resolveAppAttributes({ cwd: String(app.cwd ?? process.cwd()), pm2_home: this.home }, verified[0]!);
    } finally {
      if (pwd === undefined) delete process.env.PWD;
      else process.env.PWD = pwd;
    }
  }

  /** Starts a resolved app (all its instances); resolves to the new pm_ids. */
  async create(resolved: Record<string, unknown>): Promise<number[]> {
    const started = await this.call<Array<{ pm2_env: { pm_id: number } }>>('prepare', { ...resolved, env: { ...(resolved.env as object), PM2_HOME: this.home } });
    return started.map((p) => p.pm2_env.pm_id);
  }

  /**
   * Restarts one process with a new configuration: `conf` replaces the options
   * it names; keys listed in `unset` are removed (options and env variables).
   */
  async restart(pmId: number, conf?: Record<string, unknown>, unset: readonly string[] = []): Promise<void> {
    await this.call('restartProcessId', { id: pmId, env: this.updateEnv(conf, unset) });
  }

  /** Zero-downtime reload of one cluster worker, with a new configuration as for restart(). */
  async reload(pmId: number, conf?: Record<string, unknown>, unset: readonly string[] = []): Promise<void> {
    // PM2 refuses to reload a worker whose previous reload (ours, cut short, or one by hand) is still
    // replacing it, and does not list the outgoing worker: wait for that reload to end, then do ours.
    const deadline = Date.now() + RELOAD_IN_PROGRESS_WAIT_MS;
    for (;;) {
      try {
        await this.call('reloadProcessId', { id: pmId, env: this.updateEnv(conf, unset) });
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
    await this.call('startProcessId', pmId);
  }

  async stop(pmId: number): Promise<void> {
    await this.call('stopProcessId', pmId);
  }

  async delete(pmId: number): Promise<void> {
    await this.call('deleteProcessId', pmId);
  }

  /** Adds one worker with exactly the configuration of an existing one; resolves to its pm_id. */
  async duplicate(pmId: number): Promise<number> {
    const proc = await this.call<{ pm2_env: { pm_id: number } }>('duplicateProcessId', pmId);
    return proc.pm2_env.pm_id;
  }

  /** Subscribes to PM2's event bus (process events). */
  async bus(): Promise<Pm2Bus> {
    return promisify<Pm2Bus>((cb) => this.api.launchBus(cb), 'launchBus');
  }

  /** Closes the connection; the daemon keeps running. */
  async disconnect(): Promise<void> {
    await new Promise<void>((resolve) => { this.api.disconnect(() => resolve()); });
  }

  /** Stops every process and the daemon itself. */
  async killDaemon(): Promise<void> {
    await promisify<void>((cb) => this.api.killDaemon((err) => cb(err, undefined)), 'killDaemon');
  }
}
