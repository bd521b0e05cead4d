/**
 * Folding of PM2 option aliases (pure): `interpreter` → `exec_interpreter`,
 * `out` → `out_file`, … so that desired and live state compare key by key.
 */
import type { ProcessSpec } from '../domain/manifest.js';
import { copyValue, sortStrings } from '../manifest/values.js';

/** Alias → PM2's own option name, from PM2's lib/API/schema.json. */
export const PROCESS_ALIASES: Readonly<Record<string, string>> = {
  exec: 'script',
  interpreter: 'exec_interpreter',
  interpreter_args: 'node_args',
  interpreterArgs: 'node_args',
  out: 'out_file',
  output: 'out_file',
  out_log: 'out_file',
  error: 'error_file',
  err: 'error_file',
  err_file: 'error_file',
  err_log: 'error_file',
  log: 'log_file',
  pid: 'pid_file',
  cron: 'cron_restart',
  combine_logs: 'merge_logs',
  user: 'uid',
};

export interface FoldResult {
  process: ProcessSpec;
  /** Options given twice, once under an alias. */
  conflicts: Array<{ alias: string; option: string }>;
}

/** The keys of `value` in sorted order (as `Object.keys(value).sort()`). */
function sortedKeys(value: object): string[] {
  return sortStrings(Object.keys(value));
}

/**
 * `env` laid over `base`, every value turned into the string the process will
 * see, keys sorted: the same as stringifyEnv({ ...base, ...env }) without the
 * intermediate map.
 */
function mergeEnv(base: Record<string, unknown>, env: Record<string, unknown> | undefined): Record<string, string> {
  if (env === undefined || env === null) return stringifyEnv(base);
  const keys: string[] = [];
  for (const key in base) if (Object.hasOwn(base, key) && !Object.hasOwn(env, key)) keys.push(key);
  for (const key in env) if (Object.hasOwn(env, key)) keys.push(key);
  sortStrings(keys);
  const out: Record<string, string> = {};
  for (const key of keys) out[key] = String(Object.hasOwn(env, key) ? env[key] : base[key]);
  return out;
}

/** Turns every env value into the string the process will see. */
export function stringifyEnv(env: Record<string, unknown> | undefined): Record<string, string> {
  const out: Record<string, string> = {};
  if (env === undefined || env === null) return out;
  for (const key of sortedKeys(env)) out[key] = String(env[key]);
  return out;
}

const NO_ENV: Record<string, unknown> = Object.freeze({});

/**
 * Folds aliases, normalises `exec_mode` and env values, merges `baseEnv` under
 * the task's own env and sorts keys, so equal options always serialise equally.
 * `defaults` fill in options the task leaves out. The result shares no value
 * with `raw`.
 */
export function foldProcess(raw: Record<string, unknown>, baseEnv: Record<string, unknown> = NO_ENV, defaults?: Record<string, unknown>): FoldResult {
  const conflicts: FoldResult['conflicts'] = [];
  const folded: Record<string, unknown> = {};
  let envMaps = false;
  for (const key in raw) {
    if (!Object.hasOwn(raw, key)) continue;
    const option = PROCESS_ALIASES[key] ?? key;
    if (option !== key && option in raw) {
      conflicts.push({ alias: key, option });
      continue;
    }
    if (option === 'env') continue; // merged with baseEnv below
    if (option.startsWith('env_')) {
      envMaps = true;
      folded[option] = raw[key];
    } else {
      // The output shares nothing with the manifest it came from.
      folded[option] = copyValue(raw[key]);
    }
  }
  if (defaults) for (const key of Object.keys(defaults)) if (!Object.hasOwn(folded, key)) folded[key] = defaults[key];
  if (typeof folded.exec_mode === 'string') folded.exec_mode = folded.exec_mode.replace(/_mode$/, '');
  const ownEnv = raw.env as Record<string, unknown> | undefined;
  const env = mergeEnv(baseEnv, ownEnv);
  let hasEnv = ownEnv !== undefined;
  if (!hasEnv) for (const key in env) if (Object.hasOwn(env, key)) { hasEnv = true; break; }
  if (hasEnv) folded.env = env;
  if (envMaps) {
    for (const key of Object.keys(folded)) if (key.startsWith('env_')) folded[key] = stringifyEnv(folded[key] as Record<string, unknown>);
  }
  const sorted: Record<string, unknown> = {};
  for (const key of sortedKeys(folded)) sorted[key] = folded[key];
  return { process: sorted as ProcessSpec, conflicts };
}
