import type { Pm2Entry } from '../domain/live.js';
import type { Clock, ProcessOps } from './ops.js';

/**
 * One shared, briefly cached view of PM2's process list, so that many tasks
 * waiting for health at once cost one `list` call per interval, not one each.
 * A list is not cheap for the daemon when it runs many processes (500: 4.5 MB
 * and about 170 ms, CPU usage read for every pid), so a list is kept at least
 * twice as long as the last one took: the daemon spends at most a third of
 * its time answering them.
 */
export class LiveSnapshot {
  private last?: { at: number; entries: Promise<Pm2Entry[]> };
  private lastCostMs = 0;

  constructor(private readonly ops: ProcessOps, private readonly clock: Clock, private readonly maxAgeMs = 150) {}

  /** The process list, at most `maxAgeMs` (or twice the last list's duration) old and read no earlier than `notBefore`. */
  entries(notBefore = 0): Promise<Pm2Entry[]> {
    const now = this.clock.now();
    const maxAge = Math.max(this.maxAgeMs, 2 * this.lastCostMs);
    if (!this.last || now - this.last.at > maxAge || this.last.at < notBefore) {
      const entries = this.ops.list();
      this.last = { at: now, entries };
      entries.then(() => { this.lastCostMs = this.clock.now() - now; }, () => { if (this.last?.entries === entries) this.last = undefined; });
    }
    return this.last.entries;
  }

  /** The processes of one app in one namespace, by pm_id. */
  async of(namespace: string, name: string, notBefore = 0): Promise<Pm2Entry[]> {
    return (await this.entries(notBefore))
      .filter((e) => e.name === name && e.pm2_env.namespace === namespace && typeof e.pm_id === 'number')
      .sort((a, b) => a.pm_id - b.pm_id);
  }
}
