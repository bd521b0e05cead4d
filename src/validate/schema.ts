/**
 * Schema validation (pure after the one-time compile): a parsed document →
 * diagnostics with file, line, JSON pointer and a message saying what was expected.
 */
import { readFileSync } from 'node:fs';
import { Ajv2020, type ErrorObject, type ValidateFunction } from 'ajv/dist/2020.js';
import addFormatsModule from 'ajv-formats';
import { describeValue } from '../domain/diagnostic.js';
import { pointerOf } from '../manifest/parse.js';
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

function customMessage(err: ErrorObject): string | undefined {
  const parent = err.parentSchema as Record<string, unknown> | undefined;
  const message = parent?.['x-message'];
  return typeof message === 'string' ? message : undefined;
}

/** A field name that can be quoted: a name of its own, not a `KEY=value` pair or a pasted text. */
const QUOTABLE_FIELD = /^[A-Za-z0-9_.$-]{1,64}$/;

/**
 * Pointer and message of one schema error. Messages say what was expected and
 * what kind of value was found (its type and length), never the value itself.
 */
function describe(err: ErrorObject): { pointer: string; message: string } {
  const p = err.params as Record<string, unknown>;
  // Inside propertyNames the value checked is a key: a `NAME=value` key would print its value,
  // and a pointer to it would hold it too, so the map it belongs to is named instead, once.
  if (err.propertyName !== undefined) return { pointer: err.instancePath, message: '' }; // said by the propertyNames error below
  if (err.keyword === 'propertyNames' && typeof p.propertyName === 'string') {
    return { pointer: err.instancePath, message: `has a variable name of ${p.propertyName.length} character${p.propertyName.length === 1 ? '' : 's'} that contains "=" or a NUL character; names must not contain either` };
  }
  switch (err.keyword) {
    case 'required':
      return { pointer: `${err.instancePath}${pointerOf([String(p.missingProperty)])}`, message: `required field "${String(p.missingProperty)}" is missing` };
    case 'additionalProperties': {
      const field = String(p.additionalProperty);
      const parent = err.parentSchema as { properties?: Record<string, unknown> } | undefined;
      const known = Object.keys(parent?.properties ?? {});
      if (!QUOTABLE_FIELD.test(field)) return { pointer: err.instancePath, message: `has an unknown field whose name has ${field.length} characters; expected one of ${listNames(known)}` };
      return { pointer: `${err.instancePath}${pointerOf([field])}`, message: unknownFieldMessage(err.instancePath, field, known) };
    }
    case 'type':
      return { pointer: err.instancePath, message: customMessage(err) ?? `must be ${String(p.type).replace(/,/g, ' or ')}, got ${describeValue(err.data)}` };
    case 'enum': {
      const allowed = (p.allowedValues as unknown[]);
      const hint = typeof err.data === 'string' ? closest(err.data, allowed.filter((v): v is string => typeof v === 'string')) : undefined;
      return { pointer: err.instancePath, message: `must be one of ${allowed.map((v) => JSON.stringify(v)).join(', ')}, got ${describeValue(err.data)}${hint ? `; did you mean "${hint}"?` : ''}` };
    }
    case 'const':
      return { pointer: err.instancePath, message: customMessage(err) ?? `must be ${JSON.stringify(p.allowedValue)}, got ${describeValue(err.data)}` };
    default:
      return { pointer: err.instancePath, message: customMessage(err) ?? `${err.message ?? 'is invalid'}${err.keyword === 'pattern' || err.keyword === 'format' ? `, got ${describeValue(err.data)}` : ''}` };
  }
}

/** At most ten names, then "…": enough to spot a typo, bounded however many there are. */
export function listNames(names: readonly string[], limit = 10): string {
  return names.length > limit ? `${names.slice(0, limit).join(', ')}, …` : names.join(', ');
}

function unknownFieldMessage(parentPointer: string, field: string, known: string[]): string {
  if (parentPointer === '/spec/process' && field === 'name') return 'unknown field "name": the PM2 app name comes from metadata.name (and the environment\'s namePrefix), or from metadata.pm2Name when it is another';
  if (parentPointer === '/spec/process' && field === 'namespace') return 'unknown field "namespace": the PM2 namespace is set by the Environment (spec.namespace)';
  const hint = closest(field, known);
  return `unknown field "${field}"${hint ? `; did you mean "${hint}"?` : known.length ? `; expected one of ${listNames(known, 12)}` : ''}`;
}

/** Drops errors from inside an anyOf/oneOf branch when the combinator itself reported at the same place. */
function collapse(errors: ErrorObject[]): ErrorObject[] {
  // Indexed by place, so that many failing combinators (one per invalid patch, say) cost no more than a lookup each.
  const combinators = new Map<string, ErrorObject[]>();
  for (const e of errors) {
    if (e.keyword !== 'anyOf' && e.keyword !== 'oneOf') continue;
    const list = combinators.get(e.instancePath);
    if (list) list.push(e); else combinators.set(e.instancePath, [e]);
  }
  if (combinators.size === 0) return errors;
  return errors.filter((e) => !combinators.get(e.instancePath)?.some((c) => c !== e && e.schemaPath.startsWith(`${c.schemaPath}/`)));
}

/** A schema problem: where (a JSON pointer into the document) and what is wrong. */
export interface SchemaProblem { pointer: string; message: string }

/** Each distinct problem of the last validation once, in the order ajv found them (document order). */
function problemsOf(errors: ErrorObject[] | null | undefined): SchemaProblem[] {
  const seen = new Set<string>();
  const out: SchemaProblem[] = [];
  for (const err of collapse(errors ?? [])) {
    const problem = describe(err);
    const key = `${problem.pointer}\u0000${problem.message}`;
    if (problem.message === '' || seen.has(key)) continue;
    seen.add(key);
    out.push(problem);
  }
  return out;
}

const NO_PROBLEMS: readonly SchemaProblem[] = Object.freeze([]);

/**
 * Problems of values that cannot change: the value is deeply frozen (as the
 * manifest loader keeps the files it parsed), so the same document is checked
 * once however often it is rendered.
 */
const keptProblems = new WeakMap<object, { kind: ManifestKind; problems: readonly SchemaProblem[] }>();

/** Validates a plain value against the schema of `kind`; returns every problem found. */
export function validateValue(value: unknown, kind: ManifestKind): readonly SchemaProblem[] {
  if (!isDeeplyFrozen(value)) return checkValue(value, kind);
  let kept = keptProblems.get(value);
  if (kept?.kind !== kind) {
    kept = { kind, problems: checkValue(value, kind) };
    keptProblems.set(value, kept);
  }
  return kept.problems;
}

function checkValue(value: unknown, kind: ManifestKind): readonly SchemaProblem[] {
  const validate = validators()[kind];
  if (validate(value)) return NO_PROBLEMS;
  return Object.freeze(problemsOf(validate.errors));
}
