/**
 * Overlay patches (pure): RFC 6902 JSON Patch and RFC 7396 merge patch on a
 * Task document, never mutating the input.
 */
import fastJsonPatch from 'fast-json-patch';
import type { Operation } from 'fast-json-patch';
import type { PatchSpec, PatchTarget } from '../domain/manifest.js';

const { applyPatch } = fastJsonPatch;

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

/** RFC 7396: `null` deletes, objects merge recursively, anything else replaces. */
export function mergePatch(target: unknown, patch: unknown): unknown {
  if (patch === null || typeof patch !== 'object' || Array.isArray(patch)) return structuredClone(patch);
  const base: Record<string, unknown> = target && typeof target === 'object' && !Array.isArray(target) ? { ...(target as Record<string, unknown>) } : {};
  for (const [key, value] of Object.entries(patch as Record<string, unknown>)) {
    if (value === null) delete base[key];
    else base[key] = mergePatch(base[key], value);
  }
  return base;
}

export type PatchOutcome =
  | { ok: true; document: unknown }
  | { ok: false; operation: number; message: string };

function describePatchError(err: unknown, op: Operation): string {
  const name = (err as { name?: string }).name ?? '';
  switch (name) {
    case 'OPERATION_PATH_UNRESOLVABLE': return `path ${op.path} does not exist in the target task`;
    case 'OPERATION_FROM_UNRESOLVABLE': return `from path ${String((op as { from?: string }).from)} does not exist in the target task`;
    case 'TEST_OPERATION_FAILED': return `test failed: ${op.path} is not ${JSON.stringify((op as { value?: unknown }).value)}`;
    case 'OPERATION_PATH_ILLEGAL_ARRAY_INDEX': return `path ${op.path} has an illegal array index`;
    case 'OPERATION_VALUE_OUT_OF_BOUNDS': return `path ${op.path} is past the end of the list`;
    case 'OPERATION_VALUE_REQUIRED': return `operation "${op.op}" needs a value`;
    default: return `${(err as Error).message?.split('\n')[0] ?? String(err)}`;
  }
}

/** Applies one overlay patch (JSON Patch or merge patch) to a copy of `document`. */
export function applyOverlay(document: unknown, spec: PatchSpec): PatchOutcome {
  if (spec.merge !== undefined) return { ok: true, document: mergePatch(document, spec.merge) };
  let current = document;
  const ops = (spec.patch ?? []) as Operation[];
  for (let i = 0; i < ops.length; i++) {
    const op = ops[i]!;
    try {
      current = applyPatch(current, [op], true, false).newDocument;
    } catch (err) {
      return { ok: false, operation: i, message: describePatchError(err, op) };
    }
  }
  return { ok: true, document: current };
}
