import type { Pm2Entry } from '../domain/live.js';
import type { Clock, ProcessOps } from './ops.js';

/**
 * One shared, briefly cached view of PM2's process list, so that many tasks
 * waiting for health at once cost one `list` call per interval, not one each.
 */
export class LiveSnapshot {
  private last?: { at: number; entries: Promise<Pm2Entry[]> };

  constructor(private readonly ops: ProcessOps, private readonly clock: Clock, private readonly maxAgeMs = 150) {}

  /** The process list, at most `maxAgeMs` old and read no earlier than `notBefore`. */
  entries(notBefore = 0): Promise<Pm2Entry[]> {
    const now = this.clock.now();
    if (!this.last || now - this.last.at > this.maxAgeMs || this.last.at < notBefore) {
      const entries = this.ops.list();
      this.last = { at: now, entries };
      entries.catch(() => { if (this.last?.entries === entries) this.last = undefined; });
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
