import type { ProcessOps } from '../../src/apply/ops.js';
import type { Pm2Entry } from '../../src/domain/live.js';

/**
 * An in-memory ProcessOps for executor unit tests: services come up online,
 * jobs (autorestart false) exit at once with the code in env.EXIT_CODE.
 */
export class FakeOps implements ProcessOps {
  readonly calls: string[] = [];
  private next = 0;
  readonly procs = new Map<number, Pm2Entry>();
  failOn = new Set<string>();

  private spawn(app: Record<string, unknown>, pmId: number, restarts = 0): Pm2Entry {
    const env = (app.env ?? {}) as Record<string, string>;
    const job = app.autorestart === false;
    const exit = Number(env.EXIT_CODE ?? 0);
    const entry: Pm2Entry = {
      name: String(app.name), pid: job ? 0 : 5000 + pmId, pm_id: pmId,
      pm2_env: { ...app, pm_id: pmId, status: job ? 'stopped' : 'online', exit_code: job ? exit : undefined, restart_time: restarts, pm_uptime: 0 },
    };
    this.procs.set(pmId, entry);
    return entry;
  }

  private check(call: string): void {
    this.calls.push(call);
    if (this.failOn.has(call)) throw new Error(`refused ${call}`);
  }

  async list(): Promise<Pm2Entry[]> { return [...this.procs.values()].map((p) => structuredClone(p)); }

  async create(app: Record<string, unknown>): Promise<number[]> {
    this.check(`create ${String(app.name)}`);
    const n = Number(app.instances ?? 1) || 1;
    return Array.from({ length: n }, () => this.spawn(app, this.next++).pm_id);
  }

  async restart(pmId: number, conf?: Record<string, unknown>): Promise<void> {
    this.check(`restart ${pmId}`);
    const old = this.procs.get(pmId)!;
    this.spawn({ ...old.pm2_env, ...(conf ?? {}) }, pmId, Number(old.pm2_env.restart_time) + 1);
  }

  async reload(pmId: number, conf?: Record<string, unknown>): Promise<void> {
    this.check(`reload ${pmId}`);
    const old = this.procs.get(pmId)!;
    this.spawn({ ...old.pm2_env, ...(conf ?? {}) }, pmId, Number(old.pm2_env.restart_time) + 1);
  }

  async delete(pmId: number): Promise<void> {
    this.check(`delete ${pmId}`);
    this.procs.delete(pmId);
  }

  async duplicate(pmId: number): Promise<number> {
    this.check(`duplicate ${pmId}`);
    return this.spawn(this.procs.get(pmId)!.pm2_env, this.next++).pm_id;
  }
}
