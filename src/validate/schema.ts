/**
 * Schema validation (pure after the one-time compile): a parsed document →
 * diagnostics with file, line, JSON pointer and a message saying what was expected.
 */
import { readFileSync } from 'node:fs';
import { Ajv2020, type ErrorObject, type ValidateFunction } from 'ajv/dist/2020.js';
import addFormatsModule from 'ajv-formats';
import type { Diagnostic } from '../domain/diagnostic.js';
import { pointerOf, type ParsedDocument } from '../manifest/parse.js';
import { isDeeplyFrozen } from '../manifest/values.js';
import { closest } from './suggest.js';

export type ManifestKind = 'Task' | 'Environment';

const addFormats = addFormatsModule as unknown as (ajv: Ajv2020) => Ajv2020;

/** Reads one of the published JSON Schemas shipped in `schemas/`. */
export function readSchema(kind: ManifestKind): Record<string, unknown> {
  const file = kind === 'Task' ? 'task.schema.json' : 'environment.schema.json';
  return JSON.parse(readFileSync(new URL(`../../schemas/${file}`, import.meta.url), 'utf8')) as Record<string, unknown>;
}

let compiled: Record<ManifestKind, ValidateFunction> | undefined;

function validators(): Record<ManifestKind, ValidateFunction> {
  if (!compiled) {
    const ajv = new Ajv2020({ allErrors: true, verbose: true, strict: true, strictRequired: false, allowUnionTypes: true });
    addFormats(ajv);
    ajv.addKeyword({ keyword: 'x-message', schemaType: 'string' });
    compiled = { Task: ajv.compile(readSchema('Task')), Environment: ajv.compile(readSchema('Environment')) };
  }
  return compiled;
}

function describeType(value: unknown): string {
  if (value === null) return 'null';
  if (Array.isArray(value)) return 'a list';
  if (typeof value === 'object') return 'a map';
  return `${typeof value} ${JSON.stringify(value)}`;
}

function customMessage(err: ErrorObject): string | undefined {
  const parent = err.parentSchema as Record<string, unknown> | undefined;
  const message = parent?.['x-message'];
  return typeof message === 'string' ? message : undefined;
}

function describe(err: ErrorObject): { pointer: string; message: string } {
  const p = err.params as Record<string, unknown>;
  switch (err.keyword) {
    case 'required':
      return { pointer: `${err.instancePath}${pointerOf([String(p.missingProperty)])}`, message: `required field "${String(p.missingProperty)}" is missing` };
    case 'additionalProperties': {
      const field = String(p.additionalProperty);
      const parent = err.parentSchema as { properties?: Record<string, unknown> } | undefined;
      const known = Object.keys(parent?.properties ?? {});
      return { pointer: `${err.instancePath}${pointerOf([field])}`, message: unknownFieldMessage(err.instancePath, field, known) };
    }
    case 'type':
      return { pointer: err.instancePath, message: customMessage(err) ?? `must be ${String(p.type).replace(/,/g, ' or ')}, got ${describeType(err.data)}` };
    case 'enum':
      return { pointer: err.instancePath, message: `must be one of ${(p.allowedValues as unknown[]).map((v) => JSON.stringify(v)).join(', ')}, got ${describeType(err.data)}` };
    case 'const':
      return { pointer: err.instancePath, message: customMessage(err) ?? `must be ${JSON.stringify(p.allowedValue)}, got ${describeType(err.data)}` };
    default:
      return { pointer: err.instancePath, message: customMessage(err) ?? `${err.message ?? 'is invalid'}${err.keyword === 'pattern' || err.keyword === 'format' ? `, got ${describeType(err.data)}` : ''}` };
  }
}

function unknownFieldMessage(parentPointer: string, field: string, known: string[]): string {
  if (parentPointer === '/spec/process' && field === 'name') return 'unknown field "name": the PM2 app name comes from metadata.name (and the environment\'s namePrefix)';
  if (parentPointer === '/spec/process' && field === 'namespace') return 'unknown field "namespace": the PM2 namespace is set by the Environment (spec.namespace)';
  const hint = closest(field, known);
  return `unknown field "${field}"${hint ? `; did you mean "${hint}"?` : known.length ? `; expected one of ${known.slice(0, 12).join(', ')}${known.length > 12 ? ', …' : ''}` : ''}`;
}

/** Drops errors from inside an anyOf/oneOf branch when the combinator itself reported at the same place. */
function collapse(errors: ErrorObject[]): ErrorObject[] {
  const combinators = errors.filter((e) => e.keyword === 'anyOf' || e.keyword === 'oneOf');
  return errors.filter((e) => !combinators.some((c) => c !== e && e.instancePath === c.instancePath && e.schemaPath.startsWith(`${c.schemaPath}/`)));
}

/**
 * Problems of documents that cannot change: the document is frozen and its
 * value deeply frozen (as the manifest loader keeps the files it parsed), so
 * the same document is checked once however often it is rendered.
 */
const keptProblems = new WeakMap<ParsedDocument, { kind: ManifestKind; value: unknown; problems: readonly Diagnostic[] }>();

/** Validates one document against the schema of its kind; returns every problem found. */
export function validateDocument(doc: ParsedDocument, kind: ManifestKind): Diagnostic[] {
  if (!Object.isFrozen(doc) || !isDeeplyFrozen(doc.value)) return checkDocument(doc, kind);
  let kept = keptProblems.get(doc);
  if (kept?.kind !== kind || kept.value !== doc.value) {
    kept = { kind, value: doc.value, problems: checkDocument(doc, kind) };
    keptProblems.set(doc, kept);
  }
  if (kept.problems.length === 0) return [];
  return kept.problems.map((d) => ({ ...d }));
}

function checkDocument(doc: ParsedDocument, kind: ManifestKind): Diagnostic[] {
  const validate = validators()[kind];
  if (validate(doc.value)) return [];
  const seen = new Set<string>();
  const out: Diagnostic[] = [];
  for (const err of collapse(validate.errors ?? [])) {
    const { pointer, message } = describe(err);
    const key = `${pointer}\u0000${message}`;
    if (seen.has(key)) continue;
    seen.add(key);
    const pos = doc.locate(pointer);
    out.push({ file: doc.file, line: pos?.line, column: pos?.column, pointer, message, document: doc.index });
  }
  return out;
}

/** Validates a plain value (no source positions), used to re-check documents after patches. */
export function validateValue(value: unknown, kind: ManifestKind): Array<{ pointer: string; message: string }> {
  const validate = validators()[kind];
  if (validate(value)) return [];
  return collapse(validate.errors ?? []).map(describe);
}
