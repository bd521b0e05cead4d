/**
 * Readiness waits (thin shell over PM2 and probes): a service is ready when all
 * its workers are online and stable and its probe answers; a job when it exited 0.
 */
import { hasExited } from '../domain/live.js';
import type { HealthSpec } from '../domain/manifest.js';
import type { Clock, Prober } from './ops.js';
import type { LiveSnapshot } from './snapshot.js';

export interface Readiness { ok: boolean; detail: string }

export interface WaitTarget {
  namespace: string;
  /** The processes' name in PM2. */
  name: string;
  type: 'service' | 'job';
  instances: number;
  health?: HealthSpec;
  /** Only process lists read at or after this time count (the action's end). */
  since: number;
}

const POLL_MS = 200;
const DEFAULT_SERVICE_TIMEOUT_S = 30;
const DEFAULT_JOB_TIMEOUT_S = 300;
const DEFAULT_MIN_UPTIME_S = 1;

async function probe(health: HealthSpec | undefined, prober: Prober): Promise<Readiness> {
  if (health?.http) return prober.http(health.http.url, health.http.expectStatus);
  if (health?.tcp) return prober.tcp(health.tcp.host ?? '127.0.0.1', health.tcp.port);
  return { ok: true, detail: 'online' };
}

/**
 * Since when every worker has run without a restart: the latest start PM2
 * recorded (pm_uptime, set at each start and restart), so that one list read
 * can tell a stable process; `now` when PM2 does not say.
 */
function onlineSince(online: ReadonlyArray<{ pm2_env: Record<string, unknown> }>, now: number): number {
  const started = Math.max(...online.map((p) => Number(p.pm2_env.pm_uptime)));
  return Number.isFinite(started) && started > 0 && started <= now ? started : now;
}

/** Waits until a service is online, stable for minUptime, and its probe passes; or the timeout. */
export async function waitService(t: WaitTarget, live: LiveSnapshot, prober: Prober, clock: Clock): Promise<Readiness> {
  const deadline = clock.now() + (t.health?.timeoutSeconds ?? DEFAULT_SERVICE_TIMEOUT_S) * 1000;
  const minUptimeMs = (t.health?.minUptimeSeconds ?? DEFAULT_MIN_UPTIME_S) * 1000;
  let last = 'not started';
  let stableSince: number | undefined;
  let restarts = -1;
  // Not at once: the action just ended, and the process list read for another task meanwhile serves this one too.
  await clock.sleep(Math.min(POLL_MS, minUptimeMs));
  while (clock.now() < deadline) {
    const procs = await live.of(t.namespace, t.name, t.since);
    const online = procs.filter((p) => p.pm2_env.status === 'online');
    const totalRestarts = procs.reduce((n, p) => n + Number(p.pm2_env.restart_time ?? 0), 0);
    if (procs.length === t.instances && online.length === t.instances) {
      if (stableSince === undefined || totalRestarts !== restarts) { stableSince = onlineSince(online, clock.now()); restarts = totalRestarts; }
      if (clock.now() - stableSince >= minUptimeMs) {
        const result = await probe(t.health, prober);
        if (result.ok) return { ok: true, detail: result.detail };
        last = result.detail;
      } else {
        last = `online for ${clock.now() - stableSince} ms of ${minUptimeMs} ms`;
      }
    } else {
      stableSince = undefined;
      last = `${online.length}/${t.instances} online (${procs.map((p) => p.pm2_env.status).join(', ') || 'no process'})`;
      const errored = procs.find((p) => p.pm2_env.status === 'errored');
      if (errored) return { ok: false, detail: `errored in PM2 (restarts: ${String(errored.pm2_env.restart_time)})` };
    }
    await clock.sleep(POLL_MS);
  }
  return { ok: false, detail: `not healthy after ${t.health?.timeoutSeconds ?? DEFAULT_SERVICE_TIMEOUT_S}s: ${last}` };
}

/** Waits until a job's processes exited (whatever PM2 shows next, see hasExited); ok when every instance exited 0. */
export async function waitJob(t: WaitTarget, live: LiveSnapshot, clock: Clock): Promise<Readiness> {
  const timeout = t.health?.timeoutSeconds ?? DEFAULT_JOB_TIMEOUT_S;
  const deadline = clock.now() + timeout * 1000;
  while (clock.now() < deadline) {
    const procs = await live.of(t.namespace, t.name, t.since);
    if (procs.length === 0) return { ok: false, detail: 'job process disappeared' };
    const finished = procs.every((p) => hasExited(String(p.pm2_env.status)));
    if (finished) {
      const bad = procs.find((p) => p.pm2_env.status === 'errored' || Number(p.pm2_env.exit_code ?? 0) !== 0);
      return bad
        ? { ok: false, detail: `job exited with code ${String(bad.pm2_env.exit_code ?? 'unknown')} (${String(bad.pm2_env.status)})` }
        : { ok: true, detail: 'job exited 0' };
    }
    await clock.sleep(POLL_MS);
  }
  return { ok: false, detail: `job still running after ${timeout}s` };
}
