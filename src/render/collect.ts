/**
 * Collecting an environment's documents (pure): the Environment named by
 * `--env`, and the Task documents its resources select, each checked against
 * its schema.
 */
import { describeValue, diagnosticAt, type Diagnostic } from '../domain/diagnostic.js';
import type { ParsedDocument, ParsedFile } from '../manifest/parse.js';
import { listNames, validateValue } from '../validate/schema.js';
import { resolveResource } from './resources.js';

/** A document and its value as a map. `usable`: an Environment whose task-shaping parts are valid. */
export interface Located { doc: ParsedDocument; value: Record<string, unknown>; usable?: boolean }

/** A diagnostic at `pointer` of `doc`, located only when shown. */
export function at(doc: ParsedDocument, pointer: string, message: string): Diagnostic {
  return diagnosticAt(doc.file, doc.index, pointer, message, doc.locate);
}

/** Appends every item of `items`; unlike `push(...items)`, nothing is allocated for an empty list, and no list is too long. */
export function pushAll<T>(target: T[], items: readonly T[]): void {
  for (let i = 0; i < items.length; i++) target.push(items[i]!);
}

function kindOf(value: unknown): unknown {
  return value && typeof value === 'object' ? (value as Record<string, unknown>).kind : undefined;
}

/**
 * Parts of an Environment that shape the tasks. While they are well-formed, the
 * patches and cross-document rules still run when other parts (policy, labels,
 * …) are invalid, so that those errors do not hide the tasks' own.
 */
function shapesTasks(pointer: string): boolean {
  return pointer === '' || pointer === '/spec' || /^\/spec\/(patches|namePrefix|env|requiredContext)(\/|$)/.test(pointer);
}

/** Every Environment document in the loaded files, by name. */
export function findEnvironments(files: readonly ParsedFile[]): Array<{ name: string; doc: ParsedDocument }> {
  const out: Array<{ name: string; doc: ParsedDocument }> = [];
  // Indexed loops: the kept files' lists are frozen, and iterating those allocates in V8.
  for (let f = 0; f < files.length; f++) {
    const documents = files[f]!.documents;
    for (let d = 0; d < documents.length; d++) {
      const doc = documents[d]!;
      if (kindOf(doc.value) !== 'Environment') continue;
      const name = (doc.value as { metadata?: { name?: unknown } }).metadata?.name;
      if (typeof name === 'string') out.push({ name, doc });
    }
  }
  return out.sort((a, b) => a.name.localeCompare(b.name));
}

/** The Environment document named `environment`, checked; undefined (with a diagnostic) when there is none. */
export function resolveEnvironment(files: readonly ParsedFile[], environment: string, diagnostics: Diagnostic[]): Located | undefined {
  const all = findEnvironments(files);
  const matches = all.filter((e) => e.name === environment);
  if (matches.length === 0) {
    for (const file of files) pushAll(diagnostics, file.diagnostics);
    const names = [...new Set(all.map((e) => e.name))];
    diagnostics.push({
      file: '.', pointer: '',
      message: `environment "${environment}" not found; ${names.length ? `available: ${listNames(names)}` : 'no Environment manifest was found'}`,
    });
    return undefined;
  }
  const [first, ...others] = matches;
  for (const other of others) {
    diagnostics.push(at(other.doc, '/metadata/name', `environment "${environment}" is also defined in ${first!.doc.file}; names must be unique`));
  }
  const envFile = files.find((f) => f.file === first!.doc.file);
  pushAll(diagnostics, envFile?.diagnostics ?? []);
  const problems = validateValue(first!.doc.value, 'Environment');
  for (const p of problems) diagnostics.push(at(first!.doc, p.pointer, p.message));
  const usable = !problems.some((p) => shapesTasks(p.pointer));
  return { doc: first!.doc, value: first!.doc.value as Record<string, unknown>, usable };
}

interface FileIndex { byPath: Map<string, ParsedFile>; paths: string[] }

/**
 * Indexes of file lists that cannot change: the manifest loader hands the same
 * frozen list of frozen files to every render while no file changed.
 */
const keptIndexes = new WeakMap<readonly ParsedFile[], FileIndex>();

/** The loaded files by path, and their paths in order. */
function indexFiles(files: readonly ParsedFile[]): FileIndex {
  const frozen = Object.isFrozen(files) && files.every((f) => Object.isFrozen(f));
  let index = frozen ? keptIndexes.get(files) : undefined;
  if (!index) {
    const byPath = new Map<string, ParsedFile>();
    for (const f of files) byPath.set(f.file, f);
    index = { byPath, paths: [...byPath.keys()] };
    if (frozen) keptIndexes.set(files, index);
  }
  return index;
}

/**
 * Task documents of the environment's resources that passed the schema, and the
 * ones that did not (their problems are already reported), so that references to
 * a rejected task (dependsOn, patch targets) do not add misleading errors.
 */
export interface CollectedTasks { tasks: Located[]; rejected: Located[]; tooMany: boolean }

/** The manifest files the environment's resources name; a resource that names none is reported. */
function includedFiles(env: Located, files: readonly ParsedFile[], diagnostics: Diagnostic[]): { files: ParsedFile[]; complete: boolean } {
  const resources = (env.value.spec as { resources?: unknown } | undefined)?.resources;
  // A missing or empty list is the schema's to report.
  if (!Array.isArray(resources) || resources.length === 0) return { files: [], complete: false };
  const { byPath, paths } = indexFiles(files);
  const lists: string[][] = [];
  let complete = true;
  resources.forEach((entry, i) => {
    if (typeof entry !== 'string') { complete = false; return; }
    const res = resolveResource(env.doc.file, entry, paths);
    if (res.kind === 'files') { lists.push(res.files); return; }
    complete = false;
    if (res.kind === 'escape') diagnostics.push(at(env.doc, `/spec/resources/${i}`, `resource "${entry}" resolves to ${res.path}, outside the repository; resources must stay inside it`));
    else diagnostics.push(at(env.doc, `/spec/resources/${i}`, `resource "${entry}" (${res.path}) matches no manifest file or folder`));
  });
  // One resource (the common case) names its files sorted and without repeats already.
  const included = lists.length === 1
    ? lists[0]!.filter((f) => f !== env.doc.file)
    : [...new Set(lists.flat())].filter((f) => f !== env.doc.file).sort();
  return { files: included.map((f) => byPath.get(f)!), complete };
}

/**
 * The Task documents the environment selects. An environment that selects no
 * task at all is an error, never an empty state: with prune, an empty state
 * deletes every process (a typo such as `resources: [prod.yaml]`, its own file,
 * must not do that). So is one beyond `maxTasks` tasks.
 */
export function collectTasks(env: Located, files: readonly ParsedFile[], environment: string, maxTasks: number, diagnostics: Diagnostic[]): CollectedTasks {
  const tasks: Located[] = [];
  const rejected: Located[] = [];
  const before = diagnostics.length;
  const included = includedFiles(env, files, diagnostics);
  for (let p = 0; p < included.files.length; p++) {
    const file = included.files[p]!;
    pushAll(diagnostics, file.diagnostics);
    const unreadable = file.unreadable ?? [];
    for (let d = 0; d < unreadable.length; d++) {
      const doc = unreadable[d]!;
      if (kindOf(doc.value) !== 'Environment') rejected.push({ doc, value: doc.value as Record<string, unknown> });
    }
    const documents = file.documents;
    for (let d = 0; d < documents.length; d++) {
      const doc = documents[d]!;
      const kind = kindOf(doc.value);
      if (kind === 'Environment') continue; // a folder resource may hold other environments' files
      const isMap = doc.value !== null && typeof doc.value === 'object' && !Array.isArray(doc.value);
      if (!isMap) {
        diagnostics.push(at(doc, '', `must be a Task manifest (a map with apiVersion, kind, metadata and spec) in a resource of environment ${environment}, got ${describeValue(doc.value)}`));
        continue;
      }
      if (kind !== 'Task') {
        diagnostics.push(at(doc, '/kind', `must be "Task" in a resource of environment ${environment}, got ${describeValue(kind ?? null)}`));
        rejected.push({ doc, value: doc.value as Record<string, unknown> });
        continue;
      }
      const problems = validateValue(doc.value, 'Task');
      for (let i = 0; i < problems.length; i++) diagnostics.push(at(doc, problems[i]!.pointer, problems[i]!.message));
      (problems.length === 0 ? tasks : rejected).push({ doc, value: doc.value as Record<string, unknown> });
    }
  }
  const count = tasks.length + rejected.length;
  if (count === 0 && included.complete && diagnostics.length === before) {
    diagnostics.push(at(env.doc, '/spec/resources', `environment ${environment} selects no Task manifest: its resources hold no Task documents (only Environment files, or nothing); expected files or folders of Task manifests, relative to ${env.doc.file}`));
  }
  const tooMany = count > maxTasks;
  if (tooMany) diagnostics.push(at(env.doc, '/spec/resources', `environment ${environment} selects ${count} tasks; an environment holds at most ${maxTasks}: split it into several environments`));
  return { tasks, rejected, tooMany };
}
