/** A problem found in a manifest, located by file, line and JSON pointer. */
export interface Diagnostic {
  /** File relative to the repository root. */
  file: string;
  line?: number;
  column?: number;
  /** RFC 6901 JSON pointer inside the YAML document ('' for the document itself). */
  pointer: string;
  message: string;
  /** Index of the YAML document inside a multi-document file, when there are several. */
  document?: number;
}

/** A line and column in a manifest file (1-based). */
export interface Position { line: number; column: number }

/**
 * A diagnostic whose line and column are looked up only when read. Finding a
 * position walks the YAML syntax tree; a report shows at most
 * DIAGNOSTIC_LIMIT problems, so the others are never located at all.
 */
export function diagnosticAt(file: string, document: number | undefined, pointer: string, message: string, locate: (pointer: string) => Position | undefined): Diagnostic {
  let pos: Position | undefined | null = null;
  const where = (): Position | undefined => (pos === null ? (pos = locate(pointer)) : pos);
  return {
    file, pointer, message, document,
    get line() { return where()?.line; },
    get column() { return where()?.column; },
  };
}

/** Formats a diagnostic as `file:line:col /pointer: message`. */
export function formatDiagnostic(d: Diagnostic): string {
  const where = d.line === undefined ? d.file : `${d.file}:${d.line}:${d.column ?? 1}`;
  const doc = d.document !== undefined && d.document > 0 ? ` (document ${d.document + 1})` : '';
  return `${where}${doc} ${d.pointer || '/'}: ${d.message}`;
}

/**
 * One collator for every comparison: `localeCompare` builds one per call, which
 * dominates sorting many diagnostics. Made on first use: a render without
 * problems never needs it.
 */
let collator: Intl.Collator | undefined;
const compareText = (a: string, b: string): number => (collator ??= new Intl.Collator()).compare(a, b);

/** Orders diagnostics by file, then line, then pointer, so reports are stable. */
export function sortDiagnostics(list: Diagnostic[]): Diagnostic[] {
  const compare = compareText;
  return [...list].sort((a, b) =>
    compare(a.file, b.file) || (a.line ?? 0) - (b.line ?? 0) || compare(a.pointer, b.pointer) || compare(a.message, b.message));
}

/**
 * What a manifest value is, without the value: diagnostics name a scalar's
 * type and length, never its text, since any scalar may be a secret someone
 * put in the wrong place.
 */
export function describeValue(value: unknown): string {
  if (value === null || value === undefined) return 'null';
  if (Array.isArray(value)) return 'a list';
  if (typeof value === 'object') return 'a map';
  if (typeof value === 'string') return `a string of ${value.length} character${value.length === 1 ? '' : 's'}`;
  if (typeof value === 'number') return Number.isInteger(value) ? 'an integer' : 'a number';
  return `a ${typeof value}`;
}

/** How many problems a report lists; the rest are counted in one line. */
export const DIAGNOSTIC_LIMIT = 100;

/**
 * The first `limit` diagnostics, sorted, and how many more there are. When
 * there are more, the ones shown are chosen by file, document and the order
 * they were found in (document order), so that the others are never located.
 */
export function capDiagnostics(list: readonly Diagnostic[], limit = DIAGNOSTIC_LIMIT): { shown: Diagnostic[]; omitted: number } {
  if (list.length <= limit) return { shown: sortDiagnostics([...list]), omitted: 0 };
  const compare = compareText;
  const order = list.map((_, i) => i).sort((a, b) =>
    compare(list[a]!.file, list[b]!.file) || (list[a]!.document ?? 0) - (list[b]!.document ?? 0) || a - b);
  return { shown: sortDiagnostics(order.slice(0, limit).map((i) => list[i]!)), omitted: list.length - limit };
}

/** The line that stands for the problems a report leaves out. */
export function omittedLine(omitted: number): string {
  return `… and ${omitted} more problem${omitted === 1 ? '' : 's'}`;
}
