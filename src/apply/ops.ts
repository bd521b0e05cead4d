import type { Pm2Entry } from '../domain/live.js';
import type { ProbeResult } from '../adapters/probe.js';

/** The process operations apply needs; implemented by the PM2 adapter. Ids are pm_ids. */
export interface ProcessOps {
  list(): Promise<Pm2Entry[]>;
  create(app: Record<string, unknown>): Promise<number[]>;
  restart(pmId: number, conf?: Record<string, unknown>, unset?: readonly string[]): Promise<void>;
  reload(pmId: number, conf?: Record<string, unknown>, unset?: readonly string[]): Promise<void>;
  delete(pmId: number): Promise<void>;
  duplicate(pmId: number): Promise<number>;
}

/** Health probes, injectable so the executor does no network I/O of its own. */
export interface Prober {
  http(url: string, expectStatus?: number): Promise<ProbeResult>;
  tcp(host: string, port: number): Promise<ProbeResult>;
}

/** Time, injectable for tests. */
export interface Clock {
  now(): number;
  sleep(ms: number): Promise<void>;
}

export const systemClock: Clock = {
  now: () => Date.now(),
  sleep: (ms) => new Promise((resolve) => { setTimeout(resolve, ms); }),
};
