/**
 * Folding of PM2 option aliases (pure): `interpreter` → `exec_interpreter`,
 * `out` → `out_file`, … so that desired and live state compare key by key.
 */
import type { ProcessSpec } from '../domain/manifest.js';
import { copyValue } from '../manifest/values.js';

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

/** Turns every env value into the string the process will see. */
export function stringifyEnv(env: Record<string, unknown> | undefined): Record<string, string> {
  const out: Record<string, string> = {};
  for (const key of Object.keys(env ?? {}).sort()) out[key] = String((env as Record<string, unknown>)[key]);
  return out;
}

/**
 * Folds aliases, normalises `exec_mode` and env values, merges `baseEnv` under
 * the task's own env and sorts keys, so equal options always serialise equally.
 */
export function foldProcess(raw: Record<string, unknown>, baseEnv: Record<string, unknown> = {}): FoldResult {
  const conflicts: FoldResult['conflicts'] = [];
  const folded: Record<string, unknown> = {};
  for (const [key, value] of Object.entries(raw)) {
    const option = PROCESS_ALIASES[key] ?? key;
    if (option !== key && option in raw) conflicts.push({ alias: key, option });
    if (option !== key && option in raw) continue;
    // The output shares nothing with the manifest it came from (env maps are rebuilt below).
    folded[option] = option === 'env' || /^env_/.test(option) ? value : copyValue(value);
  }
  if (typeof folded.exec_mode === 'string') folded.exec_mode = folded.exec_mode.replace(/_mode$/, '');
  const env = stringifyEnv({ ...baseEnv, ...(folded.env as Record<string, unknown> | undefined) });
  if (Object.keys(env).length > 0 || folded.env !== undefined) folded.env = env;
  for (const key of Object.keys(folded)) {
    if (/^env_/.test(key)) folded[key] = stringifyEnv(folded[key] as Record<string, unknown>);
  }
  const sorted: Record<string, unknown> = {};
  for (const key of Object.keys(folded).sort()) sorted[key] = folded[key];
  return { process: sorted as ProcessSpec, conflicts };
}
