/**
 * parse (pure): YAML text → documents, each able to map a JSON pointer back to
 * a line and column. Every problem becomes a diagnostic; nothing throws, the
 * yaml library logs nothing, and no message quotes the text (it may hold
 * secrets). A file's first syntax error is reported, not the errors that
 * follow from it; problems of the data are reported each at its pointer.
 */
import { Composer, LineCounter, Parser, isMap, isPair, isScalar, isSeq, type Document, type Node } from 'yaml';
import type { Diagnostic } from '../domain/diagnostic.js';
import { buildDocument } from './build.js';
import { MAX_DEPTH, MAX_DOCUMENTS, MAX_FILE_PROBLEMS } from './limits.js';
import { tooDeep } from './nesting.js';
import { pointerTokens } from './pointer.js';
import { describeSyntaxError, firstError } from './syntax.js';
import { badCharacterOffsets, describeBadCharacter, textProblem } from './text.js';

export { pointerOf, pointerTokens } from './pointer.js';

export interface Position { line: number; column: number }

/** One YAML document of a manifest file. */
export interface ParsedDocument {
  file: string;
  /** Position of the document inside its file (0-based). */
  index: number;
  value: unknown;
  /** Line and column of the deepest node on the pointer's path. */
  locate(pointer: string): Position | undefined;
}

/** A manifest file split into documents, with its problems. */
export interface ParsedFile {
  file: string;
  /**
   * The documents that hold a value. A document whose data has a problem (a
   * diagnostic) is still here when its value is complete, so that the rest
   * of it is checked too; the diagnostic keeps it from being applied.
   */
  documents: ParsedDocument[];
  diagnostics: Diagnostic[];
  /**
   * Documents with syntax errors or an incomplete value, holding what could be
   * recovered; never rendered, only used so that references to them add no
   * follow-up errors.
   */
  unreadable?: ParsedDocument[];
}

/**
 * Options of the yaml library: YAML 1.2's core schema whatever the file's
 * %YAML directive says (1.1 would turn `2001-12-14` into a Date and `<<` into
 * a merge), YAML 1.1's types not resolved by tag either, no logging (its
 * warnings would go to process.emitWarning), and no uniqueness check of keys
 * (quadratic in the size of a map; duplicate keys are found while building).
 */
const YAML_OPTIONS = { schema: 'core', resolveKnownTags: false, logLevel: 'error', uniqueKeys: false, prettyErrors: false } as const;

function keyString(key: unknown): string {
  if (key === null || key === undefined) return '';
  if (isScalar(key)) return key.value === null ? '' : String(key.value);
  return String(key);
}

function childOf(node: unknown, token: string): { node: unknown; keyNode?: unknown } | undefined {
  if (isMap(node)) {
    for (const pair of node.items) {
      if (keyString(pair.key) === token) return { node: pair.value, keyNode: pair.key };
    }
    return undefined;
  }
  if (isSeq(node)) {
    const i = Number(token);
    return Number.isInteger(i) ? { node: node.items[i] } : undefined;
  }
  return undefined;
}

function rangeStart(node: unknown): number | undefined {
  if (node && typeof node === 'object' && 'range' in node) {
    const range = (node as Node).range;
    if (range) return range[0];
  }
  if (isPair(node)) return rangeStart(node.key);
  return undefined;
}

function locator(doc: Document, lineCounter: LineCounter): (pointer: string) => Position | undefined {
  return (pointer) => {
    let node: unknown = doc.contents;
    let best = rangeStart(node);
    for (const token of pointerTokens(pointer)) {
      const next = childOf(node, token);
      if (!next) break;
      // A key without a value (`script:`) still has a position: the key's.
      const offset = rangeStart(next.node) ?? rangeStart(next.keyNode);
      if (offset !== undefined) best = offset;
      node = next.node;
    }
    if (best === undefined) return undefined;
    const pos = lineCounter.linePos(best);
    return { line: pos.line, column: pos.col };
  };
}

/** The composed documents of a text, with the index of each, and the problems of the stream itself. */
interface Composed {
  docs: Array<{ doc: Document.Parsed; index: number }>;
  problems: Array<{ offset: number; message: string; document?: number }>;
  syntax: Array<{ offset: number; code: string; message: string; document?: number }>;
  /** Where the work stopped: the end of the text, or the start of the document past the limit. */
  end: number;
}

/**
 * Parses and composes the documents of `text` one at a time, so that the
 * limits stop the work early: at most MAX_DOCUMENTS documents, and a document
 * nested deeper than MAX_DEPTH is not composed at all.
 */
function compose(text: string, lineCounter: LineCounter): Composed {
  const parser = new Parser(lineCounter.addNewLine);
  const composer = new Composer(YAML_OPTIONS);
  const out: Composed = { docs: [], problems: [], syntax: [], end: text.length };
  const indexes: number[] = [];
  let count = 0;
  const take = (docs: Iterable<Document.Parsed>) => {
    for (const doc of docs) out.docs.push({ doc, index: indexes[out.docs.length] ?? count - 1 });
  };
  for (const token of parser.parse(text)) {
    if (token.type === 'document') {
      if (count === MAX_DOCUMENTS) {
        out.problems.push({ offset: token.offset, message: `more than ${MAX_DOCUMENTS} YAML documents in one file; split it into several files` });
        out.end = token.offset;
        break;
      }
      const index = count++;
      const deep = tooDeep(token, MAX_DEPTH);
      if (deep !== undefined) {
        out.problems.push({ offset: deep, message: `maps and lists are nested deeper than ${MAX_DEPTH} levels`, document: index });
        continue;
      }
      indexes.push(index);
    }
    take(composer.next(token));
  }
  take(composer.end(false, text.length));
  // Errors outside any document (before the first, or in an empty stream) belong to the file.
  for (const e of composer.streamInfo().errors) out.syntax.push({ offset: e.pos[0], code: e.code, message: e.message });
  return out;
}

type At = (offset: number, pointer: string, message: string, document?: number) => Diagnostic;

/** The documents of a file sorted into those to render and those that are unreadable, with the problems of their data. */
interface Sorted {
  documents: ParsedDocument[];
  unreadable: ParsedDocument[];
  problems: Diagnostic[];
  /** Spans of scalars already reported for a character they hold. */
  reported: Array<[number, number]>;
  omitted: number;
}

/**
 * Builds the value of every composed document. A document with a syntax error
 * is unreadable, and its other problems (what the error causes) are not
 * listed; one whose value is incomplete is unreadable too; any other is
 * rendered, its problems (if any) keeping it from being applied.
 */
function sortDocuments(file: string, text: string, composed: Composed['docs'], lineCounter: LineCounter, at: At): Sorted {
  const out: Sorted = { documents: [], unreadable: [], problems: [], reported: [], omitted: 0 };
  const lineOf = (offset: number) => lineCounter.linePos(offset).line;
  for (const { doc, index } of composed) {
    const built = buildDocument(doc, text, lineOf);
    const parsed: ParsedDocument = { file, index, value: built.value, locate: locator(doc, lineCounter) };
    const broken = doc.errors.length > 0;
    if (broken || !built.complete) {
      if (built.value && typeof built.value === 'object') out.unreadable.push(parsed);
      if (broken) continue;
    } else if (built.value !== null && built.value !== undefined) {
      out.documents.push(parsed);
    }
    for (const p of built.problems) {
      out.problems.push(at(p.offset, p.pointer, p.message, index));
      if (p.end !== undefined) out.reported.push([p.offset, p.end]);
    }
    out.omitted += built.omitted;
  }
  return out;
}

/** Parses every YAML document of one file; empty documents are skipped. Never throws. */
export function parseManifestFile(file: string, text: string): ParsedFile {
  const unfit = textProblem(file, text);
  if (unfit) return { file, documents: [], diagnostics: [unfit], unreadable: [] };
  const lineCounter = new LineCounter();
  const composed = compose(text, lineCounter);
  const at: At = (offset, pointer, message, document) => {
    const pos = lineCounter.linePos(offset);
    return { file, line: pos.line, column: pos.col, pointer, message, ...(document === undefined ? {} : { document }) };
  };
  const sorted = sortDocuments(file, text, composed.docs, lineCounter, at);
  const syntax = [...composed.syntax, ...composed.docs.flatMap(({ doc, index }) => doc.errors.map((e) => ({ offset: e.pos[0], code: e.code, message: e.message, document: index })))];
  const diagnostics: Diagnostic[] = [];
  // Only the first syntax error: the ones after it mostly follow from it.
  const first = firstError(syntax);
  if (first) diagnostics.push(at(first.offset, '', `invalid YAML: ${describeSyntaxError(first.code, first.message)}`, first.document));
  for (const p of composed.problems) diagnostics.push(at(p.offset, '', p.message, p.document));
  diagnostics.push(...sorted.problems);
  // Characters outside every value reported so far: in comments, around keys, or in documents that did not compose.
  const parsedText = composed.end === text.length ? text : text.slice(0, composed.end);
  for (const offset of badCharacterOffsets(parsedText, MAX_FILE_PROBLEMS)) {
    if (sorted.reported.some(([from, to]) => offset >= from && offset < to)) continue;
    diagnostics.push(at(offset, '', `the text holds ${describeBadCharacter(text.charCodeAt(offset))}; manifests may hold no control characters other than tab and line breaks`));
  }
  return { file, documents: sorted.documents, diagnostics: capped(file, diagnostics, sorted.omitted), unreadable: sorted.unreadable };
}

/** At most MAX_FILE_PROBLEMS diagnostics, and one that counts the rest. */
function capped(file: string, diagnostics: Diagnostic[], omitted: number): Diagnostic[] {
  const more = omitted + Math.max(0, diagnostics.length - MAX_FILE_PROBLEMS);
  if (more === 0) return diagnostics;
  const kept = diagnostics.slice(0, MAX_FILE_PROBLEMS);
  const last = kept[kept.length - 1];
  kept.push({ file, line: last?.line ?? 1, column: last?.column ?? 1, pointer: '', message: `${more} more problem${more === 1 ? '' : 's'} in this file not listed (the first ${MAX_FILE_PROBLEMS} are)` });
  return kept;
}
