/**
 * One RPC connection to the PM2 daemon of one PM2_HOME (I/O). PM2's client
 * queues calls while its socket is down and reconnects on its own, so a call
 * made while the daemon is dead waits forever; this wrapper instead notices
 * the closed socket, fails every pending and later call at once, and never
 * reconnects: the owner opens a fresh connection (and with it, if needed, a
 * new daemon).
 */
import { closeSync, existsSync, mkdirSync, readdirSync, readlinkSync } from 'node:fs';
import { createRequire } from 'node:module';
import { join } from 'node:path';
import { DaemonUnreachableError } from '../domain/errors.js';
import { acquireLock } from './lock.js';

const require = createRequire(import.meta.url);

/** How long connecting (and, when none runs, spawning the daemon) may take; PM2 itself needs about a second. */
const CONNECT_TIMEOUT_MS = 30_000;
/** How long to wait for another process that is starting the daemon of the same PM2_HOME. */
const START_LOCK_TIMEOUT_MS = 60_000;
/** PM2's own socket close waits 200 ms; a disconnect never takes longer than this. */
const DISCONNECT_TIMEOUT_MS = 1_000;

/** The part of an axon socket (PM2's RPC transport) this module listens to. */
interface AxonSocket {
  connected?: boolean;
  on(event: string, handler: (arg?: { code?: string; message?: string }) => void): void;
  close(): void;
  closeSockets?(): void;
}

interface Pm2RpcClient {
  executeRemote(method: string, arg: unknown, cb: (err: unknown, res: unknown) => void): void;
  client?: { sock?: AxonSocket };
  sub_sock?: AxonSocket;
}

interface Pm2Api {
  Client: Pm2RpcClient;
  connect(noDaemon: boolean, cb: (err: unknown, meta?: { new_pm2_instance?: boolean }) => void): void;
  disconnect(cb?: () => void): void;
  killDaemon(cb: (err: unknown) => void): void;
  launchBus(cb: (err: unknown, bus: Pm2Bus, sock?: AxonSocket) => void): void;
}

/** PM2's event bus (axon sub socket). */
export interface Pm2Bus {
  on(event: string, handler: (packet: { process?: { name?: string; pm_id?: number; namespace?: string }; event?: string; data?: unknown }) => void): void;
  close?(): void;
}

/** Why and since when a connection is gone. */
export interface ConnectionLoss { since: Date; reason: string }

function describe(err: unknown): string {
  if (err instanceof Error) return err.message;
  return typeof err === 'string' ? err : JSON.stringify(err);
}

/** Rejects with `onTimeout()` when `promise` has not settled within `ms`. */
export function withTimeout<T>(promise: Promise<T>, ms: number, onTimeout: () => Error): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const bound = new Promise<never>((_, reject) => { timer = setTimeout(() => reject(onTimeout()), ms); });
  return Promise.race([promise, bound]).finally(() => clearTimeout(timer));
}

/** A connection to one daemon; once lost, it stays lost. */
export class Pm2Connection {
  /** Set once the socket closed or errored; every call fails from then on. */
  lost: ConnectionLoss | undefined;
  /** Whether opening this connection started the daemon. */
  readonly startedDaemon: boolean;
  private readonly pending = new Set<(err: Error) => void>();
  private readonly sockets: AxonSocket[] = [];

  private constructor(readonly home: string, private readonly api: Pm2Api, startedDaemon: boolean, private readonly onLost: (loss: ConnectionLoss) => void) {
    this.startedDaemon = startedDaemon;
    const rpc = api.Client.client?.sock;
    if (rpc) this.watch(rpc);
  }

  /**
   * Connects to the daemon of `home`, starting it when none runs. Daemon
   * start is serialised by a lock file in PM2_HOME, so that two processes
   * connecting at once never spawn two daemons for one home (PM2's own check,
   * a ping of its socket, races). Throws DaemonUnreachableError.
   */
  static async open(home: string, onLost: (loss: ConnectionLoss) => void): Promise<Pm2Connection> {
    // PM2 reads its paths from PM2_HOME when first loaded and from the instance options after.
    process.env.PM2_HOME = home;
    mkdirSync(home, { recursive: true });
    const pm2 = require('pm2') as { custom: new (opts: Record<string, unknown>) => Pm2Api };
    let release: (() => void) | undefined;
    try {
      release = await acquireLock(join(home, 'pm2-gitops-daemon.lock'), { timeoutMs: START_LOCK_TIMEOUT_MS, note: 'connecting to the PM2 daemon' });
    } catch (err) {
      throw new DaemonUnreachableError(`another process is starting the PM2 daemon of PM2_HOME=${home}`, { cause: err });
    }
    const api = new pm2.custom({ pm2_home: home, daemon_mode: true });
    const fdsBefore = openFds();
    try {
      const meta = await withTimeout(
        new Promise<{ new_pm2_instance?: boolean } | undefined>((resolve, reject) => { api.connect(false, (err, m) => (err ? reject(err) : resolve(m))); }),
        CONNECT_TIMEOUT_MS,
        () => new Error(`no answer within ${CONNECT_TIMEOUT_MS / 1000}s`),
      );
      if (meta?.new_pm2_instance === true) closeDaemonLogFds(home, fdsBefore);
      return new Pm2Connection(home, api, meta?.new_pm2_instance === true, onLost);
    } catch (err) {
      closeQuietly(api.Client.client?.sock);
      throw new DaemonUnreachableError(`cannot reach the PM2 daemon of PM2_HOME=${home}: ${describe(err)}`, { cause: err });
    } finally {
      release();
    }
  }

  private watch(sock: AxonSocket): void {
    this.sockets.push(sock);
    // axon emits "socket error" for a reset or refused socket and "reconnect attempt" after any close it did not ask for.
    sock.on('socket error', (err) => this.markLost(`connection failed (${err?.code ?? err?.message ?? 'error'})`));
    sock.on('reconnect attempt', () => this.markLost('connection closed by the daemon'));
    // A reconnect already scheduled by axon may still succeed (to a new daemon): that socket is not ours any more.
    sock.on('connect', () => { if (this.lost) sock.closeSockets?.(); });
  }

  private markLost(reason: string): void {
    if (this.lost) return;
    this.lost = { since: new Date(), reason };
    const err = this.lostError();
    for (const fail of [...this.pending]) fail(err);
    this.pending.clear();
    for (const sock of this.sockets) closeQuietly(sock);
    this.onLost(this.lost);
  }

  private lostError(): DaemonUnreachableError {
    return new DaemonUnreachableError(`the PM2 daemon of PM2_HOME=${this.home} is unreachable since ${this.lost!.since.toISOString()}: ${this.lost!.reason}`);
  }

  /** Calls a daemon method; fails at once when the connection is lost, and after `timeoutMs` without an answer. */
  call<T>(method: string, arg: unknown, timeoutMs: number): Promise<T> {
    if (this.lost) return Promise.reject(this.lostError());
    return new Promise<T>((resolve, reject) => {
      let settled = false;
      const settle = (fn: () => void): void => {
        if (settled) return;
        settled = true;
        clearTimeout(timer);
        this.pending.delete(fail);
        fn();
      };
      const fail = (err: Error): void => settle(() => reject(err));
      const timer = setTimeout(() => fail(new DaemonUnreachableError(`PM2 did not answer ${method} within ${Math.round(timeoutMs / 1000)}s (PM2_HOME=${this.home})`)), timeoutMs);
      this.pending.add(fail);
      this.api.Client.executeRemote(method, arg, (err, res) => {
        if (err) fail(err instanceof Error ? err : new Error(`${method}: ${describe(err)}`));
        else settle(() => resolve(res as T));
      });
    });
  }

  /** Subscribes to the daemon's event bus; throws DaemonUnreachableError when it does not connect within `timeoutMs`. */
  async bus(timeoutMs: number): Promise<Pm2Bus> {
    if (this.lost) throw this.lostError();
    const bus = await withTimeout(
      new Promise<Pm2Bus>((resolve, reject) => { this.api.launchBus((err, b) => (err ? reject(err) : resolve(b))); }),
      timeoutMs,
      () => new DaemonUnreachableError(`the event bus of PM2_HOME=${this.home} did not connect within ${Math.round(timeoutMs / 1000)}s`),
    );
    const sub = this.api.Client.sub_sock;
    if (sub) this.watch(sub);
    return bus;
  }

  /** Closes the connection (the daemon keeps running); bounded, and never reconnects afterwards. */
  async close(): Promise<void> {
    if (this.lost) {
      for (const sock of this.sockets) closeQuietly(sock);
      return;
    }
    this.lost = { since: new Date(), reason: 'closed by this process' };
    await withTimeout(new Promise<void>((resolve) => { this.api.disconnect(() => resolve()); }), DISCONNECT_TIMEOUT_MS, () => new Error('disconnect timed out'))
      .catch(() => { for (const sock of this.sockets) closeQuietly(sock); });
  }

  /** Stops every process and the daemon itself. */
  async killDaemon(): Promise<void> {
    await new Promise<void>((resolve, reject) => { this.api.killDaemon((err) => (err ? reject(err instanceof Error ? err : new Error(describe(err))) : resolve())); });
  }
}

/** This process's open file descriptors and what each names (Linux: /proc/self/fd); undefined where that cannot be read. */
function openFds(): Map<number, string> | undefined {
  if (!existsSync('/proc/self/fd')) return undefined;
  const out = new Map<number, string>();
  try {
    for (const entry of readdirSync('/proc/self/fd')) {
      try { out.set(Number(entry), readlinkSync(`/proc/self/fd/${entry}`)); } catch { /* closed meanwhile */ }
    }
  } catch {
    return undefined;
  }
  return out;
}

/**
 * PM2's client opens its log file twice to hand it to the daemon it spawns as
 * stdout and stderr, and never closes its own copies: a controller that starts
 * a new daemon after each loss of the old one would hold two more descriptors
 * every time (the soak bench showed 22 → 37 over 10 daemon kills). The ones the
 * connect opened on that file are closed here; the daemon keeps its own.
 */
function closeDaemonLogFds(home: string, before: Map<number, string> | undefined): void {
  if (!before) return;
  const log = join(home, 'pm2.log');
  // A descriptor number closed during the connect (an old socket) may come back naming the log.
  for (const [fd, target] of openFds() ?? []) {
    if (target !== log || before.get(fd) === log) continue;
    try { closeSync(fd); } catch { /* already closed */ }
  }
}

function closeQuietly(sock: AxonSocket | undefined): void {
  try {
    sock?.close();
  } catch {
    // A socket that is already closing has nothing left to close.
  }
}
