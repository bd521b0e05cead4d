/**
 * read (I/O, PM2): the live tasks of a namespace, and the desired tasks
 * resolved through PM2's own option handling so both sides compare exactly.
 */
import { availableParallelism } from 'node:os';
import { mkdirSync } from 'node:fs';
import { dirname, isAbsolute, resolve } from 'node:path';
import type { Pm2Client } from '../adapters/pm2.js';
import type { Diagnostic } from '../domain/diagnostic.js';
import { ValidationError } from '../domain/errors.js';
import { CODE_KEY, MARKER_KEY, type ComparableProcess, type LiveTask, type ManagedMarker } from '../domain/live.js';
import { pm2NameOf, type DesiredState, type DesiredTask } from '../domain/manifest.js';
import { movePaths } from '../delivery/deliver.js';
import { digest } from '../report/canonical.js';
import { formatMarker, instanceCount, normalizeAppConfig, normalizeLiveOf } from './normalize.js';

/** A desired task with the PM2 app configuration that starts it and its comparable form. */
export interface ResolvedTask {
  task: DesiredTask;
  /** PM2-resolved app configuration, marker included: what `create` and `restart` send. */
  app: Record<string, unknown>;
  comparable: ComparableProcess;
  marker: ManagedMarker;
}

/**
 * Where a task's delivered code runs from (DESIGN section 9): PM2 resolves
 * the app against `resolveRoot` (a folder where its script exists: the build,
 * or a stand-in), and the resolved paths are then moved under `link`, the
 * stable path the process is started from.
 */
export interface DeliveredCode {
  /** Absolute cwd to resolve the app with (inside `resolveRoot`). */
  cwd: string;
  resolveRoot: string;
  link: string;
  codeDigest: string;
  /**
   * Where relative log and pid files go (the task's cwd inside its files folder
   * under the state dir): builds never change and old ones are removed, so
   * what a process writes must live elsewhere, at a path that stays the same.
   */
  filesCwd: string;
}

/** Options naming files a process writes, relative to its cwd when not absolute. */
const WRITTEN_FILES = ['out_file', 'error_file', 'log_file', 'pid_file'] as const;

/** The app with its relative log and pid files moved into the task's files folder (created). */
function withFilesOutsideBuild(app: Record<string, unknown>, filesCwd: string): Record<string, unknown> {
  const out = { ...app };
  for (const key of WRITTEN_FILES) {
    const value = out[key];
    if (typeof value !== 'string' || value === '' || isAbsolute(value) || value.startsWith('~') || value === 'NULL') continue;
    const file = resolve(filesCwd, value);
    mkdirSync(dirname(file), { recursive: true });
    out[key] = file;
  }
  return out;
}

export interface ResolveContext {
  /** Absolute checkout the rendered paths are relative to (when a task has no delivered code). */
  repoDir: string;
  revision: string;
  cpus?: number;
  /** Delivered code by task name: the process runs from there, and its digest is compared. */
  code?: ReadonlyMap<string, DeliveredCode>;
  /** Which kept resolutions this call replaces (default: the environment's). */
  cacheKey?: string;
}

/**
 * The PM2 app object (before PM2's resolution) for a desired task; `cwd`
 * overrides the rendered one. A task's `env_<name>` blocks stay out: PM2 reads
 * them only from a file, when `pm2 start FILE --env <name>` picks one, never
 * from a running process, where a cluster worker would see each one as
 * "[object Object]" (PM2 copies every pm2_env key into its env). `export`
 * keeps them in the file it writes, where PM2 does read them.
 */
export function appConfigOf(task: DesiredTask, state: DesiredState, repoDir: string, cwd?: string): Record<string, unknown> {
  const { cwd: written, ...options } = task.process as Record<string, unknown>;
  for (const key of Object.keys(options)) if (key.startsWith('env_')) delete options[key];
  return { ...options, name: pm2NameOf(task), namespace: state.namespace, cwd: cwd ?? resolve(repoDir, typeof written === 'string' ? written : '.') };
}

interface Resolution { resolved: Record<string, unknown>; comparable: ComparableProcess; specDigest: string; envKeys: string[] }

/**
 * PM2's option handling costs about a millisecond per app (it copies the
 * environment, looks up the interpreter, checks its schema), so resolutions are
 * kept per client and environment for the app configurations of the last call:
 * a no-op resync resolves nothing again, and the entries of tasks that changed
 * or left are dropped with the next call.
 */
const resolutions = new WeakMap<Pm2Client, Map<string, Map<string, Resolution>>>();

/**
 * The resolved app with PWD set to the directory the process runs in (PM2's
 * absolute pm_cwd: the task's cwd, under its code link when delivered). The
 * `pm2` CLI leaves PWD as the raw `cwd` option of the file (`./api`), its own
 * folder for an app without one, or the previous app's cwd (PM2 sets its own
 * process.env.PWD per app and copies it on); a relative or stale PWD misleads
 * programs that read it, so pm2-gitops does not copy that. A PWD the task's
 * env declares is kept. Not compared (only declared env keys are), so
 * processes started by `pm2 start` are adopted whatever their PWD.
 */
function withPwd(resolved: Record<string, unknown>, task: DesiredTask): Record<string, unknown> {
  const declared = task.process.env && Object.hasOwn(task.process.env, 'PWD');
  if (declared || typeof resolved.pm_cwd !== 'string') return resolved;
  return { ...resolved, env: { ...(resolved.env as Record<string, unknown>), PWD: resolved.pm_cwd } };
}

function resolveOne(pm2: Pm2Client, task: DesiredTask, app: Record<string, unknown>, cpus: number, code: DeliveredCode | undefined): Resolution {
  const resolved = withPwd(code ? movePaths(pm2.resolveApp(app), code.resolveRoot, code.link) : pm2.resolveApp(app), task);
  const codeDigest = code?.codeDigest;
  const envKeys = Object.keys(task.process.env ?? {}).sort();
  const comparable = normalizeAppConfig(resolved, { envKeys, instances: instanceCount(resolved.instances, cpus) });
  if (codeDigest) comparable[CODE_KEY] = codeDigest;
  return { resolved, comparable, specDigest: digest(comparable).slice(0, 16), envKeys };
}

/** Resolves every desired task; throws ValidationError naming each task PM2 rejects. */
export function resolveDesired(state: DesiredState, pm2: Pm2Client, ctx: ResolveContext): ResolvedTask[] {
  const cpus = ctx.cpus ?? availableParallelism();
  const byEnvironment = resolutions.get(pm2) ?? new Map<string, Map<string, Resolution>>();
  resolutions.set(pm2, byEnvironment);
  const cacheKey = ctx.cacheKey ?? state.environment;
  const previous = byEnvironment.get(cacheKey);
  const current = new Map<string, Resolution>();
  const problems: Diagnostic[] = [];
  const out: ResolvedTask[] = [];
  for (const task of state.tasks) {
    const code = ctx.code?.get(task.name);
    const app = code ? withFilesOutsideBuild(appConfigOf(task, state, ctx.repoDir, code.cwd), code.filesCwd) : appConfigOf(task, state, ctx.repoDir);
    const key = `${cpus}\0${code?.codeDigest ?? ''}\0${JSON.stringify(app)}`;
    let r = previous?.get(key) ?? current.get(key);
    if (!r) {
      try {
        r = resolveOne(pm2, task, app, cpus, code);
      } catch (err) {
        problems.push({ file: task.file, pointer: '/spec/process', message: `PM2 rejects task ${task.name}: ${(err as Error).message}` });
        continue;
      }
    }
    current.set(key, r);
    const marker: ManagedMarker = { environment: state.environment, task: task.name, revision: ctx.revision, envKeys: r.envKeys, specDigest: r.specDigest, ...(code ? { codeDigest: code.codeDigest } : {}) };
    out.push({ task, app: { ...r.resolved, [MARKER_KEY]: formatMarker(marker) }, comparable: r.comparable, marker });
  }
  byEnvironment.set(cacheKey, current);
  if (problems.length) throw new ValidationError(`environment ${state.environment} cannot be started by PM2`, problems);
  return out;
}

/** Reads the live tasks of the environment's namespace, each desired task's processes found by its PM2 name. */
export async function readLive(pm2: Pm2Client, state: Pick<DesiredState, 'namespace' | 'tasks'>): Promise<LiveTask[]> {
  return normalizeLiveOf(await pm2.list(), state);
}
