/**
 * An environment's patches over its task documents (pure): which patches
 * select a task, the task document after them, its schema problems, and
 * which patch wrote what (to blame a problem on the patch that caused it).
 */
import type { EnvironmentManifest, PatchSpec, TaskManifest } from '../domain/manifest.js';
import { deepFreeze, isDeeplyFrozen } from '../manifest/values.js';
import { validateValue, type SchemaProblem } from '../validate/schema.js';
import { applyOverlayInPlace, matchesTarget, type PatchWrite } from './patches.js';

/** An environment's patches, indexed for matching: by target name, and those that select by labels only. */
export interface PatchIndex {
  patches: readonly PatchSpec[];
  byName: ReadonlyMap<string, readonly number[]>;
  byLabels: readonly number[];
}

/** One task document after the environment's patches. */
export interface PatchedTask {
  /** The document after every patch that selected it (the original when none did). */
  document: TaskManifest;
  /** Positions of the patches that selected this task, in order. */
  matched: readonly number[];
  /** A patch whose operation could not be applied: the document is left half patched and must not be rendered. */
  failure?: { patch: number; operation: number; message: string };
  /** Schema problems of the patched document. */
  problems: readonly SchemaProblem[];
}

const NONE: readonly never[] = Object.freeze([]);

const keptIndexes = new WeakMap<object, PatchIndex>();

/** Indexes the patches of an environment (kept while its document cannot change). */
export function indexPatches(env: EnvironmentManifest): PatchIndex {
  const frozen = isDeeplyFrozen(env);
  let index = frozen ? keptIndexes.get(env) : undefined;
  if (index) return index;
  const patches = env.spec?.patches ?? [];
  const byName = new Map<string, number[]>();
  const byLabels: number[] = [];
  for (let i = 0; i < patches.length; i++) {
    const name = patches[i]!.target?.name;
    if (name === undefined) byLabels.push(i);
    else {
      const list = byName.get(name);
      if (list) list.push(i); else byName.set(name, [i]);
    }
  }
  index = { patches, byName, byLabels };
  if (frozen) keptIndexes.set(env, index);
  return index;
}

function labelsOf(document: unknown): Record<string, string> | undefined {
  const labels = (document as { metadata?: { labels?: unknown } } | null)?.metadata?.labels;
  return labels && typeof labels === 'object' && !Array.isArray(labels) ? labels as Record<string, string> : undefined;
}

/**
 * Applies, in order, every patch that selects the task: by its ORIGINAL name
 * (a patch that renames a task does not change what later patches select) and
 * by its labels as the patches before have left them. The task is patched in
 * place, copying only the maps and lists a patch changes, the first time it
 * does, and validated once, after the last patch: many patches on one task
 * cost what they hold, not the task's size each.
 */
function applyAll(original: TaskManifest, index: PatchIndex, writes?: PatchWrite[]): PatchedTask | undefined {
  const name = original.metadata.name;
  const named = index.byName.get(name) ?? NONE;
  const labelled = index.byLabels;
  let working: unknown;
  let failure: PatchedTask['failure'];
  let matched: number[] | undefined;
  let owned: WeakSet<object> | undefined;
  let a = 0;
  let b = 0;
  while (a < named.length || b < labelled.length) {
    const i = b >= labelled.length || (a < named.length && named[a]! < labelled[b]!) ? named[a++]! : labelled[b++]!;
    const patch = index.patches[i]!;
    if (!matchesTarget(patch.target ?? {}, name, labelsOf(working ?? original))) continue;
    (matched ??= []).push(i);
    if (failure) continue; // still matched, so that it is not reported as selecting nothing
    if (working === undefined) {
      // A shallow copy: what the patches do not touch stays shared with the original (see Owned).
      working = { ...original };
      // Made only for a task a patch selects: most tasks of a render are selected by none.
      owned = new WeakSet([working as object]);
    }
    const outcome = applyOverlayInPlace(working, patch, `/spec/patches/${i}`, writes, owned);
    if (outcome.ok) working = outcome.document;
    else failure = { patch: i, operation: outcome.operation, message: outcome.message };
  }
  if (matched === undefined) return undefined;
  if (working === undefined) return { document: original, matched, problems: NONE };
  const problems = failure ? NONE : validateValue(working, 'Task');
  return { document: working as TaskManifest, matched, problems, ...(failure ? { failure } : {}) };
}

/**
 * Patched tasks of deeply frozen task documents under deeply frozen
 * environments (as the manifest loader keeps them): neither can change, so a
 * task is patched and validated once however often its environment is
 * rendered. Weak on both keys: results go when the document or the environment goes.
 */
const kept = new WeakMap<object, WeakMap<object, PatchedTask>>();

/** The task document `original` after the patches of `env` (see `applyAll`); undefined when no patch selects it. */
export function patchTask(original: TaskManifest, env: EnvironmentManifest, index: PatchIndex): PatchedTask | undefined {
  if (index.patches.length === 0) return undefined;
  if (!isDeeplyFrozen(original) || !isDeeplyFrozen(env)) return applyAll(original, index);
  let result = kept.get(original)?.get(env);
  if (result) return result;
  result = applyAll(original, index);
  // Only patched tasks are kept: matching alone costs less than keeping a result for every task.
  if (!result) return undefined;
  deepFreeze(result.document);
  let byEnv = kept.get(original);
  if (!byEnv) {
    byEnv = new WeakMap();
    kept.set(original, byEnv);
  }
  byEnv.set(env, result);
  return result;
}

/**
 * Who wrote a pointer of the task document `original` once patched: the place
 * in the Environment document of the latest write at the pointer or above it
 * (a whole map replaced), else of the latest write below it (a key added to
 * it); undefined when no patch touched it. Only asked when there is a
 * problem to report, so the writes are not kept with the patched document:
 * the patches are applied again, once, on the first question.
 */
export function blameOf(original: TaskManifest, index: PatchIndex): (pointer: string) => string | undefined {
  let writes: BlameIndex | undefined;
  return (pointer) => whoWrote(writes ??= indexWrites(original, index), pointer);
}

/** The writes of a task's patches, by pointer (the latest at each) and by the pointers above them. */
interface BlameIndex { writes: PatchWrite[]; at: Map<string, number>; below: Map<string, number> }

function indexWrites(original: TaskManifest, patches: PatchIndex): BlameIndex {
  const writes: PatchWrite[] = [];
  applyAll(original, patches, writes);
  const at = new Map<string, number>();
  const below = new Map<string, number>();
  for (let w = 0; w < writes.length; w++) {
    const pointer = writes[w]!.pointer;
    at.set(pointer, w);
    for (let cut = pointer.lastIndexOf('/'); cut > 0; cut = pointer.lastIndexOf('/', cut - 1)) below.set(pointer.slice(0, cut), w);
    if (pointer !== '') below.set('', w);
  }
  return { writes, at, below };
}

function whoWrote({ writes, at, below }: BlameIndex, pointer: string): string | undefined {
  let best = at.get(pointer) ?? -1;
  for (let cut = pointer.lastIndexOf('/'); cut >= 0; cut = cut === 0 ? -1 : pointer.lastIndexOf('/', cut - 1)) {
    best = Math.max(best, at.get(pointer.slice(0, cut)) ?? -1);
  }
  if (best >= 0) {
    const w = writes[best]!;
    return w.mirrors ? w.source + pointer.slice(w.pointer.length) : w.source;
  }
  const under = below.get(pointer);
  return under === undefined ? undefined : writes[under]!.source;
}
