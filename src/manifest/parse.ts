/**
 * parse (pure): YAML text → documents, each able to map a JSON pointer back to
 * a line and column. Syntax errors become diagnostics; nothing throws.
 */
import { LineCounter, parseAllDocuments, isMap, isSeq, isPair, isScalar, type Document, type Node } from 'yaml';
import type { Diagnostic } from '../domain/diagnostic.js';

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

/** A manifest file split into documents, with its syntax errors. */
export interface ParsedFile {
  file: string;
  documents: ParsedDocument[];
  diagnostics: Diagnostic[];
  /**
   * Documents with syntax errors, holding what the parser could recover; never
   * rendered, only used so that references to them add no follow-up errors.
   */
  unreadable?: ParsedDocument[];
}

/** Splits an RFC 6901 JSON pointer into unescaped tokens. */
export function pointerTokens(pointer: string): string[] {
  if (pointer === '' || pointer === '/') return [];
  return pointer.slice(1).split('/').map((t) => t.replace(/~1/g, '/').replace(/~0/g, '~'));
}

/** Builds a JSON pointer from tokens, escaping `~` and `/`. */
export function pointerOf(tokens: Array<string | number>): string {
  return tokens.map((t) => `/${String(t).replace(/~/g, '~0').replace(/\//g, '~1')}`).join('');
}

function childOf(node: unknown, token: string): { node: unknown; keyNode?: unknown } | undefined {
  if (isMap(node)) {
    for (const pair of node.items) {
      const key = isScalar(pair.key) ? String(pair.key.value) : String(pair.key);
      if (key === token) return { node: pair.value, keyNode: pair.key };
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

/** Parses every YAML document of one file; empty documents are skipped. */
export function parseManifestFile(file: string, text: string): ParsedFile {
  const lineCounter = new LineCounter();
  const docs = parseAllDocuments(text, { lineCounter, prettyErrors: true, uniqueKeys: true });
  const diagnostics: Diagnostic[] = [];
  const documents: ParsedDocument[] = [];
  const unreadable: ParsedDocument[] = [];
  // For empty input parseAllDocuments returns an empty EmptyStream, which is still an array.
  docs.forEach((doc, index) => {
    const errors = [...doc.errors];
    for (const err of errors) {
      const pos = err.linePos?.[0];
      diagnostics.push({
        file, line: pos?.line, column: pos?.col, pointer: '', document: index,
        message: `invalid YAML: ${err.message.split('\n')[0]!.replace(/ at line \d+, column \d+:?$/, '')}`,
      });
    }
    if (errors.length) {
      let recovered: unknown;
      try { recovered = doc.toJS({ maxAliasCount: 1000 }); } catch { recovered = undefined; }
      if (recovered && typeof recovered === 'object') unreadable.push({ file, index, value: recovered, locate: locator(doc, lineCounter) });
      return;
    }
    const value: unknown = doc.toJS({ maxAliasCount: 1000 });
    if (value === null || value === undefined) return;
    documents.push({ file, index, value, locate: locator(doc, lineCounter) });
  });
  return { file, documents, diagnostics, unreadable };
}
