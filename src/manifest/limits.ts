/**
 * Limits of what a manifest file may hold (pure constants). Each bounds a cost
 * that input alone could otherwise make unbounded (memory, time, stack), and is
 * set far above what a real manifest repository holds; the README's manifest
 * section lists them.
 */

/** Largest manifest file read, in bytes (1 MiB); checked before the file is read. */
export const MAX_FILE_BYTES = 1024 * 1024;

/** Most YAML documents in one file. */
export const MAX_DOCUMENTS = 1000;

/** Most aliases (`*name`) in one YAML document. */
export const MAX_ALIASES = 1000;

/**
 * Most values that aliases may add to one document when they are expanded:
 * nested aliases multiply (the "billion laughs" document), and every later
 * stage works on the expanded data.
 */
export const MAX_ALIAS_EXPANSION = 100_000;

/** Deepest nesting of maps and lists in a document, aliases expanded; deeper input could exhaust the stack. */
export const MAX_DEPTH = 100;

/** Most problems listed for one file; one more line says how many were left out. */
export const MAX_FILE_PROBLEMS = 50;
