/**
 * load (I/O): reads the manifest files of a repository working tree and
 * renders one environment from them.
 */
import { existsSync, readdirSync, readFileSync, statSync } from 'node:fs';
import { join, posix, relative, resolve, sep } from 'node:path';
import { ValidationError } from '../domain/errors.js';
import type { DesiredState } from '../domain/manifest.js';
import { render } from '../render/render.js';
import { parseManifestFile, type ParsedFile } from './parse.js';

const SKIP_DIRS = new Set(['node_modules']);

function toPosix(path: string): string {
  return sep === '/' ? path : path.split(sep).join('/');
}

function walk(dir: string, out: string[]): void {
  for (const entry of readdirSync(dir, { withFileTypes: true })) {
    if (entry.name.startsWith('.')) continue;
    const full = join(dir, entry.name);
    if (entry.isDirectory()) {
      if (!SKIP_DIRS.has(entry.name)) walk(full, out);
    } else if (entry.isFile() && /\.ya?ml$/.test(entry.name)) {
      out.push(full);
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
 * is rebuilt from the text when a position is asked for.
 */
const parsedFiles = new Map<string, { text: string; parsed: ParsedFile }>();
const PARSED_FILES_LIMIT = 20_000;

function withoutSyntaxTree(parsed: ParsedFile, text: string): ParsedFile {
  const { file } = parsed; // the closure below must not keep `parsed`, which holds the syntax tree
  let reparsed: ParsedFile | undefined;
  const locate = (index: number, pointer: string) => {
    reparsed ??= parseManifestFile(file, text);
    return reparsed.documents.find((d) => d.index === index)?.locate(pointer);
  };
  return {
    ...parsed,
    documents: parsed.documents.map(({ index, value }) => ({ file, index, value, locate: (pointer: string) => locate(index, pointer) })),
  };
}

/** Deep copy of a parsed YAML value: plain data, so a recursive copy is several times cheaper than structuredClone. */
function copyValue(value: unknown): unknown {
  if (value === null || typeof value !== 'object') return value;
  if (Array.isArray(value)) return value.map(copyValue);
  if (Object.getPrototypeOf(value) !== Object.prototype) return structuredClone(value);
  const out: Record<string, unknown> = {};
  for (const key of Object.keys(value)) {
    const copy = copyValue((value as Record<string, unknown>)[key]);
    // A YAML key "__proto__" is an own property, as the parser makes it; never a prototype.
    if (key === '__proto__') Object.defineProperty(out, key, { value: copy, enumerable: true, writable: true, configurable: true });
    else out[key] = copy;
  }
  return out;
}

/** Parses one file, or reuses the parse of identical text; callers get their own copy of every value. */
function parseFile(file: string, text: string): ParsedFile {
  let entry = parsedFiles.get(file);
  if (entry?.text !== text) {
    if (parsedFiles.size >= PARSED_FILES_LIMIT) parsedFiles.clear();
    entry = { text, parsed: withoutSyntaxTree(parseManifestFile(file, text), text) };
    parsedFiles.set(file, entry);
  }
  const { parsed } = entry;
  return { ...parsed, diagnostics: [...parsed.diagnostics], documents: parsed.documents.map((d) => ({ ...d, value: copyValue(d.value) })) };
}

/** Reads and parses every `*.yaml`/`*.yml` under the manifest folder; throws ValidationError if the folder is missing. */
export function readManifestFiles(source: ManifestSource): ParsedFile[] {
  const root = resolve(source.repoRoot);
  const dir = resolve(root, source.path ?? '.');
  const rel = relative(root, dir);
  if (rel.startsWith('..')) throw new ValidationError(`--path ${source.path} leaves the repository ${root}`);
  if (!existsSync(dir) || !statSync(dir).isDirectory()) {
    throw new ValidationError(`manifest folder ${dir} does not exist; expected a directory of YAML manifests (check --repo and --path)`);
  }
  const files: string[] = [];
  walk(dir, files);
  return files.sort().map((full) => parseFile(toPosix(relative(root, full)), readFileSync(full, 'utf8')));
}

/** Loads, renders and validates one environment; throws ValidationError with every diagnostic. */
export function loadDesiredState(source: ManifestSource, environment: string): DesiredState {
  const root = resolve(source.repoRoot);
  const files = readManifestFiles(source);
  const result = render({
    files,
    environment,
    manifestRoot: toPosix(relative(root, resolve(root, source.path ?? '.'))),
    repoRoot: toPosix(root),
    fileExists: (path) => existsSync(join(root, ...path.split(posix.sep))),
  });
  if (!result.state) {
    const count = result.diagnostics.length;
    throw new ValidationError(`environment ${environment} is invalid: ${count} problem${count === 1 ? '' : 's'}`, result.diagnostics);
  }
  return result.state;
}
