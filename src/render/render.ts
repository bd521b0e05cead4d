/**
 * render (pure): parsed manifest files + an environment name → the rendered
 * desired state, or every diagnostic that stands in the way.
 */
import type { Diagnostic } from '../domain/diagnostic.js';
import { sortDiagnostics } from '../domain/diagnostic.js';
import {
  DEFAULT_POLICY, type DesiredState, type DesiredTask, type EnvironmentManifest, type PatchSpec, type Policy, type TaskManifest,
} from '../domain/manifest.js';
import type { ParsedDocument, ParsedFile } from '../manifest/parse.js';
import { copyValue, deepFreeze, isDeeplyFrozen, sortStrings } from '../manifest/values.js';
import { validateDocument, validateValue } from '../validate/schema.js';
import { validateRules, type TaskOrigin } from '../validate/rules.js';
import { applyOverlay, matchesTarget, type PatchOutcome } from './patches.js';
import { foldProcess } from './process.js';
import { resolveResource } from './resources.js';

export interface RenderInput {
  /** Every manifest file that was loaded, paths relative to the repository root. */
  files: ParsedFile[];
  environment: string;
  /** Manifest folder relative to the repository root ('' or '.' for the root). */
  manifestRoot?: string;
  /** Absolute repository root, used only to turn absolute paths inside it into relative ones. */
  repoRoot?: string;
  /** Whether a repository-relative file exists; enables the script-exists check. */
  fileExists?: (path: string) => boolean;
}

export interface RenderResult {
  state?: DesiredState;
  diagnostics: Diagnostic[];
}

interface Located { doc: ParsedDocument; value: Record<string, unknown>; usable?: boolean }

/**
 * Parts of an Environment that shape the tasks. While they are well-formed, the
 * patches and cross-document rules still run when other parts (policy, labels,
 * …) are invalid, so that those errors do not hide the tasks' own.
 */
function shapesTasks(pointer: string): boolean {
  return pointer === '' || pointer === '/spec' || /^\/spec\/(patches|namePrefix|env|requiredContext)(\/|$)/.test(pointer);
}

function at(doc: ParsedDocument, pointer: string, message: string): Diagnostic {
  const pos = doc.locate(pointer);
  return { file: doc.file, line: pos?.line, column: pos?.column, pointer, message, document: doc.index };
}

/** Appends every item of `items`; unlike `push(...items)`, nothing is allocated for an empty list. */
function pushAll<T>(target: T[], items: readonly T[]): void {
  for (let i = 0; i < items.length; i++) target.push(items[i]!);
}

function kindOf(value: unknown): unknown {
  return value && typeof value === 'object' ? (value as Record<string, unknown>).kind : undefined;
}

/** Every Environment document in the loaded files, by name. */
export function findEnvironments(files: ParsedFile[]): Array<{ name: string; doc: ParsedDocument }> {
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

function resolveEnvironment(input: RenderInput, diagnostics: Diagnostic[]): Located | undefined {
  const all = findEnvironments(input.files);
  const matches = all.filter((e) => e.name === input.environment);
  if (matches.length === 0) {
    for (const file of input.files) diagnostics.push(...file.diagnostics);
    const names = [...new Set(all.map((e) => e.name))];
    diagnostics.push({
      file: '.', pointer: '',
      message: `environment "${input.environment}" not found; ${names.length ? `available: ${names.join(', ')}` : 'no Environment manifest was found'}`,
    });
    return undefined;
  }
  const [first, ...others] = matches;
  for (const other of others) {
    diagnostics.push(at(other.doc, '/metadata/name', `environment "${input.environment}" is also defined in ${first!.doc.file}; names must be unique`));
  }
  const envFile = input.files.find((f) => f.file === first!.doc.file);
  diagnostics.push(...(envFile?.diagnostics ?? []));
  const problems = validateDocument(first!.doc, 'Environment');
  diagnostics.push(...problems);
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
function indexFiles(files: ParsedFile[]): FileIndex {
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
interface CollectedTasks { tasks: Located[]; rejected: Located[] }

function collectTasks(env: Located, input: RenderInput, diagnostics: Diagnostic[]): CollectedTasks {
  const resources = (env.value.spec as { resources?: unknown } | undefined)?.resources;
  const tasks: Located[] = [];
  const rejected: Located[] = [];
  if (!Array.isArray(resources)) return { tasks, rejected };
  const { byPath, paths } = indexFiles(input.files);
  const lists: string[][] = [];
  resources.forEach((entry, i) => {
    if (typeof entry !== 'string') return;
    const res = resolveResource(env.doc.file, entry, paths);
    if (res.kind === 'escape') diagnostics.push(at(env.doc, `/spec/resources/${i}`, `resource "${entry}" resolves to ${res.path}, outside the repository; resources must stay inside it`));
    else if (res.kind === 'missing') diagnostics.push(at(env.doc, `/spec/resources/${i}`, `resource "${entry}" (${res.path}) matches no manifest file or folder`));
    else lists.push(res.files);
  });
  // One resource (the common case) names its files sorted and without repeats already.
  const includedPaths = lists.length === 1
    ? lists[0]!.filter((f) => f !== env.doc.file)
    : [...new Set(lists.flat())].filter((f) => f !== env.doc.file).sort();
  for (let p = 0; p < includedPaths.length; p++) {
    const file = byPath.get(includedPaths[p]!)!;
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
        diagnostics.push(at(doc, '', `must be a Task manifest (a map with apiVersion, kind, metadata and spec) in a resource of environment ${input.environment}, got ${Array.isArray(doc.value) ? 'a list' : JSON.stringify(doc.value)}`));
        continue;
      }
      if (kind !== 'Task') {
        diagnostics.push(at(doc, '/kind', `must be "Task" in a resource of environment ${input.environment}, got ${JSON.stringify(kind ?? null)}`));
        rejected.push({ doc, value: doc.value as Record<string, unknown> });
        continue;
      }
      const problems = validateDocument(doc, 'Task');
      pushAll(diagnostics, problems);
      (problems.length === 0 ? tasks : rejected).push({ doc, value: doc.value as Record<string, unknown> });
    }
  }
  return { tasks, rejected };
}

/** The name and labels a task document declares, when they are well-formed enough to match on. */
function identityOf(value: Record<string, unknown>): { name?: string; labels?: Record<string, string> } {
  const metadata = value.metadata as { name?: unknown; labels?: unknown } | undefined;
  const labels = metadata?.labels;
  return {
    name: typeof metadata?.name === 'string' ? metadata.name : undefined,
    labels: labels && typeof labels === 'object' && !Array.isArray(labels) ? labels as Record<string, string> : undefined,
  };
}

/** One patch applied to one task document: the outcome and, when it applied, the problems of the patched document. */
interface PatchStep { outcome: PatchOutcome; problems: ReadonlyArray<{ pointer: string; message: string }> }

/**
 * Patch steps of deeply frozen task documents by deeply frozen patches (as the
 * manifest loader keeps them): neither can change, so a task is patched and
 * re-validated once however often its environment is rendered. Patched
 * documents are frozen in turn, so the next patch on a task is kept as well.
 * Weak on both keys: steps go when the document or the environment goes.
 */
const keptSteps = new WeakMap<object, WeakMap<PatchSpec, PatchStep>>();

function patchStep(before: TaskManifest, patch: PatchSpec, keep: boolean): PatchStep {
  if (!keep || !isDeeplyFrozen(before)) return applyStep(before, patch);
  let byPatch = keptSteps.get(before);
  if (!byPatch) {
    byPatch = new WeakMap();
    keptSteps.set(before, byPatch);
  }
  let step = byPatch.get(patch);
  if (!step) {
    step = applyStep(before, patch);
    if (step.outcome.ok) deepFreeze(step.outcome.document);
    byPatch.set(patch, step);
  }
  return step;
}

function applyStep(before: TaskManifest, patch: PatchSpec): PatchStep {
  const outcome = applyOverlay(before, patch);
  return { outcome, problems: outcome.ok ? validateValue(outcome.document, 'Task') : [] };
}

/** The task documents after the environment's patches, by position in `tasks`. */
function applyPatches(env: Located, tasks: Located[], rejected: Located[], diagnostics: Diagnostic[]): TaskManifest[] {
  const patched = tasks.map((t) => t.value as unknown as TaskManifest);
  const patches = ((env.value as unknown as EnvironmentManifest).spec?.patches ?? []);
  const keep = isDeeplyFrozen(env.value);
  for (let i = 0; i < patches.length; i++) {
    const patch = patches[i]!;
    const target = patch.target ?? {};
    // A patch changes only the task it is applied to, so matching and applying in one pass
    // selects the same tasks as matching them all first.
    let matched = false;
    for (let t = 0; t < tasks.length; t++) {
      const before = patched[t]!;
      if (!matchesTarget(target, before.metadata.name, before.metadata.labels)) continue;
      matched = true;
      const { outcome, problems } = patchStep(before, patch, keep);
      if (!outcome.ok) {
        diagnostics.push(at(env.doc, `/spec/patches/${i}/patch/${outcome.operation}`, `cannot patch task ${before.metadata.name} (${tasks[t]!.doc.file}): ${outcome.message}`));
        continue;
      }
      if (problems.length) {
        for (const p of problems) {
          diagnostics.push(at(env.doc, `/spec/patches/${i}`, `patch makes task ${before.metadata.name} (${tasks[t]!.doc.file}) invalid at ${p.pointer || '/'}: ${p.message}`));
        }
        continue;
      }
      patched[t] = outcome.document as TaskManifest;
    }
    if (matched) continue;
    if (rejected.some((t) => { const id = identityOf(t.value); return id.name !== undefined && matchesTarget(target, id.name, id.labels); })) continue;
    diagnostics.push(at(env.doc, `/spec/patches/${i}/target`, `patch target ${JSON.stringify(patch.target)} matches no task of this environment`));
  }
  return patched;
}

/** Options every task has unless it sets them. */
const PROCESS_DEFAULTS: Readonly<Record<string, unknown>> = Object.freeze({ cwd: '.' });

/** The rendered task of a (patched) task document; alias conflicts of its process options go to `diagnostics`. */
function buildTask(m: TaskManifest, env: EnvironmentManifest, doc: ParsedDocument, diagnostics: Diagnostic[]): DesiredTask {
  const prefix = env.spec.namePrefix ?? '';
  const { process, conflicts } = foldProcess(m.spec.process as Record<string, unknown>, env.spec.env ?? {}, PROCESS_DEFAULTS);
  for (let i = 0; i < conflicts.length; i++) {
    const c = conflicts[i]!;
    diagnostics.push(at(doc, `/spec/process/${c.alias}`, `"${c.alias}" is an alias of "${c.option}", which is also set; keep one`));
  }
  const type = m.spec.type ?? 'service';
  if (type === 'job' && process.autorestart === undefined) process.autorestart = false;
  const written = m.spec.dependsOn ?? [];
  const dependsOn = new Array<string>(written.length);
  for (let i = 0; i < written.length; i++) dependsOn[i] = prefix + written[i]!;
  // The task shares nothing with its manifest, which may be shared by other renders.
  // Properties are added in the order the serialised task has always had.
  const task = {
    name: prefix + m.metadata.name,
    sourceName: m.metadata.name,
    file: doc.file,
    type,
    dependsOn: sortStrings(dependsOn),
    labels: copyValue(m.metadata.labels ?? {}),
    context: copyValue(m.metadata.context ?? {}),
  } as DesiredTask;
  if (m.spec.health) task.health = copyValue(m.spec.health);
  if (m.spec.hosts) task.hosts = copyValue(m.spec.hosts);
  if (m.spec.hostSelector) task.hostSelector = copyValue(m.spec.hostSelector);
  task.process = process;
  return task;
}

/** Renders one environment. Returns the state only when there are no diagnostics. */
export function render(input: RenderInput): RenderResult {
  const diagnostics: Diagnostic[] = [];
  const env = resolveEnvironment(input, diagnostics);
  if (!env) return { diagnostics: sortDiagnostics(diagnostics) };
  const { tasks, rejected } = collectTasks(env, input, diagnostics);
  // Patches and rules need the parts of the environment that shape the tasks; its own errors are already reported.
  if (!env.usable) return { diagnostics: sortDiagnostics(diagnostics) };
  const envManifest = env.value as unknown as EnvironmentManifest;
  const patched = applyPatches(env, tasks, rejected, diagnostics);
  const origins: TaskOrigin[] = [];
  for (let i = 0; i < tasks.length; i++) {
    const t = tasks[i]!;
    origins.push({ task: buildTask(patched[i]!, envManifest, t.doc, diagnostics), doc: t.doc });
  }
  pushAll(diagnostics, validateRules(origins, {
    environment: input.environment,
    envDoc: env.doc,
    requiredContext: envManifest.spec?.requiredContext ?? [],
    manifestRoot: input.manifestRoot === '.' ? '' : (input.manifestRoot ?? ''),
    repoRoot: input.repoRoot,
    fileExists: input.fileExists,
    rejected: new Set(rejected.flatMap((t) => { const { name } = identityOf(t.value); return name === undefined ? [] : [`${envManifest.spec.namePrefix ?? ''}${name}`]; })),
  }));
  if (diagnostics.length) return { diagnostics: sortDiagnostics(diagnostics) };
  const policy: Policy = {
    ...DEFAULT_POLICY,
    ...(envManifest.spec.policy ?? {}),
    approvals: { ...DEFAULT_POLICY.approvals, ...(envManifest.spec.policy?.approvals ?? {}) },
  };
  const state: DesiredState = {
    environment: input.environment,
    namespace: envManifest.spec.namespace,
    file: env.doc.file,
    policy,
    tasks: origins.map((o) => o.task).sort((a, b) => a.name.localeCompare(b.name)),
  };
  return { state, diagnostics: [] };
}
