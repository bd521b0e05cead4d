/**
 * PM2's identity variables (pure: env in, env out). A process that PM2 runs
 * finds its own PM2 record in its environment: PM2 copies every scalar of the
 * process's `pm2_env` into it (fork mode: lib/God/ForkMode.js; cluster mode:
 * lib/ProcessContainer.js), and `pm2_env` holds the app's options (name,
 * namespace, exec_mode, instances, kill_timeout, …), PM2's bookkeeping
 * (pm_id, unique_id, status, restart_time, … from God.executeApp) and the
 * variables of the `pm2` CLI that started it (PM2_USAGE, …).
 *
 * A PM2 client that starts an app passes its own process.env on
 * (Common.prepareAppConf copies it under the app's env), and the daemon lays
 * that env over the app's options (Utility.extend in God.executeApp). So a
 * pm2-gitops run by PM2 (the README's `pm2 start ecosystem.config.js`) would
 * start every task in its own namespace, with its exec_mode, kill_timeout and
 * instance number, unless these variables are gone before PM2 is loaded.
 */

/**
 * Names only PM2 gives a process: removed wherever they appear. PM2_HOME is
 * not among them: it says which daemon to talk to.
 */
const PM2_ONLY_KEYS: ReadonlySet<string> = new Set([
  'pm_id', 'pm_cwd', 'pm_exec_path', 'pm_out_log_path', 'pm_err_log_path', 'pm_log_path', 'pm_pid_path',
  'pm_uptime', 'pmx_module', 'unique_id', 'restart_time', 'unstable_restarts', 'prev_restart_delay',
  'km_link', 'vizion_running', '_pm2_version',
  'PM2_USAGE', 'PM2_JSON_PROCESSING', 'PM2_INTERACTOR_PROCESSING',
  // The marker of a process pm2-gitops started (JSON text, see formatMarker): a pm2-gitops
  // run by such a process would otherwise pass it on in every app's env, over the app's own.
  'pm2_gitops',
]);

/** Prefixes only PM2 uses (its agent's actions and metrics). */
const PM2_ONLY_PREFIXES = ['axm_'];

/**
 * PM2's app options (lib/API/schema.json, by their canonical names: PM2
 * stores aliases under those) and the plainer names of its bookkeeping.
 * Words a program could use for itself, so removed only from a process that
 * PM2 runs (`pm_id` set), where they are PM2's.
 */
const APP_OPTION_KEYS: ReadonlySet<string> = new Set([
  'name', 'name_prefix', 'filter_env', 'namespace', 'install_url', 'cwd', 'args', 'exec_interpreter', 'node_args',
  'out_file', 'error_file', 'log_file', 'disable_logs', 'log_type', 'log_date_format', 'time', 'max_memory_restart',
  'pid_file', 'restart_delay', 'exp_backoff_restart_delay', 'source_map_support', 'disable_source_map_support',
  'wait_ready', 'instances', 'kill_timeout', 'shutdown_with_message', 'listen_timeout', 'cron_restart', 'merge_logs',
  'vizion', 'autostart', 'autorestart', 'stop_exit_codes', 'watch_delay', 'watch', 'ignore_watch', 'watch_options',
  'min_uptime', 'max_restarts', 'execute_command', 'exec_mode', 'force', 'append_env_to_name', 'post_update',
  'trace', 'disable_trace', 'v8', 'event_loop_inspector', 'deep_monitoring', 'increment_var', 'instance_var',
  'pmx', 'automation', 'treekill', 'port', 'username', 'uid', 'gid', 'windowsHide', 'kill_retry_time', 'write', 'io',
  // Bookkeeping with plain names (God.executeApp, the cluster's online message, the version probe).
  'status', 'created_at', 'exit_code', 'version', 'versioning', 'node_version', 'command',
]);

/** The variable that carries a worker's instance number when its app names none (PM2's default instance_var). */
const DEFAULT_INSTANCE_VAR = 'NODE_APP_INSTANCE';

/** What a cluster worker's environment holds for an object-valued option (ProcessContainer assigns them as they are). */
const OBJECT_TEXT = '[object Object]';

type Env = Readonly<Record<string, string | undefined>>;

/** Whether `env` is that of a process PM2 runs. */
export function isPm2Managed(env: Env): boolean {
  return env.pm_id !== undefined;
}

function pm2Only(key: string): boolean {
  return PM2_ONLY_KEYS.has(key) || PM2_ONLY_PREFIXES.some((p) => key.startsWith(p));
}

/** Keys PM2 adds for a process it runs, besides its options: the instance number, the module config under the app's name, object-valued options. */
function managedExtra(key: string, value: string | undefined, env: Env): boolean {
  if (key === (env.instance_var || DEFAULT_INSTANCE_VAR)) return true;
  // The app's module configuration (Modularizer.getAdditionalConf), JSON text under the app's own name.
  if (key === env.name && value !== undefined && value.startsWith('{') && value.endsWith('}')) return true;
  return (key === 'env' || key.startsWith('env_')) && value === OBJECT_TEXT;
}

/**
 * The names of the variables in `env` that PM2 put there for the process it
 * runs, sorted: PM2's own names always; its app options, bookkeeping and
 * instance number only when `pm_id` is set. A program's own variables (PORT,
 * NODE_ENV, PM2_HOME, …) are never among them.
 */
export function pm2IdentityKeys(env: Env): string[] {
  const managed = isPm2Managed(env);
  const keys: string[] = [];
  for (const [key, value] of Object.entries(env)) {
    if (pm2Only(key) || (managed && (APP_OPTION_KEYS.has(key) || managedExtra(key, value, env)))) keys.push(key);
  }
  return keys.sort();
}

/** A copy of `env` without PM2's identity variables (see pm2IdentityKeys); `env` itself is left as it is. */
export function withoutPm2Identity<T extends Env>(env: T): Partial<T> {
  const drop = new Set(pm2IdentityKeys(env));
  const out: Record<string, string | undefined> = {};
  for (const [key, value] of Object.entries(env)) if (!drop.has(key)) out[key] = value;
  return out as Partial<T>;
}
