/**
 * read (I/O, PM2): the live tasks of a namespace, and the desired tasks
 * resolved through PM2's own option handling so both sides compare exactly.
 */
import { availableParallelism } from 'node:os';
import { resolve } from 'node:path';
import type { Pm2Client } from '../adapters/pm2.js';
import type { Diagnostic } from '../domain/diagnostic.js';
import { ValidationError } from '../domain/errors.js';
import type { ComparableProcess, LiveTask, ManagedMarker } from '../domain/live.js';
import type { DesiredState, DesiredTask } from '../domain/manifest.js';
import { digest } from '../report/canonical.js';
import { instanceCount, normalizeAppConfig, normalizeLive } from './normalize.js';

/** A desired task with the PM2 app configuration that starts it and its comparable form. */
export interface ResolvedTask {
  task: DesiredTask;
  /** PM2-resolved app configuration, marker included: what `create` and `restart` send. */
  app: Record<string, unknown>;
  comparable: ComparableProcess;
  marker: ManagedMarker;
}

export interface ResolveContext {
  /** Absolute checkout the rendered paths are relative to. */
  repoDir: string;
  revision: string;
  cpus?: number;
}

/** The PM2 app object (before PM2's resolution) for a desired task. */
export function appConfigOf(task: DesiredTask, state: DesiredState, repoDir: string): Record<string, unknown> {
  const { cwd, ...options } = task.process;
  return { ...options, name: task.name, namespace: state.namespace, cwd: resolve(repoDir, typeof cwd === 'string' ? cwd : '.') };
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

function resolveOne(pm2: Pm2Client, task: DesiredTask, app: Record<string, unknown>, cpus: number): Resolution {
  const resolved = pm2.resolveApp(app);
  const envKeys = Object.keys(task.process.env ?? {}).sort();
  const comparable = normalizeAppConfig(resolved, { envKeys, instances: instanceCount(resolved.instances, cpus) });
  return { resolved, comparable, specDigest: digest(comparable).slice(0, 16), envKeys };
}

/** Resolves every desired task; throws ValidationError naming each task PM2 rejects. */
export function resolveDesired(state: DesiredState, pm2: Pm2Client, ctx: ResolveContext): ResolvedTask[] {
  const cpus = ctx.cpus ?? availableParallelism();
  const byEnvironment = resolutions.get(pm2) ?? new Map<string, Map<string, Resolution>>();
  resolutions.set(pm2, byEnvironment);
  const previous = byEnvironment.get(state.environment);
  const current = new Map<string, Resolution>();
  const problems: Diagnostic[] = [];
  const out: ResolvedTask[] = [];
  for (const task of state.tasks) {
    const app = appConfigOf(task, state, ctx.repoDir);
    const key = `${cpus}\0${JSON.stringify(app)}`;
    let r = previous?.get(key) ?? current.get(key);
    if (!r) {
      try {
        r = resolveOne(pm2, task, app, cpus);
      } catch (err) {
        problems.push({ file: task.file, pointer: '/spec/process', message: `PM2 rejects task ${task.name}: ${(err as Error).message}` });
        continue;
      }
    }
    current.set(key, r);
    const marker: ManagedMarker = { environment: state.environment, task: task.name, revision: ctx.revision, envKeys: r.envKeys, specDigest: r.specDigest };
    out.push({ task, app: { ...r.resolved, pm2_gitops: marker }, comparable: r.comparable, marker });
  }
  byEnvironment.set(state.environment, current);
  if (problems.length) throw new ValidationError(`environment ${state.environment} cannot be started by PM2`, problems);
  return out;
}

/** Reads the live tasks of the environment's namespace. */
export async function readLive(pm2: Pm2Client, state: Pick<DesiredState, 'namespace' | 'tasks'>): Promise<LiveTask[]> {
  const envKeys = new Map(state.tasks.map((t) => [t.name, Object.keys(t.process.env ?? {})]));
  return normalizeLive(await pm2.list(), state.namespace, (name) => envKeys.get(name) ?? []);
}
