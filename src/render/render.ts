/**
 * render (pure): parsed manifest files + an environment name → the rendered
 * desired state, or the diagnostics that stand in the way (the first
 * DIAGNOSTIC_LIMIT of them, and how many more there are).
 */
import { capDiagnostics, DIAGNOSTIC_LIMIT, type Diagnostic } from '../domain/diagnostic.js';
import {
  DEFAULT_POLICY, type DesiredState, type DesiredTask, type EnvironmentManifest, type Policy, type TaskManifest,
} from '../domain/manifest.js';
import type { ParsedFile } from '../manifest/parse.js';
import { copyValue, sortStrings } from '../manifest/values.js';
import type { PathProbe } from '../validate/paths.js';
import { reportAt, validateRules, type TaskOrigin } from '../validate/rules.js';
import { at, collectTasks, pushAll, resolveEnvironment, type Located } from './collect.js';
import { blameOf, indexPatches, patchTask, type PatchedTask, type PatchIndex } from './overlay.js';
import { matchesTarget } from './patches.js';
import { foldProcess } from './process.js';
import { checkPolicy, checkRollout } from '../policy/validate.js';

export { findEnvironments } from './collect.js';
export type { PathProbe } from '../validate/paths.js';

/** Most tasks one environment may hold; the render bench's 2,000 lie well inside. */
export const MAX_TASKS = 10_000;

/** Workers per CPU a task may ask for unless the operator raises the limit (`--max-instances`). */
export const INSTANCES_PER_CPU = 4;

export interface RenderInput {
  /** Every manifest file that was loaded, paths relative to the repository root. */
  files: ParsedFile[];
  environment: string;
  /** Manifest folder relative to the repository root ('' or '.' for the root). */
  manifestRoot?: string;
  /** Absolute repository root, used only to turn absolute paths inside it into relative ones. */
  repoRoot?: string;
  /** Whether a repository-relative file exists; enables the script-exists check when `paths` is not given. */
  fileExists?: (path: string) => boolean;
  /** Real paths and existence, from the loader: enables the script-exists and symbolic-link checks. */
  paths?: PathProbe;
  /** Absolute folders outside the repository that `cwd` and `script` may lie in (`--allow-root`). */
  allowRoots?: readonly string[];
  /** CPUs of the host; bounds `instances` at INSTANCES_PER_CPU × cpus (default: 1 CPU). */
  cpus?: number;
  /** The operator's bound on `instances` (`--max-instances`), instead of the one from `cpus`. */
  maxInstances?: number;
  /** Most tasks the environment may hold; default MAX_TASKS. */
  maxTasks?: number;
}

export interface RenderResult {
  state?: DesiredState;
  /** The first DIAGNOSTIC_LIMIT problems, sorted. */
  diagnostics: Diagnostic[];
  /** Problems found beyond `diagnostics`, when there are any. */
  omitted?: number;
}

function finish(diagnostics: Diagnostic[]): RenderResult {
  const { shown, omitted } = capDiagnostics(diagnostics, DIAGNOSTIC_LIMIT);
  return omitted > 0 ? { diagnostics: shown, omitted } : { diagnostics: shown };
}

/** Options every task has unless it sets them. */
const PROCESS_DEFAULTS: Readonly<Record<string, unknown>> = Object.freeze({ cwd: '.' });

/** The rendered task of a (patched) task document, and the aliases it sets together with their option. */
function buildTask(m: TaskManifest, env: EnvironmentManifest, file: string): { task: DesiredTask; conflicts: ReadonlyArray<{ alias: string; option: string }> } {
  const prefix = env.spec.namePrefix ?? '';
  const { process, conflicts } = foldProcess(m.spec.process as Record<string, unknown>, env.spec.env ?? {}, PROCESS_DEFAULTS);
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
    ...(typeof m.metadata.pm2Name === 'string' ? { pm2Name: prefix + m.metadata.pm2Name } : {}),
    file,
    type,
    dependsOn: sortStrings(dependsOn),
    labels: copyValue(m.metadata.labels ?? {}),
    context: copyValue(m.metadata.context ?? {}),
  } as DesiredTask;
  if (m.spec.health) task.health = copyValue(m.spec.health);
  if (m.spec.hosts) task.hosts = copyValue(m.spec.hosts);
  if (m.spec.hostSelector) task.hostSelector = copyValue(m.spec.hostSelector);
  if (m.spec.source) task.source = copyValue(m.spec.source);
  if (m.spec.build) task.build = copyValue(m.spec.build);
  if (typeof (m.spec.process as Record<string, unknown>).cwd === 'string') task.cwdDeclared = true;
  task.process = process;
  return { task, conflicts };
}

/** The task's name and labels, when they are well-formed enough to match on. */
function identityOf(value: Record<string, unknown>): { name?: string; labels?: Record<string, string> } {
  const metadata = value.metadata as { name?: unknown; labels?: unknown } | undefined;
  const labels = metadata?.labels;
  return {
    name: typeof metadata?.name === 'string' ? metadata.name : undefined,
    labels: labels && typeof labels === 'object' && !Array.isArray(labels) ? labels as Record<string, string> : undefined,
  };
}

/** A patch target as a message shows it: its name and labels, nothing else. */
function describeTarget(target: { name?: string; labels?: Record<string, string> } | undefined): string {
  const parts: string[] = [];
  if (target?.name !== undefined) parts.push(`name "${target.name}"`);
  const labels = Object.entries(target?.labels ?? {}).map(([k, v]) => `${k}=${v}`);
  if (labels.length) parts.push(`labels ${labels.join(', ')}`);
  return `{ ${parts.join('; ')} }`;
}

/** Reports what the patches of one task did wrong; returns whether the task can be rendered. */
function reportPatched(p: PatchedTask, t: Located, env: Located, blame: (pointer: string) => string | undefined, diagnostics: Diagnostic[]): boolean {
  const name = (t.value as unknown as TaskManifest).metadata.name;
  if (p.failure) {
    diagnostics.push(at(env.doc, `/spec/patches/${p.failure.patch}/patch/${p.failure.operation}`, `cannot patch task ${name} (${t.doc.file}): ${p.failure.message}`));
    return false;
  }
  if (p.problems.length === 0) return true;
  const last = `/spec/patches/${p.matched[p.matched.length - 1]!}`;
  for (let i = 0; i < p.problems.length; i++) {
    const problem = p.problems[i]!;
    diagnostics.push(at(env.doc, blame(problem.pointer) ?? last, `patch makes task ${name} (${t.doc.file}) invalid at ${problem.pointer || '/'}: ${problem.message}`));
  }
  return false;
}

/**
 * The tasks after the environment's patches, ready for the rules; tasks that a
 * patch broke are left out (their problems reported), and so are the names of
 * those, so that depending on them adds no further error.
 */
function applyPatches(env: Located, tasks: Located[], rejected: Located[], diagnostics: Diagnostic[]): { origins: TaskOrigin[]; leftOut: string[] } {
  const envManifest = env.value as unknown as EnvironmentManifest;
  const index = indexPatches(envManifest);
  const matched = new Uint8Array(index.patches.length);
  const origins: TaskOrigin[] = [];
  const leftOut: string[] = [];
  for (let t = 0; t < tasks.length; t++) {
    const located = tasks[t]!;
    const original = located.value as unknown as TaskManifest;
    const p = patchTask(original, envManifest, index);
    let blame: ((pointer: string) => string | undefined) | undefined;
    if (p) {
      for (let m = 0; m < p.matched.length; m++) matched[p.matched[m]!] = 1;
      blame = blameOf(original, index);
      if (!reportPatched(p, located, env, blame, diagnostics)) {
        leftOut.push(original.metadata.name);
        continue;
      }
    }
    const document = p ? p.document : original;
    const { task, conflicts } = buildTask(document, envManifest, located.doc.file);
    const origin: TaskOrigin = { task, doc: located.doc, manifest: document };
    if (blame) origin.blame = blame;
    for (let i = 0; i < conflicts.length; i++) {
      const c = conflicts[i]!;
      diagnostics.push(reportAt(origin, { envDoc: env.doc }, `/spec/process/${c.alias}`, `"${c.alias}" is an alias of "${c.option}", which is also set; keep one`));
    }
    origins.push(origin);
  }
  reportUnmatched(index, matched, rejected, env, diagnostics);
  return { origins, leftOut };
}

/**
 * Reports each patch that selected no task. One that selects a task whose
 * document was rejected is not reported: that task's own problems are.
 */
function reportUnmatched(index: PatchIndex, matched: Uint8Array, rejected: Located[], env: Located, diagnostics: Diagnostic[]): void {
  let identities: Array<{ name?: string; labels?: Record<string, string> }> | undefined;
  for (let i = 0; i < index.patches.length; i++) {
    if (matched[i]) continue;
    const target = index.patches[i]!.target ?? {};
    identities ??= rejected.map((t) => identityOf(t.value));
    if (identities.some((id) => id.name !== undefined && matchesTarget(target, id.name, id.labels))) continue;
    diagnostics.push(at(env.doc, `/spec/patches/${i}/target`, `patch target ${describeTarget(target)} matches no task of this environment`));
  }
}

/** The bound on `instances`, and how it came about (for the message). */
function instancesBound(input: RenderInput): { limit: number; why: string } {
  if (input.maxInstances !== undefined) return { limit: input.maxInstances, why: 'set with --max-instances' };
  const cpus = Math.max(1, Math.floor(input.cpus ?? 1));
  return { limit: INSTANCES_PER_CPU * cpus, why: `${INSTANCES_PER_CPU} × ${cpus} CPU${cpus === 1 ? '' : 's'}` };
}

/** Renders one environment. Returns the state only when there are no diagnostics. */
export function render(input: RenderInput): RenderResult {
  const diagnostics: Diagnostic[] = [];
  const env = resolveEnvironment(input.files, input.environment, diagnostics);
  if (!env) return finish(diagnostics);
  const { tasks, rejected, tooMany } = collectTasks(env, input.files, input.environment, input.maxTasks ?? MAX_TASKS, diagnostics);
  // Patches and rules need the parts of the environment that shape the tasks; its own errors are already reported.
  if (!env.usable || tooMany) return finish(diagnostics);
  const envManifest = env.value as unknown as EnvironmentManifest;
  const prefix = envManifest.spec.namePrefix ?? '';
  const { origins, leftOut } = applyPatches(env, tasks, rejected, diagnostics);
  const unavailable = new Set<string>();
  for (const t of rejected) { const { name } = identityOf(t.value); if (name !== undefined) unavailable.add(prefix + name); }
  for (const name of leftOut) unavailable.add(prefix + name);
  pushAll(diagnostics, validateRules(origins, {
    environment: input.environment,
    envDoc: env.doc,
    requiredContext: envManifest.spec?.requiredContext ?? [],
    manifestRoot: input.manifestRoot === '.' ? '' : (input.manifestRoot ?? ''),
    repoRoot: input.repoRoot,
    fileExists: input.fileExists,
    paths: input.paths,
    allowRoots: input.allowRoots,
    maxInstances: instancesBound(input),
    rejected: unavailable,
  }));
  for (const p of [...checkPolicy(envManifest.spec.policy), ...checkRollout(envManifest.spec.rollout)]) diagnostics.push(at(env.doc, p.pointer, p.message));
  if (diagnostics.length) return finish(diagnostics);
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
  if (envManifest.spec.hosts) state.hosts = copyValue(envManifest.spec.hosts);
  if (envManifest.spec.hostSelector) state.hostSelector = copyValue(envManifest.spec.hostSelector);
  if (envManifest.spec.rollout) state.rollout = copyValue(envManifest.spec.rollout);
  return { state, diagnostics: [] };
}
