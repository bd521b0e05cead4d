/**
 * Delivery for one reconcile (I/O): the rendered tasks' code → prepared builds
 * and the paths their processes run from. Before PM2 resolves an app (which
 * needs its script to exist), each task's build is prepared (apply) or only
 * looked up (plan); the app is resolved against the build, or against a
 * stand-in holding just the script's name when there is no build yet, and its
 * paths are then rewritten to the task's stable link.
 */
import { closeSync, mkdirSync, openSync } from 'node:fs';
import { dirname, join, posix, resolve } from 'node:path';
import type { DesiredState, DesiredTask } from '../domain/manifest.js';
import { buildDir, linkPath } from './layout.js';
import { hasBuild, prepareBuild } from './prepare.js';
import type { BuildEvent, BuildFailure, CodeSnapshot, CodeTask, TaskCode } from './types.js';

/** The code of a rendered task, as the delivery stage reads it. */
export function codeTaskOf(task: DesiredTask): CodeTask {
  return {
    name: task.name,
    cwd: typeof task.process.cwd === 'string' ? task.process.cwd : '.',
    cwdDeclared: task.cwdDeclared === true,
    script: task.process.script,
    ...(task.source ? { source: task.source } : {}),
    ...(task.build ? { build: task.build } : {}),
    file: task.file,
  };
}

/** Where one task's processes run from, and what PM2 resolves its app against. */
export interface TaskDelivery {
  code: TaskCode;
  /** The stable link (`links/<namespace>/<task>`): the root of the paths the process is given. */
  link: string;
  /** An existing folder with the task's script at the same relative place: the build, or a stand-in. */
  resolveRoot: string;
  /** Whether a complete build of the digest exists (prepared now or before). */
  built: boolean;
  /** Set when preparing the build failed: the task's processes must not be touched. */
  failure?: BuildFailure;
  /** Whether an existing build was used as it was (no step ran). */
  reused?: boolean;
}

export interface DeliverInput {
  /** Root of the build store (`--state-dir`). */
  stateDir: string;
  state: DesiredState;
  snapshot: CodeSnapshot;
  /** true: prepare every missing build (apply); false: only look builds up (plan, diff). */
  build: boolean;
  concurrency?: number;
  revision?: string;
  retryFailed?: boolean;
  onProgress?: (event: BuildEvent) => void;
}

/**
 * A folder holding an empty file at the script's place, so that PM2 can
 * resolve an app whose build does not exist yet (a plan), or failed.
 */
function standIn(stateDir: string, code: TaskCode): string {
  const root = join(stateDir, 'stand-ins', code.task, code.codeDigest);
  const script = code.program ? undefined : join(root, code.cwd, code.script);
  mkdirSync(join(root, code.cwd), { recursive: true });
  if (script) {
    mkdirSync(dirname(script), { recursive: true });
    closeSync(openSync(script, 'a'));
  }
  return root;
}

async function inParallel<T>(items: readonly T[], limit: number, work: (item: T) => Promise<void>): Promise<void> {
  let next = 0;
  const runners = Array.from({ length: Math.max(1, Math.min(limit, items.length)) }, async () => {
    while (next < items.length) await work(items[next++]!);
  });
  await Promise.all(runners);
}

/**
 * Prepares (or looks up) the build of every task delivered from the
 * repository; tasks whose code lies under an allowed root are left out (they
 * run from their own paths). Build failures are returned per task, never thrown.
 */
export async function deliver(input: DeliverInput): Promise<Map<string, TaskDelivery>> {
  const out = new Map<string, TaskDelivery>();
  const byName = new Map(input.state.tasks.map((t) => [t.name, t]));
  const codes = input.snapshot.tasks.filter((c) => !(c.source.kind === 'none' && c.source.reason === 'external'));
  await inParallel(codes, input.concurrency ?? 8, async (code) => {
    const link = linkPath(input.stateDir, input.state.namespace, code.task);
    const d: TaskDelivery = { code, link, resolveRoot: '', built: hasBuild(input.stateDir, code.task, code.codeDigest) };
    if (input.build) {
      const result = await prepareBuild({
        stateDir: input.stateDir,
        code,
        gitDir: input.snapshot.gitDir,
        env: (byName.get(code.task)?.process.env ?? {}) as Record<string, string>,
        ...(input.revision ? { revision: input.revision } : {}),
        ...(input.retryFailed ? { retryFailed: true } : {}),
        ...(input.onProgress ? { onProgress: input.onProgress } : {}),
      });
      if (result.kind === 'ready') Object.assign(d, { built: true, reused: result.reused });
      else d.failure = result.failure;
    }
    d.resolveRoot = d.built ? buildDir(input.stateDir, code.task, code.codeDigest) : standIn(input.stateDir, code);
    out.set(code.task, d);
  });
  return out;
}

/** The task's files folder (logs and pid files it writes, by relative path): `files/<namespace>/<task>/<cwd>`. */
export function filesCwd(stateDir: string, namespace: string, d: TaskDelivery): string {
  const root = join(stateDir, 'files', namespace, d.code.task);
  return d.code.cwd === '.' ? root : resolve(root, ...d.code.cwd.split(posix.sep));
}

/** The absolute cwd a delivered task's app is resolved with (inside `resolveRoot`). */
export function resolveCwd(d: TaskDelivery): string {
  return d.code.cwd === '.' ? d.resolveRoot : resolve(d.resolveRoot, ...d.code.cwd.split(posix.sep));
}

/**
 * `value` with every path under `from` moved under `to`: PM2's resolved app
 * names its cwd, script and PWD by the folder it was resolved against; the
 * process is started from the stable link instead.
 */
export function movePaths<T>(value: T, from: string, to: string): T {
  if (typeof value === 'string') {
    return (value === from ? to : value.startsWith(`${from}/`) ? to + value.slice(from.length) : value) as T;
  }
  if (Array.isArray(value)) return value.map((v) => movePaths(v, from, to)) as T;
  if (value && typeof value === 'object') {
    const out: Record<string, unknown> = {};
    for (const [k, v] of Object.entries(value)) out[k] = movePaths(v, from, to);
    return out as T;
  }
  return value;
}
