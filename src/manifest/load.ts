/**
 * load (I/O): reads the manifest files of a repository working tree and
 * renders one environment from them.
 */
import { existsSync, readdirSync, readFileSync, statSync, type Stats } from 'node:fs';
import { join, posix, relative, resolve, sep } from 'node:path';
import { ValidationError } from '../domain/errors.js';
import type { Diagnostic } from '../domain/diagnostic.js';
import type { DesiredState } from '../domain/manifest.js';
import { render } from '../render/render.js';
import { parseManifestFile, type ParsedDocument, type ParsedFile } from './parse.js';
import { copyValue, deepFreeze } from './values.js';

const SKIP_DIRS = new Set(['node_modules']);

/** A relative POSIX path of named segments only (no empty, `.` or `..` segment): it can be appended as it is. */
const PLAIN_PATH = /^(?!\.\.?(\/|$))[^/]+(\/(?!\.\.?(\/|$))[^/]+)*$/;

function toPosix(path: string): string {
  return sep === '/' ? path : path.split(sep).join('/');
}

/** A manifest file found under the manifest folder: its absolute path and its repository-relative POSIX path. */
interface FoundFile { full: string; file: string }

/** `dir` joined with an entry name, as `path.join` would (`dir` is absolute and normalised). */
function child(dir: string, name: string): string {
  return dir.endsWith(sep) ? dir + name : dir + sep + name;
}

function walk(dir: string, rel: string, out: FoundFile[]): void {
  for (const entry of readdirSync(dir, { withFileTypes: true })) {
    const name = entry.name;
    if (name.startsWith('.')) continue;
    if (entry.isDirectory()) {
      if (!SKIP_DIRS.has(name)) walk(child(dir, name), rel === '' ? name : `${rel}/${name}`, out);
    } else if (entry.isFile() && /\.ya?ml$/.test(name)) {
      out.push({ full: child(dir, name), file: rel === '' ? name : `${rel}/${name}` });
    }
  }
}

export interface ManifestSource {
  /** Absolute repository root. */
  repoRoot: string;
  /** Manifest folder inside the repository (`--path`); default: the root. */
  path?: string;
}

/**
 * Parsed manifest files by repository-relative path, with the text they were
 * parsed from. Rendering several environments (or one environment revision
 * after revision) reads the same files again; YAML parsing dominates the cost,
 * so a file whose text is unchanged is not parsed again. Only plain values are
 * kept: the YAML syntax tree, needed only for the line numbers of diagnostics,
 * is rebuilt from the text when a position is asked for. The kept files are
 * deeply frozen and shared by every render of them, which never changes its
 * input; `readManifestFiles` hands out copies.
 */
const parsedFiles = new Map<string, KeptFile>();
const PARSED_FILES_LIMIT = 20_000;

interface KeptFile {
  text: string;
  parsed: ParsedFile;
  /** Absolute path the text was last read from, and its stamp then, when the stamp can be trusted. */
  path?: string;
  stamp?: Stamp;
}

/**
 * What `stat` said of a file when it was read. A file whose stamp is unchanged
 * (same device, inode, size, modification and status-change times) is not read
 * again: a write, a rename over it or a restored modification time all change
 * the stamp. Timestamps have a granularity (up to 2 s on some file systems) and
 * lag the clock slightly, so a file changed again right after it was read could
 * keep its stamp: a stamp is kept only when the file had not changed for
 * STAMP_SETTLED_MS before it was read. A file written just now is read (and
 * compared with the kept text) on every render until it has settled.
 */
interface Stamp { dev: number; ino: number; size: number; mtimeMs: number; ctimeMs: number }
const STAMP_SETTLED_MS = 2_000;
const STAT_OPTIONS = { throwIfNoEntry: false } as const;

function sameStamp(stamp: Stamp, stats: Stats): boolean {
  return stamp.ino === stats.ino && stamp.size === stats.size && stamp.mtimeMs === stats.mtimeMs
    && stamp.ctimeMs === stats.ctimeMs && stamp.dev === stats.dev;
}

function frozenDocument(doc: ParsedDocument): ParsedDocument {
  deepFreeze(doc.value);
  return Object.freeze(doc);
}

function withoutSyntaxTree(parsed: ParsedFile, text: string): ParsedFile {
  const { file } = parsed; // the closures below must not keep `parsed`, which holds the syntax tree
  let reparsed: ParsedFile | undefined;
  const locate = (index: number, pointer: string) => {
    reparsed ??= parseManifestFile(file, text);
    return reparsed.documents.find((d) => d.index === index)?.locate(pointer);
  };
  return Object.freeze({
    file,
    diagnostics: Object.freeze(parsed.diagnostics.map((d) => Object.freeze({ ...d }))) as Diagnostic[],
    documents: Object.freeze(parsed.documents.map(({ index, value }) => frozenDocument({ file, index, value, locate: (pointer: string) => locate(index, pointer) }))) as ParsedDocument[],
    ...(parsed.unreadable ? { unreadable: Object.freeze(parsed.unreadable.map((d) => frozenDocument({ ...d }))) as ParsedDocument[] } : {}),
  });
}

/**
 * Reads and parses one file (repository-relative `file` at absolute `full`),
 * or reuses the parse of identical text, or skips the read when the file's
 * stamp is unchanged; the result is shared and deeply frozen.
 */
function parseFile(file: string, full: string): ParsedFile {
  let entry = parsedFiles.get(file);
  const readAt = Date.now();
  const stats = statSync(full, STAT_OPTIONS);
  if (entry?.stamp && stats && entry.path === full && sameStamp(entry.stamp, stats)) return entry.parsed;
  const text = readFileSync(full, 'utf8');
  if (entry?.text !== text) {
    if (parsedFiles.size >= PARSED_FILES_LIMIT) parsedFiles.clear();
    entry = { text, parsed: withoutSyntaxTree(parseManifestFile(file, text), text) };
    parsedFiles.set(file, entry);
  }
  entry.path = full;
  entry.stamp = stats && readAt - Math.max(stats.mtimeMs, stats.ctimeMs) > STAMP_SETTLED_MS
    ? { dev: stats.dev, ino: stats.ino, size: stats.size, mtimeMs: stats.mtimeMs, ctimeMs: stats.ctimeMs }
    : undefined;
  return entry.parsed;
}

/** A caller's own copy of a shared parsed file: every value and diagnostic in it can be changed freely. */
function copyParsedFile(parsed: ParsedFile): ParsedFile {
  return {
    ...parsed,
    diagnostics: parsed.diagnostics.map((d) => ({ ...d })),
    documents: parsed.documents.map((d) => ({ ...d, value: copyValue(d.value) })),
    ...(parsed.unreadable ? { unreadable: parsed.unreadable.map((d) => ({ ...d, value: copyValue(d.value) })) } : {}),
  };
}

/** The shared, deeply frozen parse of every `*.yaml`/`*.yml` under the manifest folder. */
function readSharedFiles(source: ManifestSource): ParsedFile[] {
  const root = resolve(source.repoRoot);
  const dir = resolve(root, source.path ?? '.');
  const rel = relative(root, dir);
  if (rel.startsWith('..')) throw new ValidationError(`--path ${source.path} leaves the repository ${root}`);
  if (!existsSync(dir) || !statSync(dir).isDirectory()) {
    throw new ValidationError(`manifest folder ${dir} does not exist; expected a directory of YAML manifests (check --repo and --path)`);
  }
  const found: FoundFile[] = [];
  walk(dir, toPosix(rel), found);
  // Ordered by absolute path, as the files have always been.
  found.sort((a, b) => (a.full < b.full ? -1 : a.full > b.full ? 1 : 0));
  return found.map(({ full, file }) => parseFile(file, full));
}

/** Reads and parses every `*.yaml`/`*.yml` under the manifest folder; throws ValidationError if the folder is missing. */
export function readManifestFiles(source: ManifestSource): ParsedFile[] {
  return readSharedFiles(source).map(copyParsedFile);
}

/** Loads, renders and validates one environment; throws ValidationError with every diagnostic. */
export function loadDesiredState(source: ManifestSource, environment: string): DesiredState {
  const root = resolve(source.repoRoot);
  // The render never changes its input and shares nothing of it with its result: no copy is needed.
  const files = readSharedFiles(source);
  const result = render({
    files,
    environment,
    manifestRoot: toPosix(relative(root, resolve(root, source.path ?? '.'))),
    repoRoot: toPosix(root),
    fileExists: (path) => existsSync(sep === '/' && PLAIN_PATH.test(path) ? child(root, path) : join(root, ...path.split(posix.sep))),
  });
  if (!result.state) {
    const count = result.diagnostics.length;
    const diagnostics = result.diagnostics.map((d) => ({ ...d }));
    throw new ValidationError(`environment ${environment} is invalid: ${count} problem${count === 1 ? '' : 's'}`, diagnostics);
  }
  return result.state;
}
