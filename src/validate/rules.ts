/**
 * Cross-document rules (pure): unique names (and PM2 process names), dependencies that exist and form
 * no cycle, paths that stay inside the repository, required context, bounded
 * instances.
 */
import type { Diagnostic } from '../domain/diagnostic.js';
import { pm2NameOf, type ContextDimension, type DesiredTask, type TaskManifest } from '../domain/manifest.js';
import type { ParsedDocument } from '../manifest/parse.js';
import { checkPaths, checkSource, pathGuard, type PathProbe } from './paths.js';
import { reportAt } from './report.js';
import { listNames } from './schema.js';

/**
 * A rendered task and the document it came from, for diagnostics. `manifest`
 * is the task document after the environment's patches (default: the
 * document's value); `blame` names the place in the Environment document that
 * wrote a pointer of it, when a patch did.
 */
export interface TaskOrigin { task: DesiredTask; doc: ParsedDocument; manifest?: TaskManifest; blame?: (pointer: string) => string | undefined }

export { reportAt } from './report.js';

export interface RuleContext {
  environment: string;
  envDoc: ParsedDocument;
  requiredContext: ContextDimension[];
  /** Manifest folder relative to the repository root ('' for the root); relative paths start there. */
  manifestRoot: string;
  repoRoot?: string;
  /** Whether a repository-relative file exists; used when `paths` is not given. */
  fileExists?: (path: string) => boolean;
  /** Real paths and existence of files, from the loader; enables the symbolic-link checks. */
  paths?: PathProbe;
  /** Absolute folders outside the repository that paths may lie in (`--allow-root`). */
  allowRoots?: readonly string[];
  /** Most workers a task may ask for; default: no limit. */
  maxInstances?: { limit: number; why: string };
  /** Names (after namePrefix) of tasks left out because their document is invalid; depending on them is not a further error. */
  rejected?: ReadonlySet<string>;
}

function manifestOf(o: TaskOrigin): TaskManifest {
  return o.manifest ?? (o.doc.value as TaskManifest);
}

function checkUnique(origins: TaskOrigin[], ctx: RuleContext, out: Diagnostic[]): void {
  const first = new Map<string, TaskOrigin>();
  for (const o of origins) {
    const seen = first.get(o.task.name);
    if (seen) out.push(reportAt(o, ctx, '/metadata/name', `duplicate task name "${o.task.name}": already defined in ${seen.doc.file}`));
    else first.set(o.task.name, o);
  }
}

/**
 * Processes are found in PM2 by name: two tasks whose processes would have the
 * same name (one's metadata.pm2Name, the other's name or pm2Name) would be one
 * app to PM2. Reported at the task that sets pm2Name, naming both tasks (never
 * the PM2 name itself: it comes from the manifest like any value).
 */
function checkUniquePm2Names(origins: TaskOrigin[], ctx: RuleContext, out: Diagnostic[]): void {
  const first = new Map<string, TaskOrigin>();
  for (const o of origins) {
    const name = pm2NameOf(o.task);
    const seen = first.get(name);
    if (!seen) { first.set(name, o); continue; }
    if (seen.task.name === o.task.name) continue; // the same task twice: checkUnique reports it
    const [at, other] = o.task.pm2Name !== undefined ? [o, seen] : [seen, o];
    out.push(reportAt(at, ctx, '/metadata/pm2Name', `task "${at.task.sourceName}" would have the same process name in PM2 as task "${other.task.sourceName}" (${other.doc.file}); PM2 would see one app: give each task a PM2 name of its own`));
  }
}

function prefixOf(task: DesiredTask): string {
  return task.name.slice(0, task.name.length - task.sourceName.length);
}

function writtenDependsOn(o: TaskOrigin): readonly string[] {
  return manifestOf(o).spec?.dependsOn ?? [];
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
  let known: string | undefined;
  // A bounded list: with thousands of tasks, naming them all in each message made reports grow quadratically.
  const knownNames = () => (known ??= listNames([...byName.values()].map((t) => origins[t]!.task.sourceName).sort()));
  for (let t = 0; t < origins.length; t++) {
    const o = origins[t]!;
    const dependsOn = o.task.dependsOn;
    for (let d = 0; d < dependsOn.length; d++) {
      const name = dependsOn[d]!;
      const self = name === o.task.name;
      if (!self && (byName.has(name) || ctx.rejected?.has(name))) continue;
      // The rendered list counts, patches included; the written one locates the entry.
      const dep = name.slice(prefixOf(o.task).length);
      const i = writtenDependsOn(o).indexOf(dep);
      const pointer = i >= 0 ? `/spec/dependsOn/${i}` : '/spec/dependsOn';
      if (self) out.push(reportAt(o, ctx, pointer, `task "${o.task.sourceName}" cannot depend on itself`));
      else out.push(reportAt(o, ctx, pointer, `depends on "${dep}", which is not a task of environment ${ctx.environment}; expected one of: ${knownNames()}`));
    }
  }
  checkCycles(origins, byName, ctx, out);
}

/**
 * Depth-first search for cycles with an explicit stack: a chain of many
 * thousand tasks would overflow the call stack of a recursive walk. A task's
 * state is kept by its position in `origins`.
 */
function checkCycles(origins: TaskOrigin[], byName: Map<string, number>, ctx: RuleContext, out: Diagnostic[]): void {
  const VISITING = 1;
  const DONE = 2;
  const state = new Uint8Array(origins.length);
  const reported = new Set<string>();
  /** The path from the current root: task positions, and how many of each one's dependencies were looked at. */
  const path: number[] = [];
  const next: number[] = [];
  const names = [...byName.keys()].sort();
  for (let n = 0; n < names.length; n++) {
    const root = byName.get(names[n]!)!;
    if (state[root] === DONE) continue;
    state[root] = VISITING;
    path.push(root);
    next.push(0);
    while (path.length > 0) {
      const top = path.length - 1;
      const position = path[top]!;
      const task = origins[position]!.task;
      const d = next[top]!;
      if (d >= task.dependsOn.length) {
        state[position] = DONE;
        path.pop();
        next.pop();
        continue;
      }
      next[top] = d + 1;
      const dep = task.dependsOn[d]!;
      const target = byName.get(dep);
      if (target === undefined || dep === task.name || state[target] === DONE) continue;
      if (state[target] === VISITING) {
        reportCycle(origins, path.slice(path.lastIndexOf(target)), reported, ctx, out);
        continue;
      }
      state[target] = VISITING;
      path.push(target);
      next.push(0);
    }
  }
}

/** Reports the cycle through `cycle` (task positions, in dependency order) once, at its first task. */
function reportCycle(origins: TaskOrigin[], cycle: number[], reported: Set<string>, ctx: RuleContext, out: Diagnostic[]): void {
  const key = cycle.map((p) => origins[p]!.task.name).sort().join(',');
  if (reported.has(key)) return;
  reported.add(key);
  const first = origins[cycle[0]!]!;
  const second = origins[cycle[1 % cycle.length]!]!;
  const index = Math.max(0, writtenDependsOn(first).indexOf(second.task.sourceName));
  const names = [...cycle, cycle[0]!].map((p) => origins[p]!.task.sourceName);
  // A cycle through thousands of tasks is named by its ends, so that the message stays short.
  const shown = names.length > 12 ? [...names.slice(0, 6), `… (${names.length - 11} more) …`, ...names.slice(-5)] : names;
  out.push(reportAt(first, ctx, `/spec/dependsOn/${index}`, `dependency cycle: ${shown.join(' -> ')}`));
}

function checkContext(o: TaskOrigin, ctx: RuleContext, out: Diagnostic[]): void {
  const required = ctx.requiredContext;
  for (let i = 0; i < required.length; i++) {
    const dim = required[i]!;
    const value = o.task.context[dim];
    if (value === undefined || (Array.isArray(value) && value.length === 0) || value === '') {
      out.push(reportAt(o, ctx, `/metadata/context/${dim}`, `context dimension "${dim}" is required by environment ${ctx.environment} (${ctx.envDoc.file}) but missing`));
    }
  }
}

function checkJob(o: TaskOrigin, ctx: RuleContext, out: Diagnostic[]): void {
  if (o.task.type === 'job' && o.task.process.autorestart === true) {
    out.push(reportAt(o, ctx, '/spec/process/autorestart', 'a job runs to completion once per revision; autorestart must be false or absent'));
  }
}

/** A number of workers beyond what the host can run is a typo or an attack, never a plan: it would start them all. */
function checkInstances(o: TaskOrigin, ctx: RuleContext, out: Diagnostic[]): void {
  const instances = o.task.process.instances;
  const bound = ctx.maxInstances;
  if (!bound || typeof instances !== 'number' || instances <= bound.limit) return;
  out.push(reportAt(o, ctx, '/spec/process/instances', `${instances} instances exceed the limit of ${bound.limit} (${bound.why}); lower it, or raise the limit with --max-instances N`));
}

/** Runs every cross-document rule; may rewrite absolute in-repository paths to relative ones. */
export function validateRules(origins: TaskOrigin[], ctx: RuleContext): Diagnostic[] {
  const out: Diagnostic[] = [];
  const byName = indexByName(origins);
  // Names are unique when the index has one entry per task; only then is there nothing to report.
  if (byName.size !== origins.length) checkUnique(origins, ctx, out);
  // Without any pm2Name every PM2 name is a task name, unique once the task names are.
  if (origins.some((o) => o.task.pm2Name !== undefined)) checkUniquePm2Names(origins, ctx, out);
  checkDependencies(origins, byName, ctx, out);
  const guard = pathGuard(ctx);
  for (const o of origins) {
    checkPaths(o, manifestOf(o), ctx, guard, out);
    checkSource(o, ctx, guard, out);
    checkContext(o, ctx, out);
    checkJob(o, ctx, out);
    checkInstances(o, ctx, out);
  }
  return out;
}
