/**
 * Overlay patches (pure): RFC 6902 JSON Patch and RFC 7396 merge patch on a
 * Task document. The working functions change a private copy in place (so
 * that many patches on one task cost what the patches hold, not the task's
 * size each time) and record where they wrote, so that a problem in the
 * result can be blamed on the patch that put the value there.
 */
import fastJsonPatch from 'fast-json-patch';
import type { Operation } from 'fast-json-patch';
import { describeValue } from '../domain/diagnostic.js';
import type { PatchSpec, PatchTarget } from '../domain/manifest.js';
import { pointerOf } from '../manifest/parse.js';
import { copyValue } from '../manifest/values.js';

const { applyOperation, getValueByPointer } = fastJsonPatch;

/** Whether a patch target selects a task of this original name and labels. */
export function matchesTarget(target: PatchTarget, name: string, labels: Record<string, string> | undefined): boolean {
  if (target.name !== undefined && target.name !== name) return false;
  // Called for every (patch, task) pair: iterate without allocating entry arrays.
  const wanted = target.labels;
  for (const key in wanted) {
    if (Object.hasOwn(wanted, key) && labels?.[key] !== wanted[key]) return false;
  }
  return true;
}

/**
 * One place a patch wrote in a task document: `pointer` in the document, and
 * `source`, the pointer (inside the Environment document) of what was written.
 * When `mirrors` is set, what lies below `pointer` lies below `source` at the
 * same relative path (a merge patch, or an operation's value).
 */
export interface PatchWrite { pointer: string; source: string; mirrors: boolean }

function isMap(value: unknown): value is Record<string, unknown> {
  return value !== null && typeof value === 'object' && !Array.isArray(value);
}

/** Sets an own property, also for a YAML key "__proto__", which must never become a prototype. */
function setOwn(target: Record<string, unknown>, key: string, value: unknown): void {
  if (key === '__proto__') Object.defineProperty(target, key, { value, enumerable: true, writable: true, configurable: true });
  else target[key] = value;
}

/**
 * The containers a patch may change in place. A working document shares what
 * no patch touched with the (frozen, shared) document it was made from: a
 * container not in `owned` is copied, shallowly, the first time a patch
 * changes something inside it. Without `owned`, the caller owns everything.
 */
export type Owned = WeakSet<object> | undefined;

/** `parent[key]` as a container the caller may change: copied first when it is not owned. */
function ownChild(parent: Record<string, unknown> | unknown[], key: string, owned: Owned): unknown {
  const child = (parent as Record<string, unknown>)[key];
  if (!owned || child === null || typeof child !== 'object' || owned.has(child)) return child;
  const copy: object = Array.isArray(child) ? child.slice() : { ...(child as Record<string, unknown>) };
  owned.add(copy);
  if (Array.isArray(parent)) parent[Number(key)] = copy;
  else setOwn(parent, key, copy);
  return copy;
}

/** Makes every container on the way to the parent of `pointer` the caller's own (see Owned). */
function ownPath(document: unknown, pointer: string, owned: Owned): void {
  if (!owned || pointer === '') return;
  const tokens = pointer.slice(1).split('/').map((t) => t.replace(/~1/g, '/').replace(/~0/g, '~'));
  let node = document;
  for (let i = 0; i < tokens.length - 1 && node !== null && typeof node === 'object'; i++) {
    node = ownChild(node as Record<string, unknown>, tokens[i]!, owned);
  }
}

/**
 * RFC 7396 merge of `patch` into `target`, in place: `null` deletes, maps merge
 * recursively, anything else replaces (copied, so the result shares nothing
 * with the patch). `target` must be the caller's own; so are the maps below it,
 * or they are copied first (see Owned). Records each write.
 */
export function mergeInto(target: Record<string, unknown>, patch: Record<string, unknown>, at: { pointer: string; source: string }, writes?: PatchWrite[], owned?: Owned): void {
  for (const key in patch) {
    if (!Object.hasOwn(patch, key)) continue;
    const value = patch[key];
    const step = pointerOf([key]);
    const pointer = at.pointer + step;
    const source = at.source + step;
    if (isMap(value)) {
      let current = isMap(target[key]) ? ownChild(target, key, owned) : undefined;
      if (current === undefined) {
        current = {};
        owned?.add(current as object);
        setOwn(target, key, current);
      }
      mergeInto(current as Record<string, unknown>, value, { pointer, source }, writes, owned);
      continue;
    }
    if (value === null) delete target[key];
    else setOwn(target, key, copyValue(value));
    writes?.push({ pointer, source, mirrors: true });
  }
}

/** RFC 7396 merge patch of `target` by `patch`, never changing either. */
export function mergePatch(target: unknown, patch: unknown): unknown {
  if (!isMap(patch)) return copyValue(patch);
  const base = isMap(target) ? copyValue(target) : {};
  mergeInto(base, patch, { pointer: '', source: '' });
  return base;
}

export type PatchOutcome =
  | { ok: true; document: unknown }
  | { ok: false; operation: number; message: string };

/** A readable reason for a failed operation; it names paths, never a value (the value may be a secret). */
function describePatchError(err: unknown, op: Operation): string {
  const name = (err as { name?: string }).name ?? '';
  switch (name) {
    case 'OPERATION_PATH_UNRESOLVABLE': return `path ${op.path} does not exist in the target task`;
    case 'OPERATION_FROM_UNRESOLVABLE': return `from path ${String((op as { from?: string }).from)} does not exist in the target task`;
    case 'TEST_OPERATION_FAILED': return `test failed: ${op.path} does not hold the value the operation expects (${describeValue((op as { value?: unknown }).value)})`;
    case 'OPERATION_PATH_ILLEGAL_ARRAY_INDEX': return `path ${op.path} has an illegal array index`;
    case 'OPERATION_VALUE_OUT_OF_BOUNDS': return `path ${op.path} is past the end of the list`;
    case 'OPERATION_VALUE_REQUIRED': return `operation "${op.op}" needs a value`;
    default: return `${(err as Error).message?.split('\n')[0] ?? String(err)}`;
  }
}

/** The document pointer an operation writes: an append (`/-`) names the index it appends at. */
function writtenPointer(document: unknown, path: string): string {
  if (!path.endsWith('/-')) return path;
  const parent = path.slice(0, -2);
  let list: unknown;
  try {
    list = parent === '' ? document : getValueByPointer(document, parent);
  } catch {
    return path; // a path that does not resolve: the operation itself reports it
  }
  return Array.isArray(list) ? `${parent}/${list.length}` : path;
}

/**
 * Applies one overlay patch to `document`, in place: the caller must own it
 * (and what is below it, or say what it owns in `owned`). The returned
 * document is the one to use (an operation on the root replaces it).
 * `source` is the patch's pointer in the Environment document; writes are
 * recorded in `writes`. On a failed operation, the ones before it have been applied.
 */
export function applyOverlayInPlace(document: unknown, spec: PatchSpec, source: string, writes?: PatchWrite[], owned?: Owned): PatchOutcome {
  if (spec.merge !== undefined) {
    if (!isMap(document)) return { ok: true, document: mergePatch(document, spec.merge) };
    mergeInto(document, spec.merge, { pointer: '', source: `${source}/merge` }, writes, owned);
    return { ok: true, document };
  }
  let current = document;
  const ops = (spec.patch ?? []) as Operation[];
  for (let i = 0; i < ops.length; i++) {
    const written = ops[i]!;
    // The document keeps what an operation adds: a copy, so that it shares nothing with the patch.
    const op = 'value' in written && written.op !== 'test' ? { ...written, value: copyValue(written.value) } as Operation : written;
    try {
      const pointer = op.op === 'test' ? undefined : writtenPointer(current, op.path);
      if (pointer !== undefined) {
        ownPath(current, op.path, owned);
        if (op.op === 'move') ownPath(current, (op as { from: string }).from, owned);
      }
      current = applyOperation(current, op, true, true).newDocument;
      if (op.path === '' && current !== null && typeof current === 'object') owned?.add(current);
      if (pointer !== undefined) {
        const carriesValue = op.op === 'add' || op.op === 'replace';
        writes?.push({ pointer, source: `${source}/patch/${i}${carriesValue ? '/value' : ''}`, mirrors: carriesValue });
        if (op.op === 'move') writes?.push({ pointer: (op as { from: string }).from, source: `${source}/patch/${i}`, mirrors: false });
      }
    } catch (err) {
      return { ok: false, operation: i, message: describePatchError(err, op) };
    }
  }
  return { ok: true, document: current };
}

/** Applies one overlay patch (JSON Patch or merge patch) to a copy of `document`, which stays as it is. */
export function applyOverlay(document: unknown, spec: PatchSpec): PatchOutcome {
  return applyOverlayInPlace(copyValue(document), spec, '');
}
