/**
 * execute (thin shell): runs a plan's actions through ProcessOps in dependency
 * order, independent tasks in parallel; a task runs only once everything it
 * depends on is ready. A failure stops its dependents, never the rest.
 */
import type { ComparableProcess, LiveTask } from '../domain/live.js';
import type { HealthSpec } from '../domain/manifest.js';
import type { Action, ActionResult, Plan } from '../domain/plan.js';
import type { Clock, Prober, ProcessOps } from './ops.js';
import { perform } from './perform.js';
import { LiveSnapshot } from './snapshot.js';
import { waitJob, waitService, type Readiness } from './wait.js';

/** A desired task as the executor needs it. */
export interface ExecTask {
  name: string;
  /** The name of its processes in PM2, when it is not `name`. */
  pm2Name?: string;
  type: 'service' | 'job';
  dependsOn: string[];
  instances: number;
  health?: HealthSpec;
  app: Record<string, unknown>;
  comparable: ComparableProcess;
}

export interface ExecuteInput {
  plan: Plan;
  tasks: readonly ExecTask[];
  live: readonly LiveTask[];
  ops: ProcessOps;
  prober: Prober;
  clock: Clock;
  /** Actions that may run at once; default 8. */
  concurrency?: number;
  /** Called as each action ends. */
  onResult?: (result: ActionResult) => void;
  /** Called as each action starts (after its dependencies are ready). */
  onStart?: (action: Action) => void;
  /** Tasks that must not be touched, with why (a build that failed): their actions fail at once. */
  blocked?: ReadonlyMap<string, string>;
  /** Called right before a task's PM2 calls (its code link is switched here); a throw fails the action. */
  beforeAction?: (action: Action) => void;
  /** Called when a task's PM2 calls are done and its health (or job completion) is awaited. */
  onHealth?: (action: Action) => void;
  /** Called after a task's processes were deleted. */
  afterDelete?: (action: Action) => void;
}

class Semaphore {
  private waiting: Array<() => void> = [];
  constructor(private free: number) {}
  async acquire(): Promise<void> {
    if (this.free > 0) { this.free--; return; }
    await new Promise<void>((resolve) => this.waiting.push(resolve));
  }
  release(): void {
    const next = this.waiting.shift();
    if (next) next(); else this.free++;
  }
}

/** Executes the plan; resolves to one result per action, in plan order. */
export async function execute(input: ExecuteInput): Promise<ActionResult[]> {
  const { plan, ops, clock } = input;
  const snapshot = new LiveSnapshot(ops, clock);
  const tasks = new Map(input.tasks.map((t) => [t.name, t]));
  const live = new Map(input.live.map((l) => [l.name, l]));
  const actions = new Map(plan.actions.filter((a) => a.action !== 'delete').map((a) => [a.task, a]));
  const results = new Map<Action, ActionResult>();
  const ready = new Map<string, Promise<Readiness>>();
  const slots = new Semaphore(Math.max(1, input.concurrency ?? 8));

  const waitReady = (task: ExecTask, since: number): Promise<Readiness> => {
    const target = { namespace: plan.namespace, name: task.pm2Name ?? task.name, type: task.type, instances: task.instances, health: task.health, since };
    return task.type === 'job' ? waitJob(target, snapshot, clock) : waitService(target, snapshot, input.prober, clock);
  };

  const finish = (action: Action, startedAt: number, result: ActionResult['result'], message: string): ActionResult => {
    const r: ActionResult = { ...action, result, message, startedAt: new Date(startedAt).toISOString(), durationMs: clock.now() - startedAt };
    results.set(action, r);
    input.onResult?.(r);
    return r;
  };

  const runAction = async (action: Action, task: ExecTask): Promise<Readiness> => {
    const deps = await Promise.all(task.dependsOn.map(async (d) => ({ name: d, readiness: await readiness(d) })));
    const blocked = deps.find((d) => !d.readiness.ok);
    if (blocked) {
      finish(action, clock.now(), 'skipped', `dependency ${blocked.name} is not ready: ${blocked.readiness.detail}`);
      return { ok: false, detail: `skipped: dependency ${blocked.name} is not ready` };
    }
    const refused = input.blocked?.get(task.name);
    if (refused !== undefined) {
      finish(action, clock.now(), 'failed', refused);
      return { ok: false, detail: refused };
    }
    await slots.acquire();
    const startedAt = clock.now();
    input.onStart?.(action);
    try {
      input.beforeAction?.(action);
      await perform(ops, { action, app: task.app, liveProcess: live.get(task.name)?.process, desiredProcess: task.comparable });
    } catch (err) {
      slots.release();
      const message = `${action.action} failed: ${(err as Error).message}`;
      finish(action, startedAt, 'failed', message);
      return { ok: false, detail: message };
    }
    slots.release();
    input.onHealth?.(action);
    const health = await waitReady(task, clock.now());
    finish(action, startedAt, health.ok ? 'ok' : 'failed', health.detail);
    return health;
  };

  // Tasks without an action are ready when PM2 says so now (a job still running is awaited).
  const existing = async (task: ExecTask): Promise<Readiness> => {
    const l = live.get(task.name);
    if (!l) return { ok: false, detail: 'not running' };
    if (task.type === 'job') return waitJob({ namespace: plan.namespace, name: task.pm2Name ?? task.name, type: 'job', instances: task.instances, health: task.health, since: 0 }, snapshot, clock);
    const down = l.instances.filter((i) => i.status !== 'online');
    return down.length ? { ok: false, detail: `${down.map((i) => i.status).join(', ')} in PM2` } : { ok: true, detail: 'online' };
  };

  const readiness = (name: string): Promise<Readiness> => {
    let p = ready.get(name);
    if (!p) {
      const task = tasks.get(name);
      const action = actions.get(name);
      // An action starts in a later microtask: starting it here would start its dependencies' actions
      // from within this call, a call chain as long as the dependency chain (thousands of tasks overflow the stack).
      p = !task ? Promise.resolve({ ok: false, detail: 'not declared' }) : action ? Promise.resolve().then(() => runAction(action, task)) : existing(task);
      ready.set(name, p);
    }
    return p;
  };

  await Promise.all([...actions.keys()].map((name) => readiness(name)));

  for (const action of plan.actions.filter((a) => a.action === 'delete')) {
    const startedAt = clock.now();
    try {
      input.onStart?.(action);
      await perform(ops, { action });
      input.afterDelete?.(action);
      finish(action, startedAt, 'ok', `deleted ${action.pmIds.length} process${action.pmIds.length === 1 ? '' : 'es'}`);
    } catch (err) {
      finish(action, startedAt, 'failed', `delete failed: ${(err as Error).message}`);
    }
  }
  return plan.actions.map((a) => results.get(a)!);
}
