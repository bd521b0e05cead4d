/**
 * load (I/O): reads the manifest files of a repository working tree and
 * renders one environment from them.
 */
import { existsSync, readdirSync, readFileSync, statSync } from 'node:fs';
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
const parsedFiles = new Map<string, { text: string; parsed: ParsedFile }>();
const PARSED_FILES_LIMIT = 20_000;

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

/** Parses one file, or reuses the parse of identical text; the result is shared and deeply frozen. */
function parseFile(file: string, text: string): ParsedFile {
  let entry = parsedFiles.get(file);
  if (entry?.text !== text) {
    if (parsedFiles.size >= PARSED_FILES_LIMIT) parsedFiles.clear();
    entry = { text, parsed: withoutSyntaxTree(parseManifestFile(file, text), text) };
    parsedFiles.set(file, entry);
  }
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
  return found.map(({ full, file }) => parseFile(file, readFileSync(full, 'utf8')));
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
