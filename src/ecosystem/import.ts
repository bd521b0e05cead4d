/**
 * import (pure): a parsed PM2 ecosystem configuration → Task manifests and
 * Environments (one default, plus one per `env_<name>` or `deploy.<name>.env` block).
 */
import { posix } from 'node:path';
import { API_VERSION, type EnvironmentManifest, type TaskManifest } from '../domain/manifest.js';
import { readSchema } from '../validate/schema.js';
import { PROCESS_ALIASES } from '../render/process.js';

export interface ImportOptions {
  /** Absolute folder the ecosystem file lives in: relative paths in it start there. */
  sourceDir: string;
  /** Absolute folder the manifests are written to (the manifest root). */
  outDir: string;
  /** Name of the default Environment. */
  environment: string;
  /** Namespace of the Environments; default: the apps' own, else "default". */
  namespace?: string;
}

export interface ImportResult {
  tasks: TaskManifest[];
  environments: EnvironmentManifest[];
  /** Problems that stop the import, each naming the app and option. */
  errors: string[];
  /** Options that were dropped or renamed, each naming the app. */
  warnings: string[];
}

const DROPPED = new Set(['name', 'namespace', 'name_prefix', 'install_url', 'execute_command', 'username', 'io', 'write']);

function knownOptions(): Set<string> {
  const schema = readSchema('Task') as { $defs: { process: { properties: Record<string, unknown> } } };
  return new Set(Object.keys(schema.$defs.process.properties));
}

/** The apps of an ecosystem configuration, as PM2 itself finds them (`apps`, `pm2`, or the value itself). */
export function ecosystemApps(config: unknown): Array<Record<string, unknown>> {
  const c = (config ?? {}) as Record<string, unknown>;
  const apps = c.apps ?? c.pm2 ?? config;
  return (Array.isArray(apps) ? apps : [apps]) as Array<Record<string, unknown>>;
}

/** A valid Task name for a PM2 app name, or the script's base name when the app has none (as PM2 does). */
export function taskNameOf(app: Record<string, unknown>): string {
  const raw = typeof app.name === 'string' && app.name ? app.name : posix.basename(String(app.script ?? app.exec ?? 'app')).replace(/\.[^.]+$/, '');
  return raw.toLowerCase().replace(/[^a-z0-9-]+/g, '-').replace(/^-+|-+$/g, '').slice(0, 63) || 'app';
}

function isPathLike(script: string): boolean {
  return script.includes('/') || /\.[a-z]+$/i.test(script);
}

/**
 * An env block with object, array and null values turned into their JSON text,
 * as PM2 does before it starts the process (a manifest env holds scalars only).
 */
function envBlock(env: Record<string, unknown>, label: string, block: string, result: ImportResult): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const [key, value] of Object.entries(env)) {
    if (value === undefined) continue;
    if (value === null || typeof value === 'object') {
      out[key] = JSON.stringify(value);
      result.warnings.push(`${label}: ${block}.${key} is not a string, number or boolean; written as its JSON text, which is what PM2 passes to the process`);
    } else {
      out[key] = value;
    }
  }
  return out;
}

function convertApp(app: Record<string, unknown>, opts: ImportOptions, known: Set<string>, result: ImportResult): TaskManifest | undefined {
  const name = taskNameOf(app);
  const label = `app "${String(app.name ?? name)}"`;
  if (typeof app.name === 'string' && app.name !== name) result.warnings.push(`${label}: renamed to "${name}" (task names are lowercase letters, digits and dashes)`);
  const script = app.script ?? app.exec;
  if (typeof script !== 'string' || !script) {
    result.errors.push(`${label}: "script" is missing; expected the path of the program to run`);
    return undefined;
  }
  const process: Record<string, unknown> = {};
  for (const [key, value] of Object.entries(app)) {
    if ((/^env_/.test(key) && value && typeof value === 'object') || key === 'exec') continue;
    if (DROPPED.has(key)) continue;
    if (!known.has(key) && !(key in PROCESS_ALIASES)) {
      result.warnings.push(`${label}: option "${key}" is not a PM2 app option pm2-gitops knows; dropped`);
      continue;
    }
    if (key === 'env' && value && typeof value === 'object' && !Array.isArray(value)) process[key] = envBlock(value as Record<string, unknown>, label, key, result);
    // PM2 reads a string count with parseInt, 0 (every CPU) when it is not a number; often it comes from process.env.
    else if (key === 'instances' && typeof value === 'string' && value !== 'max') process[key] = Number.parseInt(value, 10) || 0;
    else process[key] = value;
  }
  if (app.append_env_to_name === true) {
    result.warnings.push(`${label}: append_env_to_name: pm2 start --env <name> would name the app "${String(app.name ?? name)}-<name>"; every Environment names it "${name}"`);
  }
  process.script = script;
  const appCwd = typeof app.cwd === 'string' ? posix.resolve(opts.sourceDir, app.cwd) : opts.sourceDir;
  const cwd = posix.relative(opts.outDir, appCwd) || '.';
  process.cwd = cwd;
  if (posix.isAbsolute(script) && isPathLike(script)) {
    const rel = posix.relative(appCwd, script);
    if (!rel.startsWith('..')) process.script = rel;
    else if ([opts.sourceDir, opts.outDir].every((dir) => posix.relative(dir, script).startsWith('..'))) {
      result.warnings.push(`${label}: script "${script}" is outside the folder of the ecosystem file; render accepts only scripts inside the repository (copy it in, or name a command on PATH)`);
    }
  }
  return {
    apiVersion: API_VERSION,
    kind: 'Task',
    metadata: { name },
    spec: { type: app.autorestart === false ? 'job' : 'service', process: process as TaskManifest['spec']['process'] },
  };
}

/** `deploy.<name>.env` blocks: PM2 merges them into every app's env when started with `--env <name>`. */
function deployEnvs(config: unknown): Map<string, Record<string, unknown>> {
  const out = new Map<string, Record<string, unknown>>();
  const deploy = (config && typeof config === 'object' ? (config as Record<string, unknown>).deploy : undefined) as Record<string, unknown> | undefined;
  for (const [name, conf] of Object.entries(deploy && typeof deploy === 'object' ? deploy : {})) {
    const env = conf && typeof conf === 'object' ? (conf as Record<string, unknown>).env : undefined;
    if (env && typeof env === 'object' && !Array.isArray(env)) out.set(name, env as Record<string, unknown>);
  }
  return out;
}

/**
 * The env overlays of one app, by environment name, as `pm2 start --env <name>`
 * computes them: `deploy.<name>.env` over the app's env (PM2 merges it into the
 * app's own env object, so it wins over `env`), and `env_<name>` over both.
 */
function envOverlays(app: Record<string, unknown>, deploy: Map<string, Record<string, unknown>>): Map<string, Record<string, unknown>> {
  const names = new Set([...Object.keys(app).flatMap((k) => /^env_(.+)$/.exec(k)?.[1] ?? []), ...deploy.keys()]);
  const out = new Map<string, Record<string, unknown>>();
  for (const name of names) {
    const own = app[`env_${name}`];
    const env = { ...deploy.get(name), ...(own && typeof own === 'object' ? own as Record<string, unknown> : {}) };
    if (Object.keys(env).length) out.set(name, env);
  }
  return out;
}

function namespaceOf(apps: Array<Record<string, unknown>>, opts: ImportOptions, result: ImportResult): string {
  if (opts.namespace) return opts.namespace;
  const spaces = [...new Set(apps.map((a) => (typeof a.namespace === 'string' ? a.namespace : 'default')))];
  if (spaces.length > 1) result.errors.push(`apps use several namespaces (${spaces.join(', ')}); an Environment manages one namespace: split the file or pass --namespace`);
  return spaces[0] ?? 'default';
}

/** Converts an ecosystem configuration; `errors` is non-empty when nothing should be written. */
export function importEcosystem(config: unknown, opts: ImportOptions): ImportResult {
  const result: ImportResult = { tasks: [], environments: [], errors: [], warnings: [] };
  const apps = ecosystemApps(config);
  if (apps.length === 0 || apps.some((a) => !a || typeof a !== 'object' || Array.isArray(a))) {
    result.errors.push('expected an ecosystem with an "apps" list of app objects');
    return result;
  }
  const known = knownOptions();
  const deploy = deployEnvs(config);
  const namespace = namespaceOf(apps, opts, result);
  const overlays = new Map<string, Array<{ task: string; env: Record<string, unknown> }>>();
  for (const app of apps) {
    const task = convertApp(app, opts, known, result);
    if (!task) continue;
    if (result.tasks.some((t) => t.metadata.name === task.metadata.name)) {
      result.errors.push(`app "${String(app.name)}": a second app is named "${task.metadata.name}"; names must be unique`);
      continue;
    }
    result.tasks.push(task);
    for (const [envName, env] of envOverlays(app, deploy)) {
      const list = overlays.get(envName) ?? [];
      list.push({ task: task.metadata.name, env: envBlock(env, `app "${String(app.name ?? task.metadata.name)}"`, `env_${envName}`, result) });
      overlays.set(envName, list);
    }
  }
  const environment = (name: string, patches?: EnvironmentManifest['spec']['patches']): EnvironmentManifest => ({
    apiVersion: API_VERSION,
    kind: 'Environment',
    metadata: { name },
    spec: { resources: ['../../base'], namespace, ...(patches?.length ? { patches } : {}) },
  });
  result.environments.push(environment(opts.environment));
  for (const [envName, list] of [...overlays.entries()].sort(([a], [b]) => a.localeCompare(b))) {
    const name = envName.toLowerCase().replace(/[^a-z0-9-]+/g, '-');
    if (name === opts.environment) {
      result.errors.push(`env_${envName} would become an Environment named "${name}", the name of the default one; pass another --env`);
      continue;
    }
    result.environments.push(environment(name, list.map((o) => ({
      target: { name: o.task },
      merge: { spec: { process: { env: o.env } } },
    }))));
  }
  result.tasks.sort((a, b) => a.metadata.name.localeCompare(b.metadata.name));
  return result;
}
