/**
 * Folding of PM2 option aliases (pure): `interpreter` → `exec_interpreter`,
 * `out` → `out_file`, … so that desired and live state compare key by key.
 */
import type { ProcessSpec } from '../domain/manifest.js';
import { copyValue, sortHead } from '../manifest/values.js';

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
  conflicts: ReadonlyArray<{ alias: string; option: string }>;
}

/**
 * Scratch lists reused by every call below: these run for every task of every
 * render, are synchronous and never re-enter, so their working lists need not
 * be allocated each time. Each call tracks how much of a list it uses (setting
 * `length` would drop the storage), and clears the values it put there.
 */
const envKeys: string[] = [];
const optionNames: string[] = [];
const optionValues: unknown[] = [];

/**
 * `env` laid over `base`, every value turned into the string the process will
 * see, keys sorted: the same as stringifyEnv({ ...base, ...env }) without the
 * intermediate map.
 */
function mergeEnv(base: Record<string, unknown>, env: Record<string, unknown> | undefined | null): Record<string, string> {
  const own = env !== undefined && env !== null;
  const keys = envKeys;
  let count = 0;
  for (const key in base) if (Object.hasOwn(base, key) && !(own && Object.hasOwn(env, key))) keys[count++] = key;
  if (own) for (const key in env) if (Object.hasOwn(env, key)) keys[count++] = key;
  sortHead(keys, count);
  const out: Record<string, string> = {};
  for (let i = 0; i < count; i++) {
    const key = keys[i]!;
    out[key] = String(own && Object.hasOwn(env, key) ? env[key] : base[key]);
  }
  return out;
}

/** Turns every env value into the string the process will see. */
export function stringifyEnv(env: Record<string, unknown> | undefined): Record<string, string> {
  return mergeEnv(NO_ENV, env);
}

const NO_ENV: Record<string, unknown> = Object.freeze({});
const NO_CONFLICTS: FoldResult['conflicts'] = Object.freeze([]);

/** Position of `name` among the first `count` items of `names`, or -1. */
function indexIn(names: readonly string[], count: number, name: string): number {
  for (let i = 0; i < count; i++) if (names[i] === name) return i;
  return -1;
}

/**
 * Folds aliases, normalises `exec_mode` and env values, merges `baseEnv` under
 * the task's own env and sorts keys, so equal options always serialise equally.
 * `defaults` fill in options the task leaves out. The result shares no value
 * with `raw`.
 */
export function foldProcess(raw: Record<string, unknown>, baseEnv: Record<string, unknown> = NO_ENV, defaults?: Record<string, unknown>): FoldResult {
  let conflicts: Array<{ alias: string; option: string }> | undefined;
  const names = optionNames;
  const values = optionValues;
  let count = 0;
  for (const key in raw) {
    if (!Object.hasOwn(raw, key)) continue;
    const option = PROCESS_ALIASES[key] ?? key;
    if (option !== key && option in raw) {
      (conflicts ??= []).push({ alias: key, option });
      continue;
    }
    if (option === 'env') continue; // merged with baseEnv below
    const at = indexIn(names, count, option);
    if (at >= 0) values[at] = raw[key]; // two aliases of one option: the later one counts
    else {
      names[count] = option;
      values[count++] = raw[key];
    }
  }
  if (defaults) {
    for (const key in defaults) {
      if (Object.hasOwn(defaults, key) && indexIn(names, count, key) < 0) {
        names[count] = key;
        values[count++] = defaults[key];
      }
    }
  }
  const ownEnv = raw.env as Record<string, unknown> | undefined;
  const env = mergeEnv(baseEnv, ownEnv);
  let hasEnv = ownEnv !== undefined;
  if (!hasEnv) for (const key in env) if (Object.hasOwn(env, key)) { hasEnv = true; break; }
  if (hasEnv) {
    names[count] = 'env';
    values[count++] = env;
  }
  sortHead(names, count, values);
  const process: Record<string, unknown> = {};
  for (let i = 0; i < count; i++) {
    const name = names[i]!;
    const value = values[i];
    values[i] = undefined;
    if (name === 'env') process[name] = value;
    else if (name.startsWith('env_')) process[name] = stringifyEnv(value as Record<string, unknown>);
    else if (name === 'exec_mode' && typeof value === 'string') process[name] = value.replace(/_mode$/, '');
    else process[name] = copyValue(value); // the output shares nothing with the manifest it came from
  }
  return { process: process as ProcessSpec, conflicts: conflicts ?? NO_CONFLICTS };
}
