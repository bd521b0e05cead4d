/**
 * PM2's option aliases (pure), as `pm2 start` reads an ecosystem file: the
 * aliases its lib/API/schema.json lists, plus the camelCase spelling of every
 * option it derives itself (lib/tools/Config.js: `ignoreWatch` for
 * `ignore_watch`), in the order PM2 tries them; and `cmd` and `command`, which
 * `Common.verifyConfs` takes for `script` when there is none.
 */
import { PROCESS_ALIASES } from '../render/process.js';

/** Option → its aliases, in the order PM2 tries them after the option itself (kept equal to PM2's by a test). */
export const PM2_ALIASES: Readonly<Record<string, readonly string[]>> = {
  script: ['exec'],
  name_prefix: ['namePrefix'],
  filter_env: ['filterEnv'],
  install_url: ['installUrl'],
  exec_interpreter: ['interpreter', 'execInterpreter'],
  node_args: ['interpreter_args', 'interpreterArgs', 'nodeArgs'],
  out_file: ['out_log', 'output', 'out', 'outFile'],
  error_file: ['err_log', 'err_file', 'err', 'error', 'errorFile'],
  log_file: ['log', 'logFile'],
  disable_logs: ['disableLogs'],
  log_type: ['logType'],
  log_date_format: ['logDateFormat'],
  max_memory_restart: ['maxMemoryRestart'],
  pid_file: ['pid', 'pidFile'],
  restart_delay: ['restartDelay'],
  exp_backoff_restart_delay: ['expBackoffRestartDelay'],
  source_map_support: ['sourceMapSupport'],
  disable_source_map_support: ['disableSourceMapSupport'],
  wait_ready: ['waitReady'],
  kill_timeout: ['killTimeout'],
  shutdown_with_message: ['shutdownWithMessage'],
  listen_timeout: ['listenTimeout'],
  cron_restart: ['cron', 'cronRestart'],
  merge_logs: ['combine_logs', 'mergeLogs'],
  stop_exit_codes: ['stopExitCodes'],
  watch_delay: ['watchDelay'],
  ignore_watch: ['ignoreWatch'],
  watch_options: ['watchOptions'],
  min_uptime: ['minUptime'],
  max_restarts: ['maxRestarts'],
  execute_command: ['executeCommand'],
  exec_mode: ['execMode'],
  append_env_to_name: ['appendEnvToName'],
  post_update: ['postUpdate'],
  disable_trace: ['disableTrace'],
  event_loop_inspector: ['eventLoopInspector'],
  deep_monitoring: ['deepMonitoring'],
  increment_var: ['incrementVar'],
  instance_var: ['instanceVar'],
  uid: ['user'],
  kill_retry_time: ['killRetryTime'],
};

/** Alias → the option it stands for. */
const OPTION_OF: ReadonlyMap<string, string> = new Map(Object.entries(PM2_ALIASES).flatMap(([option, aliases]) => aliases.map((a) => [a, option] as const)));

/** The PM2 option a key of an app stands for (the key itself when it is no alias). */
export function pm2OptionOf(key: string): string {
  return OPTION_OF.get(key) ?? key;
}

/** The keys of the script, in the order PM2 takes them: `script`, then `cmd` and `command` (verifyConfs), then `exec` (its schema alias). */
export const SCRIPT_KEYS = ['script', 'cmd', 'command', 'exec'] as const;

/** The script PM2 runs for an app: the first of SCRIPT_KEYS that is set. */
export function scriptOf(app: Record<string, unknown>): unknown {
  for (const key of SCRIPT_KEYS) if (app[key]) return app[key];
  return undefined;
}

/** One option given under several keys: the key whose value PM2 uses, and the others. */
export interface AliasConflict { option: string; kept: string; dropped: string[] }

export interface CanonicalOptions {
  /** The options, each under one key: as written when pm2-gitops reads that key (`interpreter`), else under PM2's own name (`ignoreWatch` → `ignore_watch`). */
  options: Record<string, unknown>;
  conflicts: AliasConflict[];
  /** Keys written under PM2's own name: [as written, option]. */
  renamed: Array<[string, string]>;
}

/**
 * The options of an app with each one under a single key. Where the file gives
 * one option under several keys, the value PM2 uses is kept: the first truthy
 * one in PM2's order (the option, then its aliases), else the option's own.
 * The script keys are left out (see scriptOf).
 */
export function canonicalOptions(app: Record<string, unknown>): CanonicalOptions {
  const byOption = new Map<string, string[]>();
  for (const key of Object.keys(app)) {
    if ((SCRIPT_KEYS as readonly string[]).includes(key)) continue;
    const option = pm2OptionOf(key);
    byOption.set(option, [...(byOption.get(option) ?? []), key]);
  }
  const out: CanonicalOptions = { options: {}, conflicts: [], renamed: [] };
  for (const [option, keys] of byOption) {
    let kept = keys[0]!;
    if (keys.length > 1) {
      const order = [option, ...(PM2_ALIASES[option] ?? [])].filter((k) => keys.includes(k));
      kept = order.find((k) => Boolean(app[k])) ?? order[0]!;
      out.conflicts.push({ option, kept, dropped: order.filter((k) => k !== kept) });
    }
    const known = kept === option || kept in PROCESS_ALIASES;
    if (!known) out.renamed.push([kept, option]);
    out.options[known ? kept : option] = app[kept];
  }
  return out;
}
