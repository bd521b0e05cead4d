/**
 * Cross-document rules (pure): unique names, dependencies that exist and form
 * no cycle, paths that stay inside the repository, required context.
 */
import { posix } from 'node:path';
import type { Diagnostic } from '../domain/diagnostic.js';
import type { ContextDimension, DesiredTask } from '../domain/manifest.js';
import type { ParsedDocument } from '../manifest/parse.js';

/** A rendered task and the document it came from, for diagnostics. */
export interface TaskOrigin { task: DesiredTask; doc: ParsedDocument }

export interface RuleContext {
  environment: string;
  envDoc: ParsedDocument;
  requiredContext: ContextDimension[];
  /** Manifest folder relative to the repository root ('' for the root); relative paths start there. */
  manifestRoot: string;
  repoRoot?: string;
  fileExists?: (path: string) => boolean;
  /** Names (after namePrefix) of tasks left out because their document is invalid; depending on them is not a further error. */
  rejected?: ReadonlySet<string>;
}

function at(doc: ParsedDocument, pointer: string, message: string): Diagnostic {
  const pos = doc.locate(pointer);
  return { file: doc.file, line: pos?.line, column: pos?.column, pointer, message, document: doc.index };
}

function checkUnique(origins: TaskOrigin[], out: Diagnostic[]): void {
  const first = new Map<string, TaskOrigin>();
  for (const o of origins) {
    const seen = first.get(o.task.name);
    if (seen) out.push(at(o.doc, '/metadata/name', `duplicate task name "${o.task.name}": already defined in ${seen.doc.file}`));
    else first.set(o.task.name, o);
  }
}

function prefixOf(task: DesiredTask): string {
  return task.name.slice(0, task.name.length - task.sourceName.length);
}

function writtenDependsOn(o: TaskOrigin): string[] {
  return (o.doc.value as { spec?: { dependsOn?: string[] } }).spec?.dependsOn ?? [];
}

/**
 * Tasks by name (the last of tasks sharing a name, as the dependency rules
 * have always looked them up), with each task's position in `origins`.
 */
function indexByName(origins: TaskOrigin[]): Map<string, number> {
  const byName = new Map<string, number>();
  for (let t = 0; t < origins.length; t++) byName.set(origins[t]!.task.name, t);
  return byName;
}

function checkDependencies(origins: TaskOrigin[], byName: Map<string, number>, ctx: RuleContext, out: Diagnostic[]): void {
  // Runs for every task of every render: nothing is allocated per task or dependency unless there is a problem.
  const origin = (name: string) => origins[byName.get(name)!]!;
  let known: string | undefined;
  const knownNames = () => (known ??= [...byName.values()].map((t) => origins[t]!.task.sourceName).sort().join(', '));
  for (let t = 0; t < origins.length; t++) {
    const o = origins[t]!;
    const dependsOn = o.task.dependsOn;
    for (let d = 0; d < dependsOn.length; d++) {
      const name = dependsOn[d]!;
      const self = name === o.task.name;
      if (!self && (byName.has(name) || ctx.rejected?.has(name))) continue;
      // The rendered list counts, patches included; the written one only locates an entry.
      const dep = name.slice(prefixOf(o.task).length);
      const i = writtenDependsOn(o).indexOf(dep);
      const pointer = i >= 0 ? `/spec/dependsOn/${i}` : '/spec/dependsOn';
      const added = i >= 0 ? '' : ` (added by a patch of environment ${ctx.environment})`;
      if (self) out.push(at(o.doc, pointer, `task "${o.task.sourceName}" cannot depend on itself${added}`));
      else out.push(at(o.doc, pointer, `depends on "${dep}"${added}, which is not a task of environment ${ctx.environment}; expected one of: ${knownNames()}`));
    }
  }
  // Depth-first search for cycles; a task's state is kept by its position in `origins`.
  const VISITING = 1;
  const DONE = 2;
  const state = new Uint8Array(origins.length);
  const reported = new Set<string>();
  /** The path from the current root to the task being visited, that task excluded. */
  const stack: string[] = [];
  const visit = (name: string): void => {
    const position = byName.get(name)!;
    if (state[position] === DONE) return;
    if (state[position] === VISITING) {
      const cycle = [...stack.slice(stack.indexOf(name)), name];
      const key = cycle.slice(0, -1).sort().join(',');
      if (reported.has(key)) return;
      reported.add(key);
      const o = origin(cycle[0]!);
      const index = Math.max(0, writtenDependsOn(o).indexOf(origin(cycle[1]!).task.sourceName));
      out.push(at(o.doc, `/spec/dependsOn/${index}`, `dependency cycle: ${cycle.map((n) => origin(n).task.sourceName).join(' -> ')}`));
      return;
    }
    state[position] = VISITING;
    const dependsOn = origins[position]!.task.dependsOn;
    stack.push(name);
    for (let d = 0; d < dependsOn.length; d++) {
      const dep = dependsOn[d]!;
      if (byName.has(dep) && dep !== name) visit(dep);
    }
    stack.pop();
    state[position] = DONE;
  };
  const names = [...byName.keys()].sort();
  for (let n = 0; n < names.length; n++) visit(names[n]!);
}

/** Paths with an empty, `.` or `..` segment, or a leading or trailing slash: joining them needs normalisation. */
const NOT_PLAIN = /(^|\/)\.\.?(\/|$)|\/\/|^\/|\/$/;

/** A relative path of named segments only, as `posix.normalize` leaves it. */
function isPlain(path: string): boolean {
  return path !== '' && !NOT_PLAIN.test(path);
}

/** The repository-relative form of `path` (relative to `base`), or undefined when it leaves the repository. */
function insideRepository(base: string, path: string, ctx: RuleContext): string | undefined {
  // Common case, without building and normalising an intermediate path: both parts are already normal.
  if (base === '' || base === '.' || isPlain(base)) {
    const atRoot = base === '' || base === '.';
    if (path === '.') return atRoot ? '.' : base;
    if (isPlain(path)) return atRoot ? path : `${base}/${path}`;
  }
  if (posix.isAbsolute(path)) {
    if (!ctx.repoRoot) return undefined;
    const rel = posix.relative(ctx.repoRoot, path);
    return rel.startsWith('..') || posix.isAbsolute(rel) ? undefined : posix.normalize(rel || '.');
  }
  const normal = posix.normalize(posix.join(base || '.', path));
  return normal === '..' || normal.startsWith('../') ? undefined : normal;
}

const SCRIPT_EXTENSIONS = /\.(c?js|mjs|ts|cts|mts|py|sh|rb|php)$/;

/**
 * Resolves `cwd` (default: the manifest folder) and `script` (relative to cwd,
 * as PM2 does) against the repository, rewriting `cwd` to its repository-relative
 * form so that the rendered state says exactly where the process runs.
 */
function checkPaths(o: TaskOrigin, ctx: RuleContext, out: Diagnostic[]): void {
  const proc = o.task.process;
  const written = ((o.doc.value as { spec?: { process?: Record<string, unknown> } }).spec?.process ?? {});
  const scriptKey = 'script' in written ? 'script' : 'exec';
  const cwd = insideRepository(ctx.manifestRoot, typeof proc.cwd === 'string' ? proc.cwd : '.', ctx);
  if (cwd === undefined) {
    out.push(at(o.doc, '/spec/process/cwd', `cwd "${String(proc.cwd)}" leaves the repository; expected a path inside it`));
    return;
  }
  proc.cwd = cwd;
  const script = proc.script;
  const isCommand = !script.includes('/') && !SCRIPT_EXTENSIONS.test(script) && !(ctx.fileExists?.(posix.join(cwd, script)) ?? false);
  if (isCommand) return; // a program on PATH, such as `sleep` or `npm`
  const effective = insideRepository(cwd, script, ctx);
  if (effective === undefined) {
    out.push(at(o.doc, `/spec/process/${scriptKey}`, `script "${script}" leaves the repository; expected a path inside it, relative to ${cwd === '.' ? 'the repository root' : `cwd "${cwd}"`}`));
    return;
  }
  if (posix.isAbsolute(script)) proc.script = posix.relative(cwd === '.' ? '' : cwd, effective);
  if (ctx.fileExists && !ctx.fileExists(effective)) {
    out.push(at(o.doc, `/spec/process/${scriptKey}`, `script "${script}" does not exist in the repository (looked for ${effective})`));
  }
}

function checkContext(o: TaskOrigin, ctx: RuleContext, out: Diagnostic[]): void {
  const required = ctx.requiredContext;
  for (let i = 0; i < required.length; i++) {
    const dim = required[i]!;
    const value = o.task.context[dim];
    if (value === undefined || (Array.isArray(value) && value.length === 0) || value === '') {
      out.push(at(o.doc, `/metadata/context/${dim}`, `context dimension "${dim}" is required by environment ${ctx.environment} (${ctx.envDoc.file}) but missing`));
    }
  }
}

function checkJob(o: TaskOrigin, out: Diagnostic[]): void {
  if (o.task.type === 'job' && o.task.process.autorestart === true) {
    out.push(at(o.doc, '/spec/process/autorestart', 'a job runs to completion once per revision; autorestart must be false or absent'));
  }
}

/** Runs every cross-document rule; may rewrite absolute in-repository paths to relative ones. */
export function validateRules(origins: TaskOrigin[], ctx: RuleContext): Diagnostic[] {
  const out: Diagnostic[] = [];
  const byName = indexByName(origins);
  // Names are unique when the index has one entry per task; only then is there nothing to report.
  if (byName.size !== origins.length) checkUnique(origins, out);
  checkDependencies(origins, byName, ctx, out);
  for (const o of origins) {
    checkPaths(o, ctx, out);
    checkContext(o, ctx, out);
    checkJob(o, out);
  }
  return out;
}
