/**
 * Controller leases (I/O): one controller per environment on a PM2 daemon (a
 * lock file in PM2_HOME per environment) and one per state dir (a lock file in
 * it). A lease whose holder is gone (killed, even with kill -9) is taken over;
 * see lock.ts for what "gone" means.
 */
import { existsSync, mkdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { ConflictError } from '../domain/errors.js';
import { holderAlive, parseHolder, tryLock, type HeldLock, type LockHolder } from './lock.js';

type Holder = Partial<LockHolder> & { pid: number };

/** The lock file of the controller that runs `env` on the daemon of `pm2Home`. */
export function environmentLeaseFile(pm2Home: string, env: string): string {
  return join(pm2Home, `pm2-gitops-controller.${env}.lock`);
}

/** The lock file of the controller that uses `stateDir`. */
export function stateDirLeaseFile(stateDir: string): string {
  return join(stateDir, 'controller.lock');
}

/** "pid 123 on host h, started …, state dir …": who holds a lease, for messages. */
export function describeHolder(holder: Holder): string {
  const parts = [`pid ${holder.pid}`];
  if (holder.host) parts.push(`on host ${holder.host}`);
  if (holder.startedAt) parts.push(`started ${holder.startedAt}`);
  const extra = [holder.stateDir ? `state dir ${String(holder.stateDir)}` : '', holder.repo ? `repository ${String(holder.repo)}` : ''].filter(Boolean);
  return `${parts.join(' ')}${extra.length ? ` (${extra.join(', ')})` : ''}`;
}

/** The live controller holding `env` on the daemon of `pm2Home`, if any (the lease is not taken). */
export function environmentHolder(pm2Home: string, env: string): Holder | undefined {
  const file = environmentLeaseFile(pm2Home, env);
  if (!existsSync(file)) return undefined;
  let text: string;
  try { text = readFileSync(file, 'utf8'); } catch { return undefined; }
  const holder = parseHolder(text);
  return holder && holder.pid !== process.pid && holderAlive(holder) ? holder : undefined;
}

/** What this controller says about itself in its leases. */
export interface LeaseDetail { repo: string; stateDir: string; pm2Home: string }

/** The leases of one running controller. */
export class ControllerLeases {
  private stateLease: HeldLock | undefined;
  private readonly environments = new Map<string, HeldLock>();

  constructor(private readonly detail: LeaseDetail) {}

  /** Takes the state dir's lease; throws ConflictError when a live controller holds it. */
  async holdStateDir(): Promise<void> {
    mkdirSync(this.detail.stateDir, { recursive: true });
    const file = stateDirLeaseFile(this.detail.stateDir);
    const attempt = await tryLock(file, { ...this.detail, purpose: 'state dir' });
    if (!attempt.acquired) {
      throw new ConflictError(`another controller uses the state dir ${this.detail.stateDir}: ${file} is held by ${describeHolder(attempt.holder)}; stop it first, or give this one its own --state-dir`);
    }
    this.stateLease = attempt.lock;
  }

  /** Takes the lease of an environment on this PM2 daemon; resolves to the refusal when a live controller holds it. */
  async claim(env: string): Promise<{ ok: true } | { ok: false; message: string; holder: Holder }> {
    if (this.environments.has(env)) return { ok: true };
    mkdirSync(this.detail.pm2Home, { recursive: true });
    const file = environmentLeaseFile(this.detail.pm2Home, env);
    const attempt = await tryLock(file, { ...this.detail, environment: env });
    if (attempt.acquired) {
      this.environments.set(env, attempt.lock);
      return { ok: true };
    }
    return {
      ok: false,
      holder: attempt.holder,
      message: `another controller runs environment ${env} on the PM2 daemon of ${this.detail.pm2Home}: ${file} is held by ${describeHolder(attempt.holder)}; stop it first (a lease whose process is gone is taken over)`,
    };
  }

  /** Takes the lease of an environment; throws ConflictError when a live controller holds it. */
  async hold(env: string): Promise<void> {
    const r = await this.claim(env);
    if (!r.ok) throw new ConflictError(r.message);
  }

  /** Whether this controller holds `env`. */
  holds(env: string): boolean {
    return this.environments.has(env);
  }

  /** Releases the lease of one environment (one this controller refuses to run after all). */
  release(env: string): void {
    this.environments.get(env)?.release();
    this.environments.delete(env);
  }

  /** Releases every lease (on shutdown, or when starting failed). */
  releaseAll(): void {
    for (const lock of this.environments.values()) lock.release();
    this.environments.clear();
    this.stateLease?.release();
    this.stateLease = undefined;
  }
}
