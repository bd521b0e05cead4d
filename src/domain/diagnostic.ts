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

/** Formats a diagnostic as `file:line:col /pointer: message`. */
export function formatDiagnostic(d: Diagnostic): string {
  const where = d.line === undefined ? d.file : `${d.file}:${d.line}:${d.column ?? 1}`;
  const doc = d.document !== undefined && d.document > 0 ? ` (document ${d.document + 1})` : '';
  return `${where}${doc} ${d.pointer || '/'}: ${d.message}`;
}

/** Orders diagnostics by file, then line, then pointer, so reports are stable. */
export function sortDiagnostics(list: Diagnostic[]): Diagnostic[] {
  return [...list].sort((a, b) =>
    a.file.localeCompare(b.file) || (a.line ?? 0) - (b.line ?? 0) || a.pointer.localeCompare(b.pointer) || a.message.localeCompare(b.message));
}
