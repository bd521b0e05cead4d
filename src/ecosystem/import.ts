/**
 * import (pure): a parsed PM2 ecosystem configuration → Task manifests and
 * Environments (one default, plus one per `env_<name>` block or deploy
 * target with an env or a build). A target's `post-deploy` install and build
 * commands become `spec.build`: in the base when every target has the same,
 * else in each target's Environment.
 */
import { posix } from 'node:path';
import { API_VERSION, type BuildSpec, type EnvironmentManifest, type TaskManifest } from '../domain/manifest.js';
import { deployPath, readDeploy, sharedBuild } from './deploy.js';
import { readSchema } from '../validate/schema.js';
import { PROCESS_ALIASES } from '../render/process.js';
import { isInlineCommand } from '../domain/script.js';
import { environmentNameOf } from '../domain/environment-name.js';
import { canonicalOptions, scriptOf, type CanonicalOptions } from './aliases.js';

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
  /** Options that were dropped or renamed, each naming the app; deploy options and post-deploy steps that were not carried over. */
  warnings: string[];
  /** What was changed on purpose, for the reader to know (a reload step the controller does itself, an install command kept as written). */
  notes: string[];
}

/** Options the manifests carry elsewhere (name, namespace) or PM2 fills in itself: left out without a word. */
const DROPPED = new Set(['name', 'namespace', 'username', 'io', 'write']);

/** PM2 options a Task has no place for, each with why. */
const NOT_CARRIED: Readonly<Record<string, string>> = {
  name_prefix: 'an Environment names its apps (namePrefix)',
  install_url: 'it installs a module from a URL before the start, which is no part of a Task',
  execute_command: 'a Task runs its script in fork or cluster mode as exec_mode says',
};

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

/**
 * The name PM2 gives an app: its own, else its script's (`cmd`, `command`)
 * base name up to the last dot (PM2's Common.renderApplicationName).
 */
export function pm2AppName(app: Record<string, unknown>): string {
  if (typeof app.name === 'string' && app.name) return app.name;
  const base = posix.basename(String(scriptOf(app) ?? 'app'));
  const dot = base.lastIndexOf('.');
  return dot > 0 ? base.slice(0, dot) : base;
}

/** A valid Task name for the app's PM2 name (lowercase letters, digits and dashes). */
export function taskNameOf(app: Record<string, unknown>): string {
  return pm2AppName(app).toLowerCase().replace(/[^a-z0-9-]+/g, '-').replace(/^-+|-+$/g, '').slice(0, 63) || 'app';
}

/** What metadata.pm2Name accepts (schemas/task.schema.json). */
const PM2_NAME = /^[^\u0000-\u001f\u007f]{1,200}$/;

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

/** Notes and warnings about options written under several keys or under a name pm2-gitops does not read. */
function reportAliases(label: string, canonical: CanonicalOptions, result: ImportResult): void {
  for (const c of canonical.conflicts) {
    result.warnings.push(`${label}: ${[c.kept, ...c.dropped].map((k) => `"${k}"`).join(' and ')} are one PM2 option (${c.option}); kept "${c.kept}", the one PM2 uses, dropped ${c.dropped.map((k) => `"${k}"`).join(', ')}`);
  }
  if (canonical.renamed.length) result.notes.push(`${label}: options written under PM2's own names: ${canonical.renamed.map(([key, option]) => `${key} → ${option}`).join(', ')}`);
}

/**
 * An inline command (a script with a space) runs through `bash -c`: PM2 puts
 * `-c script` in place of the args and gives bash to the interpreter, so args
 * never reached the program and an interpreter other than none could not
 * have run it; both are dropped (render refuses them), with a warning.
 */
function inlineCommand(process: Record<string, unknown>, label: string, result: ImportResult): void {
  const why = `PM2 runs script "${String(process.script)}" (it has a space) through bash -c`;
  if (process.args !== undefined) {
    delete process.args;
    result.warnings.push(`${label}: args dropped: ${why} and passes it no args; write the arguments into the command`);
  }
  for (const key of ['interpreter', 'exec_interpreter', 'execInterpreter']) {
    if (process[key] === undefined || process[key] === 'none') continue;
    result.warnings.push(`${label}: ${key} "${String(process[key])}" dropped: ${why}, which no interpreter runs`);
    delete process[key];
  }
}

/**
 * The task's cwd, relative to the manifest folder; a cwd outside both the
 * ecosystem file's folder and the manifest folder stays absolute, as written,
 * with a warning: render takes it only under --allow-root.
 */
function cwdOf(appCwd: string, app: Record<string, unknown>, label: string, opts: ImportOptions, result: ImportResult): string {
  const outside = [opts.sourceDir, opts.outDir].every((dir) => posix.relative(dir, appCwd).startsWith('..'));
  if (!outside || typeof app.cwd !== 'string') return posix.relative(opts.outDir, appCwd) || '.';
  result.warnings.push(`${label}: cwd "${app.cwd}" is outside the folder of the ecosystem file; render refuses it unless you pass --allow-root ${appCwd} (its code is then the operator's, not delivered from git)`);
  return appCwd;
}

function convertApp(app: Record<string, unknown>, opts: ImportOptions, known: Set<string>, result: ImportResult): TaskManifest | undefined {
  const name = taskNameOf(app);
  const pm2Name = pm2AppName(app);
  const label = `app "${String(app.name ?? pm2Name)}"`;
  if (!PM2_NAME.test(pm2Name)) {
    result.errors.push(`${label}: the name has control characters or more than 200 characters; pm2-gitops cannot keep it as the PM2 name: rename the app`);
    return undefined;
  }
  if (pm2Name !== name) result.notes.push(`${label}: task "${name}" (task names are lowercase letters, digits and dashes); its processes keep their PM2 name (metadata.pm2Name)`);
  const script = scriptOf(app);
  if (typeof script !== 'string' || !script) {
    result.errors.push(`${label}: "script" is missing; expected the path of the program to run`);
    return undefined;
  }
  const canonical = canonicalOptions(app);
  reportAliases(label, canonical, result);
  const process: Record<string, unknown> = {};
  for (const [key, value] of Object.entries(canonical.options)) {
    if (/^env_/.test(key) && value && typeof value === 'object') continue;
    if (DROPPED.has(key)) continue;
    if (key in NOT_CARRIED) {
      result.warnings.push(`${label}: option "${key}" not carried over: ${NOT_CARRIED[key]}`);
      continue;
    }
    if (!known.has(key) && !(key in PROCESS_ALIASES)) {
      result.warnings.push(`${label}: option "${key}" is not a PM2 app option pm2-gitops knows; dropped`);
      continue;
    }
    if (key === 'env' && value && typeof value === 'object' && !Array.isArray(value)) process[key] = envBlock(value as Record<string, unknown>, label, key, result);
    // PM2 reads a string count with parseInt, 0 (every CPU) when it is not a number; often it comes from process.env.
    else if (key === 'instances' && typeof value === 'string' && value !== 'max') process[key] = Number.parseInt(value, 10) || 0;
    else process[key] = value;
  }
  process.script = script;
  if (isInlineCommand(script)) inlineCommand(process, label, result);
  const appCwd = typeof app.cwd === 'string' ? posix.resolve(opts.sourceDir, app.cwd) : opts.sourceDir;
  process.cwd = cwdOf(appCwd, app, label, opts, result);
  if (posix.isAbsolute(script) && isPathLike(script) && !isInlineCommand(script)) {
    const rel = posix.relative(appCwd, script);
    if (!rel.startsWith('..')) process.script = rel;
    else if ([opts.sourceDir, opts.outDir].every((dir) => posix.relative(dir, script).startsWith('..'))) {
      result.warnings.push(`${label}: script "${script}" is outside the folder of the ecosystem file; render accepts only scripts inside the repository (copy it in, name a command on PATH, or pass --allow-root ${posix.dirname(script)})`);
    }
  }
  return {
    apiVersion: API_VERSION,
    kind: 'Task',
    metadata: { name, ...(pm2Name !== name ? { pm2Name } : {}) },
    spec: { type: app.autorestart === false ? 'job' : 'service', process: process as TaskManifest['spec']['process'] },
  };
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

/** One task's part of an Environment: its env overlay, its build, or both. */
interface Overlay { task: string; env?: Record<string, unknown>; build?: BuildSpec; pm2Name?: string }

function addOverlay(overlays: Map<string, Overlay[]>, envName: string, part: Overlay): void {
  const list = overlays.get(envName) ?? [];
  const same = list.find((o) => o.task === part.task);
  if (same) Object.assign(same, part.env ? { env: part.env } : {}, part.build ? { build: part.build } : {}, part.pm2Name ? { pm2Name: part.pm2Name } : {});
  else list.push(part);
  overlays.set(envName, list);
}

/** The merge patch of one task's part of an Environment. */
function overlayMerge(o: Overlay): Record<string, unknown> {
  const spec = { ...(o.env ? { process: { env: o.env } } : {}), ...(o.build ? { build: o.build } : {}) };
  return { ...(o.pm2Name ? { metadata: { pm2Name: o.pm2Name } } : {}), ...(Object.keys(spec).length ? { spec } : {}) };
}

/**
 * `append_env_to_name`: `pm2 start --env <name>` names the app
 * "<name of the app>-<name>", so each Environment that stands for such a
 * `--env` gives the task that PM2 name; the default Environment (no --env)
 * keeps the app's own.
 */
function placeEnvNames(appended: ReadonlyArray<{ task: TaskManifest; label: string }>, overlays: Map<string, Overlay[]>, result: ImportResult): void {
  for (const { task, label } of appended) {
    const base = task.metadata.pm2Name ?? task.metadata.name;
    const envNames = [...overlays.keys()].sort();
    for (const envName of envNames) addOverlay(overlays, envName, { task: task.metadata.name, pm2Name: `${base}-${envName}` });
    if (envNames.length) result.notes.push(`${label}: append_env_to_name: named as pm2 start --env <name> names it in the Environment of each --env (${envNames.map((e) => `"${base}-${e}"`).join(', ')}), "${base}" in the default one`);
  }
}

/**
 * Where the post-deploy builds go for one task: the task's spec.build when
 * every deploy target has the same, else its part of each target's
 * Environment. post-deploy ran in the folder of the ecosystem file, the build
 * runs in the task's cwd: a task with another cwd gets none, with a warning.
 */
function placeBuilds(task: TaskManifest, label: string, opts: ImportOptions, builds: ReadonlyMap<string, BuildSpec | undefined>, overlays: Map<string, Overlay[]>, result: ImportResult): void {
  const targets = [...builds].filter(([, b]) => b !== undefined).map(([name]) => name);
  if (!targets.length) return;
  const cwd = posix.relative(opts.sourceDir, posix.resolve(opts.outDir, String(task.spec.process.cwd)));
  if (cwd !== '') {
    const where = targets.map((t) => deployPath(t, 'post-deploy')).join(', ');
    result.warnings.push(`${label}: the build of ${where} was not carried over to this task: post-deploy ran in the folder of the ecosystem file, spec.build runs in the task's cwd (${cwd}); set spec.build by hand`);
    return;
  }
  const shared = sharedBuild(builds);
  if (shared) { task.spec.build = structuredClone(shared); return; }
  for (const target of targets) addOverlay(overlays, target, { task: task.metadata.name, build: structuredClone(builds.get(target)!) });
}

/**
 * Whether the task can join the imported ones: its PM2 name is not taken, and
 * its task name is not either, or is made free with a number (`api` and `API`
 * are two apps to PM2 and one task name: the second becomes `api-2`, its PM2
 * name kept).
 */
function nameUniquely(task: TaskManifest, result: ImportResult): boolean {
  const pm2Name = task.metadata.pm2Name ?? task.metadata.name;
  if (result.tasks.some((t) => (t.metadata.pm2Name ?? t.metadata.name) === pm2Name)) return false;
  const taken = (name: string): boolean => result.tasks.some((t) => t.metadata.name === name);
  if (!taken(task.metadata.name)) return true;
  const base = task.metadata.name.slice(0, 60);
  let n = 2;
  while (taken(`${base}-${n}`)) n++;
  result.notes.push(`app "${pm2Name}": task "${base}-${n}", as another app's task is named "${task.metadata.name}"`);
  task.metadata = { ...task.metadata, name: `${base}-${n}`, pm2Name };
  return true;
}

function namespaceOf(apps: Array<Record<string, unknown>>, opts: ImportOptions, result: ImportResult): string {
  if (opts.namespace) return opts.namespace;
  const spaces = [...new Set(apps.map((a) => (typeof a.namespace === 'string' ? a.namespace : 'default')))];
  if (spaces.length > 1) result.errors.push(`apps use several namespaces (${spaces.join(', ')}); an Environment manages one namespace: split the file or pass --namespace`);
  return spaces[0] ?? 'default';
}

/** Converts an ecosystem configuration; `errors` is non-empty when nothing should be written. */
export function importEcosystem(config: unknown, opts: ImportOptions): ImportResult {
  const result: ImportResult = { tasks: [], environments: [], errors: [], warnings: [], notes: [] };
  const apps = ecosystemApps(config);
  if (apps.length === 0 || apps.some((a) => !a || typeof a !== 'object' || Array.isArray(a))) {
    result.errors.push('expected an ecosystem with an "apps" list of app objects');
    return result;
  }
  const known = knownOptions();
  const { envs: deploy, builds, notes, warnings } = readDeploy(config);
  result.notes.push(...notes);
  result.warnings.push(...warnings);
  const namespace = namespaceOf(apps, opts, result);
  const overlays = new Map<string, Overlay[]>();
  const appended: Array<{ task: TaskManifest; label: string }> = [];
  for (const app of apps) {
    const task = convertApp(app, opts, known, result);
    if (!task) continue;
    if (!nameUniquely(task, result)) {
      result.errors.push(`app "${String(app.name ?? pm2AppName(app))}": a second app has this name in PM2; names must be unique`);
      continue;
    }
    result.tasks.push(task);
    const label = `app "${String(app.name ?? pm2AppName(app))}"`;
    if (app.append_env_to_name === true) appended.push({ task, label });
    for (const [envName, env] of envOverlays(app, deploy)) {
      addOverlay(overlays, envName, { task: task.metadata.name, env: envBlock(env, label, `env_${envName}`, result) });
    }
    placeBuilds(task, label, opts, builds, overlays, result);
  }
  placeEnvNames(appended, overlays, result);
  const environment = (name: string, patches?: EnvironmentManifest['spec']['patches']): EnvironmentManifest => ({
    apiVersion: API_VERSION,
    kind: 'Environment',
    metadata: { name },
    spec: { resources: ['../../base'], namespace, ...(patches?.length ? { patches } : {}) },
  });
  result.environments.push(environment(opts.environment));
  const named = new Map<string, string>();
  for (const [envName, list] of [...overlays.entries()].sort(([a], [b]) => a.localeCompare(b))) {
    const name = environmentNameOf(envName);
    const source = list.some((o) => o.env) ? `env_${envName}` : deployPath(envName, 'post-deploy');
    if (name === opts.environment) {
      result.errors.push(`${source} would become an Environment named "${name}", the name of the default one; pass another --env`);
      continue;
    }
    const other = named.get(name);
    if (other !== undefined) {
      result.errors.push(`${other} and ${source} would both become the Environment "${name}"; rename one of them`);
      continue;
    }
    named.set(name, source);
    result.environments.push(environment(name, list.map((o) => ({
      target: { name: o.task },
      merge: overlayMerge(o),
    }))));
  }
  result.tasks.sort((a, b) => a.metadata.name.localeCompare(b.metadata.name));
  return result;
}
