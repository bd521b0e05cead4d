/**
 * load (I/O): reads the manifest files of a repository working tree and
 * renders one environment from them.
 */
import { existsSync, readdirSync, statSync, type Dirent } from 'node:fs';
import { availableParallelism } from 'node:os';
import { relative, resolve, sep } from 'node:path';
import { createPathProbe } from '../adapters/path-probe.js';
import { ValidationError } from '../domain/errors.js';
import type { Diagnostic } from '../domain/diagnostic.js';
import type { DesiredState } from '../domain/manifest.js';
import { selectHost, type HostIdentity } from '../render/hosts.js';
import { renderDesiredState } from './desired.js';
import { holdsBytes, readBounded } from './file-bytes.js';
import { parseManifestFile, type ParsedDocument, type ParsedFile } from './parse.js';
import { decodeManifest, tooLarge } from './text.js';
import { copyValue, deepFreeze } from './values.js';

const SKIP_DIRS = new Set(['node_modules']);

function toPosix(path: string): string {
  return sep === '/' ? path : path.split(sep).join('/');
}

/** A manifest file found under the manifest folder: its absolute path and its repository-relative POSIX path. */
interface FoundFile { full: string; file: string }

/** `dir` joined with an entry name, as `path.join` would (`dir` is absolute and normalised). */
function child(dir: string, name: string): string {
  return dir.endsWith(sep) ? dir + name : dir + sep + name;
}

/** What the walk makes of a directory entry. */
type EntryKind = typeof OTHER | typeof DIRECTORY | typeof MANIFEST;
const OTHER = 0;
const DIRECTORY = 1;
const MANIFEST = 2;

/**
 * One directory as the last walk listed it: its entries (names not starting
 * with a dot, in listing order) with their kinds, and the paths built for them.
 */
interface ListedDir {
  rel: string;
  names: string[];
  kinds: EntryKind[];
  /** For a directory entry: its absolute and relative path; for a manifest file: the found file. */
  paths: Array<FoundFile | undefined>;
}

/**
 * The last walk of each manifest folder: the listing of every directory under
 * it and the sorted files found. Every walk lists every directory again; when
 * a listing is unchanged its paths are reused, and when all are unchanged the
 * sorted file list is reused as it is.
 */
interface Walk { dirs: Map<string, ListedDir>; found: FoundFile[] }
const walks = new Map<string, Walk>();
const WALKS_LIMIT = 16;

/** The parsed files last handed out for each manifest folder (frozen). */
const lastFiles = new Map<string, readonly ParsedFile[]>();

function kindOf(entry: Dirent): EntryKind {
  if (entry.isDirectory()) return SKIP_DIRS.has(entry.name) ? OTHER : DIRECTORY;
  return entry.isFile() && /\.ya?ml$/.test(entry.name) ? MANIFEST : OTHER;
}

/** Lists `dir` (relative path `rel`), reusing the previous listing's paths when it is unchanged; returns whether it changed. */
function listDir(dir: string, rel: string, previous: Map<string, ListedDir> | undefined, next: Map<string, ListedDir>): { listed: ListedDir; changed: boolean } {
  const entries = readdirSync(dir, { withFileTypes: true });
  const kept = previous?.get(dir);
  let same = kept !== undefined && kept.rel === rel;
  let count = 0;
  for (let i = 0; i < entries.length && same; i++) {
    const entry = entries[i]!;
    if (entry.name.startsWith('.')) continue;
    same = count < kept!.names.length && kept!.names[count] === entry.name && kept!.kinds[count] === kindOf(entry);
    count++;
  }
  if (same && count === kept!.names.length) {
    next.set(dir, kept!);
    return { listed: kept!, changed: false };
  }
  const listed: ListedDir = { rel, names: [], kinds: [], paths: [] };
  for (const entry of entries) {
    const name = entry.name;
    if (name.startsWith('.')) continue;
    const kind = kindOf(entry);
    listed.names.push(name);
    listed.kinds.push(kind);
    listed.paths.push(kind === OTHER ? undefined : { full: child(dir, name), file: rel === '' ? name : `${rel}/${name}` });
  }
  next.set(dir, listed);
  return { listed, changed: true };
}

/** Appends the manifest files under `dir` to `out`; returns whether any listing changed since the previous walk. */
function walk(dir: string, rel: string, out: FoundFile[], previous: Map<string, ListedDir> | undefined, next: Map<string, ListedDir>): boolean {
  const { listed, changed } = listDir(dir, rel, previous, next);
  let any = changed;
  for (let i = 0; i < listed.names.length; i++) {
    const path = listed.paths[i];
    if (listed.kinds[i] === DIRECTORY) any = walk(path!.full, path!.file, out, previous, next) || any;
    else if (listed.kinds[i] === MANIFEST) out.push(path!);
  }
  return any;
}

/** The manifest files under `dir`, ordered by absolute path, as the files have always been. */
function findFiles(dir: string, rel: string): FoundFile[] {
  const previous = walks.get(dir);
  const next = new Map<string, ListedDir>();
  const found: FoundFile[] = [];
  const changed = walk(dir, rel, found, previous?.dirs, next);
  // Unchanged listings everywhere (the same directories, too): the previous sorted list holds exactly these files.
  if (previous && !changed && next.size === previous.dirs.size) {
    previous.dirs = next;
    return previous.found;
  }
  found.sort((a, b) => (a.full < b.full ? -1 : a.full > b.full ? 1 : 0));
  walks.delete(dir);
  if (walks.size >= WALKS_LIMIT) walks.delete(walks.keys().next().value!);
  walks.set(dir, { dirs: next, found });
  return found;
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
  /** The decoded text ('' for a file that is not UTF-8 text). */
  text: string;
  parsed: ParsedFile;
  /** The file's bytes: a file holding exactly these bytes needs no new read or parse. */
  bytes: Buffer;
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

/** What a file that is not UTF-8 text, or too large, parses to: its one problem. */
function refusedFile(diagnostic: Diagnostic): ParsedFile {
  return Object.freeze({ file: diagnostic.file, documents: Object.freeze([]) as unknown as ParsedDocument[], diagnostics: Object.freeze([Object.freeze(diagnostic)]) as Diagnostic[], unreadable: Object.freeze([]) as unknown as ParsedDocument[] });
}

/**
 * Reads and parses one file (repository-relative `file` at absolute `full`),
 * reusing the kept parse when the file holds the same bytes; the result is
 * shared and deeply frozen.
 */
function parseFile(file: string, full: string): ParsedFile {
  let entry = parsedFiles.get(file);
  if (entry && holdsBytes(full, entry.bytes)) return entry.parsed;
  const bytes = readBounded(full);
  if (typeof bytes === 'number') return refusedFile(tooLarge(file, bytes));
  if (!entry?.bytes.equals(bytes)) {
    if (parsedFiles.size >= PARSED_FILES_LIMIT) parsedFiles.clear();
    const decoded = decodeManifest(file, bytes);
    entry = 'text' in decoded
      ? { text: decoded.text, parsed: withoutSyntaxTree(parseManifestFile(file, decoded.text), decoded.text), bytes }
      : { text: '', parsed: refusedFile(decoded.problem), bytes };
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
  const found = findFiles(dir, toPosix(rel));
  const files = new Array<ParsedFile>(found.length);
  let same = lastFiles.get(dir)?.length === found.length;
  for (let i = 0; i < found.length; i++) {
    files[i] = parseFile(found[i]!.file, found[i]!.full);
    same &&= files[i] === lastFiles.get(dir)![i];
  }
  // The same files as last time: hand out the same frozen list, so that what renders derive from it can be kept.
  if (same) return lastFiles.get(dir) as ParsedFile[];
  Object.freeze(files);
  if (!lastFiles.has(dir) && lastFiles.size >= WALKS_LIMIT) lastFiles.delete(lastFiles.keys().next().value!);
  lastFiles.set(dir, files);
  return files;
}

/** The repository-relative paths of every manifest file under the manifest folder (never part of a task's code). */
export function manifestFilePaths(source: ManifestSource): string[] {
  return readSharedFiles(source).map((f) => f.file);
}

/** Reads and parses every `*.yaml`/`*.yml` under the manifest folder; throws ValidationError if the folder is missing. */
export function readManifestFiles(source: ManifestSource): ParsedFile[] {
  return readSharedFiles(source).map(copyParsedFile);
}

/** What the operator decides for a render: folders outside the repository that paths may use, and the bound on instances. */
export interface RenderOptions {
  /** Absolute folders outside the repository that `cwd` and `script` may lie in (`--allow-root`). */
  allowRoots?: readonly string[];
  /** Most workers per task (`--max-instances`); default: 4 × the CPUs of this host. */
  maxInstances?: number;
  /** The host the state is for (`--host`, `--host-label`): only the tasks that target it; without it, every task. */
  host?: HostIdentity;
}

/** Loads, renders and validates one environment; throws ValidationError with its problems. */
export function loadDesiredState(source: ManifestSource, environment: string, options: RenderOptions = {}): DesiredState {
  const state = renderEnvironment(source, environment, options);
  return options.host ? selectHost(state, options.host) : state;
}

function renderEnvironment(source: ManifestSource, environment: string, options: RenderOptions): DesiredState {
  const root = resolve(source.repoRoot);
  // The render never changes its input and shares nothing of it with its result: no copy is needed.
  return renderDesiredState({
    files: readSharedFiles(source),
    environment,
    manifestRoot: toPosix(relative(root, resolve(root, source.path ?? '.'))),
    repoRoot: toPosix(root),
    paths: createPathProbe(root),
    allowRoots: options.allowRoots?.map((dir) => toPosix(resolve(dir))),
    cpus: availableParallelism(),
    ...(options.maxInstances !== undefined ? { maxInstances: options.maxInstances } : {}),
  }, `${root}\u0000${source.path ?? '.'}\u0000${environment}`);
}
