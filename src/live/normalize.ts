/**
 * normalize (pure): PM2 process entries → one LiveTask per app name, and a
 * PM2-resolved app configuration → the comparable shape both sides share.
 */
import { CODE_KEY, MARKER_KEY, type ComparableProcess, type LiveInstance, type LiveTask, type ManagedMarker, type Pm2Entry } from '../domain/live.js';
import { pm2NameOf, type DesiredState } from '../domain/manifest.js';

/**
 * App options compared as PM2 stores them. Paths, interpreter, mode, count and
 * env are handled on their own; runtime fields (status, uptime, ids) never are.
 */
export const COMPARED_OPTIONS: readonly string[] = [
  'filter_env', 'log_type', 'log_date_format', 'time', 'disable_logs', 'max_memory_restart',
  'restart_delay', 'exp_backoff_restart_delay', 'source_map_support', 'disable_source_map_support',
  'wait_ready', 'kill_timeout', 'shutdown_with_message', 'listen_timeout', 'cron_restart', 'merge_logs',
  'vizion', 'autostart', 'autorestart', 'stop_exit_codes', 'watch_delay', 'watch', 'ignore_watch',
  'watch_options', 'min_uptime', 'max_restarts', 'force', 'append_env_to_name', 'post_update', 'trace',
  'disable_trace', 'v8', 'event_loop_inspector', 'deep_monitoring', 'increment_var', 'instance_var', 'pmx',
  'automation', 'treekill', 'port', 'uid', 'gid', 'windowsHide', 'kill_retry_time',
];

/**
 * Key of a live comparable process whose workers do not all share the same
 * options: pm_id → the option names that differ from the lowest pm_id's.
 */
export const WORKER_VARIANTS = 'workers_differ';

/** Path fields PM2 derives from `*_file` options; PM2 inserts `-<pm_id>` into them per worker. */
const PATH_FIELDS: Record<string, string> = {
  pm_out_log_path: 'out_file',
  pm_err_log_path: 'error_file',
  pm_log_path: 'log_file',
  pm_pid_path: 'pid_file',
};

function toList(value: unknown): string[] {
  if (value === undefined || value === null || value === '') return [];
  return (Array.isArray(value) ? value : [value]).map(String);
}

function stripWorkerId(path: string): string {
  return path.replace(/-\d+(\.log|\.pid)$/, '$1');
}

export interface NormalizeOptions {
  /** Env keys to compare; every other env entry (inherited from the shell) is ignored. */
  envKeys: readonly string[];
  /** The process count: live workers, or the desired instances resolved against the CPU count. */
  instances: number;
}

/** Turns a pm2_env (live) or a PM2-resolved app config (desired) into the comparable shape. */
export function normalizeAppConfig(env: Record<string, unknown>, opts: NormalizeOptions): ComparableProcess {
  const out: ComparableProcess = {
    script: env.pm_exec_path,
    cwd: env.pm_cwd,
    args: toList(env.args),
    node_args: toList(env.node_args),
    exec_interpreter: env.exec_interpreter ?? 'node',
    exec_mode: String(env.exec_mode ?? 'fork_mode').replace(/_mode$/, ''),
    instances: opts.instances,
  };
  for (const [field, option] of Object.entries(PATH_FIELDS)) {
    if (typeof env[field] === 'string') out[option] = stripWorkerId(env[field] as string);
  }
  for (const key of COMPARED_OPTIONS) {
    if (env[key] !== undefined && env[key] !== null) out[key] = env[key];
  }
  // PM2's defaults, which `pm2 stop` (watch) and `pm2 start|restart <app>` (filter_env)
  // from the command line store on processes that never declared them.
  if (out.watch === false) delete out.watch;
  if (out.filter_env === false || (Array.isArray(out.filter_env) && out.filter_env.length === 0)) delete out.filter_env;
  // PM2 sets merge_logs on a fork app that declares no `instances`; log paths are already
  // compared without worker ids, so in fork mode the flag would only turn a scale into a restart.
  if (out.exec_mode === 'fork' && out.merge_logs === true) delete out.merge_logs;
  for (const key of Object.keys(env).filter((k) => /^env_/.test(k)).sort()) out[key] = env[key];
  const vars = (env.env ?? {}) as Record<string, unknown>;
  const picked: Record<string, string> = {};
  for (const key of [...opts.envKeys].sort()) {
    if (vars[key] !== undefined && vars[key] !== null) picked[key] = String(vars[key]);
  }
  out.env = picked;
  return out;
}

/** The process count PM2 starts for a configured `instances` value (0 or "max": one per CPU; -1: one fewer). */
export function instanceCount(instances: unknown, cpus: number): number {
  if (instances === 'max' || instances === 0 || instances === '0') return Math.max(1, cpus);
  const n = Number(instances ?? 1);
  if (!Number.isFinite(n)) return 1;
  if (n < 0) return Math.max(1, cpus + n);
  return n;
}

/**
 * The marker as pm2-gitops stores it on a process: JSON text, not an object,
 * because PM2 copies every key of pm2_env into a cluster worker's process.env
 * (lib/ProcessContainer.js), where an object reads "[object Object]". A fork
 * process gets it too (PM2 copies the scalars), so every process can tell
 * which environment, task and revision started it.
 */
export function formatMarker(marker: ManagedMarker): string {
  return JSON.stringify(marker);
}

/** The marker of a process (JSON text, or the object earlier versions stored), or undefined when it has none. */
export function parseMarker(value: unknown): ManagedMarker | undefined {
  let m = value;
  if (typeof m === 'string') {
    try { m = JSON.parse(m) as unknown; } catch { return undefined; } // not ours: an unmanaged process
  }
  if (!m || typeof m !== 'object') return undefined;
  const marker = m as Partial<ManagedMarker>;
  if (typeof marker.task !== 'string') return undefined;
  return {
    environment: String(marker.environment ?? ''),
    task: marker.task,
    revision: String(marker.revision ?? ''),
    envKeys: Array.isArray(marker.envKeys) ? marker.envKeys.map(String) : [],
    ...(typeof marker.specDigest === 'string' ? { specDigest: marker.specDigest } : {}),
    ...(typeof marker.codeDigest === 'string' ? { codeDigest: marker.codeDigest } : {}),
  };
}

function markerOf(env: Record<string, unknown>): ManagedMarker | undefined {
  return parseMarker(env[MARKER_KEY]);
}

function instanceOf(entry: Pm2Entry): LiveInstance {
  const env = entry.pm2_env;
  const exit = env.exit_code;
  return {
    pmId: entry.pm_id,
    pid: entry.pid,
    status: String(env.status ?? 'unknown'),
    restarts: Number(env.restart_time ?? 0),
    startedAt: Number(env.pm_uptime ?? 0),
    unstableRestarts: Number(env.unstable_restarts ?? 0),
    ...(typeof exit === 'number' ? { exitCode: exit } : {}),
    ...(entry.monit?.memory !== undefined ? { memory: entry.monit.memory } : {}),
    ...(entry.monit?.cpu !== undefined ? { cpu: entry.monit.cpu } : {}),
  };
}

/**
 * Where the comparable options of the other workers differ from `base` (the
 * lowest pm_id's): pm_id → the differing option names (`env.<KEY>` for env
 * variables; names only, never values).
 */
function workerVariants(base: ComparableProcess, others: ReadonlyArray<[number, ComparableProcess]>): Record<string, string[]> {
  const variants: Record<string, string[]> = {};
  // PM2 gives every worker its own value of these env variables.
  const perWorker = new Set([base.increment_var, base.instance_var ?? 'NODE_APP_INSTANCE'].filter((k): k is string => typeof k === 'string'));
  for (const [pmId, other] of others) {
    const fields = new Set<string>();
    for (const key of new Set([...Object.keys(base), ...Object.keys(other)])) {
      if (key === 'env') continue;
      if (JSON.stringify(base[key]) !== JSON.stringify(other[key])) fields.add(key);
    }
    const a = (base.env ?? {}) as Record<string, unknown>;
    const b = (other.env ?? {}) as Record<string, unknown>;
    for (const key of new Set([...Object.keys(a), ...Object.keys(b)])) {
      if (a[key] !== b[key] && !perWorker.has(key)) fields.add(`env.${key}`);
    }
    if (fields.size) variants[String(pmId)] = [...fields].sort();
  }
  return variants;
}

/** The comparable process of one worker, with the code digest its marker names. */
function comparableOf(env: Record<string, unknown>, opts: NormalizeOptions): ComparableProcess {
  const proc = normalizeAppConfig(env, opts);
  const digest = markerOf(env)?.codeDigest;
  if (digest) proc[CODE_KEY] = digest;
  return proc;
}

/**
 * The name of the live task of the processes named `pm2Name`: the declared
 * task with that PM2 name, else the PM2 name itself. An undeclared process
 * whose PM2 name is the name of a task that PM2 knows by another name (one
 * started before the task set metadata.pm2Name) is told apart by a suffix no
 * task name can have, so that it is never taken for that task.
 */
function liveNameOf(pm2Name: string, tasks: ReadonlyMap<string, string> | undefined, taskNames: ReadonlySet<string>): string {
  const task = tasks?.get(pm2Name);
  if (task !== undefined) return task;
  return taskNames.has(pm2Name) ? `${pm2Name} (PM2)` : pm2Name;
}

/**
 * Groups the entries of one namespace by app name, each group named after its
 * task (`tasks`: task name by PM2 name; see liveNameOf). The comparable options come
 * from the worker with the lowest pm_id; `envKeys` are added to the keys its
 * marker lists, so removed keys show up as differences.
 *
 * Workers of one app normally share their options. When they do not (a reload
 * that stopped half-way, or one worker restarted by hand with other options or
 * env), the task carries `WORKER_VARIANTS` (pm_id → differing option names),
 * which the desired side never has, so the diff reports it and every worker is
 * replaced. Options or env keys that only another worker has are added to the
 * task too, so that they are unset when it is replaced.
 */
export function normalizeLive(entries: readonly Pm2Entry[], namespace: string, desiredEnvKeys: (task: string) => readonly string[] = () => [], tasks?: ReadonlyMap<string, string>): LiveTask[] {
  const groups = new Map<string, Pm2Entry[]>();
  for (const entry of entries) {
    if (entry.pm2_env.namespace !== namespace) continue;
    if (typeof entry.pm_id !== 'number') continue; // a worker being replaced by a reload (`_old_<id>`)
    const list = groups.get(entry.name) ?? [];
    list.push(entry);
    groups.set(entry.name, list);
  }
  const out: LiveTask[] = [];
  const taskNames = new Set(tasks?.values() ?? []);
  for (const [pm2Name, list] of groups) {
    const name = liveNameOf(pm2Name, tasks, taskNames);
    list.sort((a, b) => a.pm_id - b.pm_id);
    const first = list[0]!.pm2_env;
    const marker = markerOf(first);
    const markerKeys = list.flatMap((e) => markerOf(e.pm2_env)?.envKeys ?? []);
    const envKeys = [...new Set([...(marker?.envKeys ?? []), ...markerKeys, ...desiredEnvKeys(name)])];
    const opts = { envKeys, instances: list.length };
    const proc = comparableOf(first, opts);
    // Workers that run other code than the first (a reload cut short) are variants like any other difference.
    const others = list.slice(1).map((e): [number, ComparableProcess] => [e.pm_id, comparableOf(e.pm2_env, opts)]);
    const variants = workerVariants(proc, others);
    if (Object.keys(variants).length) {
      const env = { ...(proc.env as Record<string, string>) };
      for (const [, other] of others) {
        for (const [key, value] of Object.entries(other)) if (!(key in proc)) proc[key] = value;
        for (const [key, value] of Object.entries((other.env ?? {}) as Record<string, string>)) if (!(key in env)) env[key] = value;
      }
      proc.env = Object.fromEntries(Object.entries(env).sort(([a], [b]) => a.localeCompare(b)));
      proc[WORKER_VARIANTS] = variants;
    }
    out.push({
      name,
      ...(name !== pm2Name ? { pm2Name } : {}),
      namespace,
      instances: list.map(instanceOf),
      process: proc,
      ...(marker ? { marker } : {}),
    });
  }
  return out.sort((a, b) => a.name.localeCompare(b.name));
}

/**
 * The live tasks of a desired state's namespace: each task's processes found
 * by its PM2 name (metadata.pm2Name, else its name) and named after the task,
 * with the env keys its manifest declares compared.
 */
export function normalizeLiveOf(entries: readonly Pm2Entry[], state: Pick<DesiredState, 'namespace' | 'tasks'>): LiveTask[] {
  const envKeys = new Map(state.tasks.map((t) => [t.name, Object.keys(t.process.env ?? {})]));
  const tasks = new Map(state.tasks.map((t) => [pm2NameOf(t), t.name]));
  return normalizeLive(entries, state.namespace, (name) => envKeys.get(name) ?? [], tasks);
}
