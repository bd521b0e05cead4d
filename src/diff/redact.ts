/**
 * Secret redaction (pure): env values become `sha256:<prefix>` wherever they
 * would be shown, logged or written.
 */
import type { PatchOperation } from '../domain/plan.js';
import { secretDigest } from '../domain/secrets.js';

/** The SHA-256 prefix that stands for a secret value. */
export function redactValue(value: unknown): string {
  return secretDigest(String(value));
}

/** Replaces every value of an env map by its SHA-256 prefix. */
export function redactEnv(env: Record<string, unknown> | undefined): Record<string, string> {
  const out: Record<string, string> = {};
  for (const [key, value] of Object.entries(env ?? {})) out[key] = redactValue(value);
  return out;
}

const ENV_PATH = /^\/(env|env_[^/]+)(\/|$)/;

function redactAt(value: unknown, wholeMap: boolean): unknown {
  return wholeMap && value && typeof value === 'object' ? redactEnv(value as Record<string, unknown>) : redactValue(value);
}

/** Redacts the values (and live values) of operations that touch `env` or an `env_*` block. */
export function redactPatch(ops: readonly PatchOperation[]): PatchOperation[] {
  return ops.map((op) => {
    const m = ENV_PATH.exec(op.path);
    if (!m || (op.value === undefined && op.oldValue === undefined)) return op;
    const wholeMap = m[2] === '';
    const out: PatchOperation = { ...op };
    if (op.value !== undefined) out.value = redactAt(op.value, wholeMap);
    if (op.oldValue !== undefined) out.oldValue = redactAt(op.oldValue, wholeMap);
    return out;
  });
}
