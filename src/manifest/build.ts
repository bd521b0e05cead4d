/**
 * Document values (pure): a composed YAML document → the JSON data it holds,
 * with every problem of the data on the way, each at its JSON pointer: tags
 * that do not give JSON data, keys that are not strings, duplicate keys,
 * control characters, numbers that cannot be kept exactly, and aliases that
 * are unresolved, recursive, too many or expand too much. Aliases share the
 * value of their anchor (as the yaml library's own conversion does), so the
 * work is linear in the size of the text; what the expanded data would cost
 * is counted instead.
 */
import { isAlias, isMap, isScalar, isSeq, type Alias, type Document, type Scalar, type YAMLMap, type YAMLSeq } from 'yaml';
import { MAX_ALIAS_EXPANSION, MAX_ALIASES, MAX_DEPTH, MAX_FILE_PROBLEMS } from './limits.js';
import { pointerOf } from './pointer.js';
import { numberProblem, tagProblem } from './scalars.js';
import { badCharacterIn, describeBadCharacter } from './text.js';

/** A problem of a document's data. */
export interface DataProblem {
  /** Offset in the text. */
  offset: number;
  /** End of the scalar the problem is about: a character in it needs no report of its own. */
  end?: number;
  pointer: string;
  message: string;
}

/** A document's value and the problems of its data. */
export interface BuiltDocument {
  value: unknown;
  problems: DataProblem[];
  /**
   * False when part of the value could not be built as written (an alias that
   * is unresolved, recursive, beyond the limits, or nesting too deep); those
   * parts are null, and the document must not be rendered.
   */
  complete: boolean;
  /** Problems found beyond the MAX_FILE_PROBLEMS listed. */
  omitted: number;
}

interface Anchor { value: unknown; size: number; height: number; open: boolean }

interface Context {
  text: string;
  lineOf: (offset: number) => number;
  anchors: Map<string, Anchor>;
  problems: DataProblem[];
  omitted: number;
  complete: boolean;
  aliases: number;
  /** Values the aliases resolved so far stand for. */
  expansion: number;
  /** Tokens of the pointer of the node being built. */
  path: string[];
  /** Values in, and levels of nesting of, the node built last (aliases expanded). */
  size: number;
  height: number;
}

function problem(ctx: Context, offset: number, message: string, end?: number): void {
  // A file can hold a problem on every line: only the first ones are listed, and the rest are counted.
  if (ctx.problems.length >= MAX_FILE_PROBLEMS) {
    ctx.omitted++;
    return;
  }
  ctx.problems.push({ offset, ...(end === undefined ? {} : { end }), pointer: pointerOf(ctx.path), message });
}

/** A part of the value that cannot be built as written: null, and the document is incomplete. */
function broken(ctx: Context, offset: number, message: string): null {
  problem(ctx, offset, message);
  return silentlyBroken(ctx);
}

/** Like `broken`, for an alias past a limit that was already reported. */
function silentlyBroken(ctx: Context): null {
  ctx.complete = false;
  ctx.size = 1;
  ctx.height = 0;
  return null;
}

function start(node: { range?: readonly number[] | null }): number {
  return node.range?.[0] ?? 0;
}

/** A scalar's value, checked: `subject` is how the message names it ("value" or "a key"). */
function scalar(node: Scalar, ctx: Context, subject: 'the value' | 'a key'): unknown {
  const value = node.value;
  const offset = start(node);
  const end = node.range?.[1] ?? offset;
  const tag = tagProblem(node.tag, 'scalar', value);
  if (tag) problem(ctx, offset, subject === 'a key' ? `on a key: ${tag}` : tag);
  ctx.size = 1;
  ctx.height = 0;
  if (typeof value === 'string') {
    const i = badCharacterIn(value);
    if (i >= 0) {
      // Where the character is written raw, point at it; an escape (\0) points at the value.
      const raw = badCharacterIn(ctx.text.slice(offset, end));
      problem(ctx, raw >= 0 ? offset + raw : offset, `${subject} holds ${describeBadCharacter(value.charCodeAt(i))}; manifests may hold no control characters other than tab and line breaks`, end);
    }
    return value;
  }
  if (typeof value === 'number') {
    const number = numberProblem(typeof node.source === 'string' ? node.source : '', value);
    if (number) problem(ctx, offset, subject === 'a key' ? `a key is a number: ${number}` : number, end);
    return value;
  }
  if (value === null || typeof value === 'boolean') return value;
  problem(ctx, offset, `${subject} is not plain JSON data (maps, lists, strings, numbers, booleans and null)`);
  return null;
}

function alias(node: Alias, ctx: Context, depth: number): unknown {
  const offset = start(node);
  ctx.aliases++;
  if (ctx.aliases > MAX_ALIASES) {
    return ctx.aliases === MAX_ALIASES + 1 ? broken(ctx, offset, `more than ${MAX_ALIASES} aliases (*name) in one document`) : silentlyBroken(ctx);
  }
  const anchor = ctx.anchors.get(node.source);
  if (!anchor) return broken(ctx, offset, 'the alias (*name) refers to no anchor (&name) defined before it');
  if (anchor.open) return broken(ctx, offset, 'the alias (*name) refers to a value that holds it: a value cannot contain itself');
  if (ctx.expansion > MAX_ALIAS_EXPANSION) return silentlyBroken(ctx);
  ctx.expansion += anchor.size;
  if (ctx.expansion > MAX_ALIAS_EXPANSION) return broken(ctx, offset, `aliases (*name) expand this document by more than ${MAX_ALIAS_EXPANSION} values`);
  if (depth + anchor.height > MAX_DEPTH) return broken(ctx, offset, `the alias (*name) makes the data nested deeper than ${MAX_DEPTH} levels`);
  ctx.size = anchor.size;
  ctx.height = anchor.height;
  return anchor.value;
}

/** The string a key stands for in the map, as the yaml library makes it; undefined for a key that is a map or list. */
function keyOf(key: unknown, ctx: Context, depth: number): string | undefined {
  if (key === null || key === undefined) return '';
  let value: unknown;
  if (isScalar(key)) value = scalar(key, ctx, 'a key');
  else value = build(key, ctx, depth);
  if (value !== null && typeof value === 'object') {
    problem(ctx, start(key as { range?: number[] }), 'a key is a map or a list; keys must be strings');
    return undefined;
  }
  return value === null ? '' : String(value);
}

function map(node: YAMLMap, ctx: Context, depth: number): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  let size = 1;
  let height = 1;
  for (const pair of node.items) {
    const key = keyOf(pair.key, ctx, depth + 1);
    if (key !== undefined && Object.hasOwn(out, key)) {
      // Finding the first of the two costs a scan of the map: only for a problem that is listed.
      const first = ctx.problems.length < MAX_FILE_PROBLEMS ? node.items.find((p) => p !== pair && keyText(p.key) === key) : undefined;
      const at = first ? ` (the same key is also on line ${ctx.lineOf(start(first.key as { range?: number[] }))})` : '';
      problem(ctx, start(pair.key as { range?: number[] }), `duplicate key: the keys of a map must be unique${at}`);
    }
    if (key !== undefined) ctx.path.push(key);
    const value = build(pair.value, ctx, depth + 1);
    if (key !== undefined) ctx.path.pop();
    size += ctx.size;
    height = Math.max(height, ctx.height + 1);
    if (key === undefined) continue;
    // A key "__proto__" is an own property, as the yaml library makes it; never the prototype.
    if (key === '__proto__') Object.defineProperty(out, key, { value, enumerable: true, writable: true, configurable: true });
    else out[key] = value;
  }
  ctx.size = size;
  ctx.height = height;
  return out;
}

/** The string of a plain scalar key, for finding the first of two duplicates; no checks, no aliases. */
function keyText(key: unknown): string | undefined {
  if (key === null || key === undefined) return '';
  if (!isScalar(key)) return undefined;
  return key.value === null ? '' : String(key.value);
}

function seq(node: YAMLSeq, ctx: Context, depth: number): unknown[] {
  const out = new Array<unknown>(node.items.length);
  let size = 1;
  let height = 1;
  for (let i = 0; i < node.items.length; i++) {
    ctx.path.push(String(i));
    out[i] = build(node.items[i], ctx, depth + 1);
    ctx.path.pop();
    size += ctx.size;
    height = Math.max(height, ctx.height + 1);
  }
  ctx.size = size;
  ctx.height = height;
  return out;
}

/** The value of one node at `depth` (the number of maps and lists around it). */
function build(node: unknown, ctx: Context, depth: number): unknown {
  if (isAlias(node)) return alias(node, ctx, depth);
  const collection = isMap(node) || isSeq(node);
  if (!collection && !isScalar(node)) {
    // No node (a key without a value), or one the parser could not make sense of.
    ctx.size = 1;
    ctx.height = 0;
    return null;
  }
  if (collection && depth >= MAX_DEPTH) return broken(ctx, start(node), `maps and lists are nested deeper than ${MAX_DEPTH} levels`);
  const name = node.anchor;
  const anchor: Anchor | undefined = name ? { value: null, size: 1, height: 0, open: true } : undefined;
  if (anchor) ctx.anchors.set(name!, anchor); // a later anchor of the same name replaces the earlier one from here on
  let value: unknown;
  if (isScalar(node)) value = scalar(node, ctx, 'the value');
  else {
    const tag = tagProblem(node.tag, isMap(node) ? 'map' : 'seq', undefined);
    if (tag) problem(ctx, start(node), tag);
    value = isMap(node) ? map(node, ctx, depth) : seq(node as YAMLSeq, ctx, depth);
  }
  if (anchor) Object.assign(anchor, { value, size: ctx.size, height: ctx.height, open: false });
  return value;
}

/**
 * The JSON value of a composed document and the problems of its data.
 * `lineOf` turns an offset into a 1-based line, for messages that name another
 * line. Never throws.
 */
export function buildDocument(doc: Document.Parsed, text: string, lineOf: (offset: number) => number): BuiltDocument {
  const ctx: Context = {
    text, lineOf, anchors: new Map(), problems: [], omitted: 0, complete: true, aliases: 0, expansion: 0, path: [], size: 0, height: 0,
  };
  const value = build(doc.contents, ctx, 0);
  return { value, problems: ctx.problems, complete: ctx.complete, omitted: ctx.omitted };
}
