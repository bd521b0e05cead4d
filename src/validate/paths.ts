/**
 * Path rules (pure): a task's `cwd` and `script` must stay inside the
 * repository, or lie under a folder the operator allows (`--allow-root`),
 * both as written and once symbolic links are resolved. The file system is
 * asked through the loader's PathProbe; nothing here does I/O itself.
 */
import { posix } from 'node:path';
import type { Diagnostic } from '../domain/diagnostic.js';
import type { TaskManifest } from '../domain/manifest.js';
import { isInlineCommand } from '../domain/script.js';
import { reportAt } from './report.js';
import type { RuleContext, TaskOrigin } from './rules.js';

/** What the loader knows of a path, asked for by render (which does no I/O). */
export interface PathProbe {
  /**
   * The real absolute path of `path` (repository-relative, or absolute): every
   * symbolic link resolved as far as the path exists, the rest appended as
   * written; and whether something exists there.
   */
  resolve(path: string): { real: string; exists: boolean };
}

/**
 * The folders paths may lie in, each as a prefix ending in `/`, worked out
 * once per render (these checks run for every task): the allowed roots as
 * written, and the real repository and the allowed roots' real paths for
 * the symbolic-link checks (when there is a probe).
 */
export interface PathGuard { allowed: string[]; real: string[] }

function asPrefix(dir: string): string {
  return dir.endsWith('/') ? dir : `${dir}/`;
}

/** The guard of a render's rule context. */
export function pathGuard(ctx: RuleContext): PathGuard {
  const allowed = (ctx.allowRoots ?? []).map(asPrefix);
  const probe = ctx.paths;
  const real = probe ? [asPrefix(probe.resolve('.').real), ...allowed, ...(ctx.allowRoots ?? []).map((root) => asPrefix(probe.resolve(root).real))] : [];
  return { allowed, real };
}

function under(path: string, prefixes: readonly string[]): boolean {
  for (let i = 0; i < prefixes.length; i++) {
    const prefix = prefixes[i]!;
    if (path.startsWith(prefix) || (path.length === prefix.length - 1 && prefix.startsWith(path))) return true;
  }
  return false;
}

/** Paths with an empty, `.` or `..` segment, or a leading or trailing slash: joining them needs normalisation. */
const NOT_PLAIN = /(^|\/)\.\.?(\/|$)|\/\/|^\/|\/$/;

/** A relative path of named segments only, as `posix.normalize` leaves it. */
function isPlain(path: string): boolean {
  return path !== '' && !NOT_PLAIN.test(path);
}

/** Whether a path `place` returned lies outside the repository (absolute, or `..` first). */
function isOutside(path: string): boolean {
  return path.startsWith('/') || path === '..' || path.startsWith('../');
}

/**
 * Where `path` (relative to `base`, a repository-relative or absolute folder)
 * lies as written: repository-relative inside the repository; absolute (or
 * starting with `..`) outside it.
 */
function place(base: string, path: string, ctx: RuleContext): string {
  // Common case, without building and normalising an intermediate path: both parts are already normal.
  if (base === '' || base === '.' || isPlain(base)) {
    const atRoot = base === '' || base === '.';
    if (path === '.') return atRoot ? '.' : base;
    if (isPlain(path)) return atRoot ? path : `${base}/${path}`;
  }
  const joined = posix.isAbsolute(path) ? posix.normalize(path) : posix.isAbsolute(base) ? posix.join(base, path) : undefined;
  if (joined === undefined) return posix.normalize(posix.join(base || '.', path));
  if (ctx.repoRoot) {
    const rel = posix.relative(ctx.repoRoot, joined);
    if (!(rel === '..' || rel.startsWith('../') || posix.isAbsolute(rel))) return posix.normalize(rel || '.');
  }
  return joined;
}

/** Whether the real path of `at` stays inside the real repository or under an allowed root. Without a probe, the written path is all there is. */
function staysInside(at: string, ctx: RuleContext, guard: PathGuard): boolean {
  return !ctx.paths || under(ctx.paths.resolve(at).real, guard.real);
}

function exists(path: string, ctx: RuleContext): boolean | undefined {
  if (ctx.paths) return ctx.paths.resolve(path).exists;
  return ctx.fileExists?.(path);
}

function hasBuildSteps(task: TaskOrigin['task']): boolean {
  const run = task.build?.run;
  return run !== undefined && run.length > 0;
}

/**
 * `spec.source` entries: paths relative to the manifest folder (like `cwd`),
 * that stay inside the repository (symbolic links resolved) and name
 * something there; rewritten to their repository-relative form, which is what
 * the code digest reads.
 */
export function checkSource(o: TaskOrigin, ctx: RuleContext, guard: PathGuard, out: Diagnostic[]): void {
  const source = o.task.source ?? [];
  for (let i = 0; i < source.length; i++) {
    const path = source[i]!;
    const pointer = `/spec/source/${i}`;
    const at = posix.isAbsolute(path) ? '/' : place(ctx.manifestRoot, path, ctx);
    if (isOutside(at)) {
      out.push(reportAt(o, ctx, pointer, `source entries must be paths inside the repository, relative to the manifest folder; got a path of ${path.length} characters that is absolute or leaves it`));
    } else if (!staysInside(at, ctx, guard)) {
      out.push(reportAt(o, ctx, pointer, `source "${path}" is a symbolic link (or lies in one) that leaves the repository`));
    } else if (exists(at, ctx) === false) {
      out.push(reportAt(o, ctx, pointer, `source "${path}" names nothing in the repository (looked for ${at})`));
    } else {
      source[i] = at;
    }
  }
}

const SCRIPT_EXTENSIONS = /\.(c?js|mjs|ts|cts|mts|py|sh|rb|php)$/;

const ALLOWED = 'expected a path inside it, or under a folder allowed with --allow-root DIR';

/**
 * An inline command (a script with a space) is run by PM2 as `bash -c script`:
 * PM2 replaces the app's args by `-c script`, and an interpreter would be
 * given `bash` as its program. Both would be declared without taking effect.
 */
function checkInlineCommand(o: TaskOrigin, written: Record<string, unknown>, key: string, ctx: RuleContext, out: Diagnostic[]): void {
  const proc = o.task.process;
  const why = `PM2 runs a script with a space (${key.slice('/spec/process/'.length)} "${proc.script}") as an inline command, through bash -c`;
  if (proc.args !== undefined) out.push(reportAt(o, ctx, '/spec/process/args', `args never reach an inline command: ${why}, in place of the args; write the arguments into the command`));
  const interpreter = proc.exec_interpreter;
  if (interpreter !== undefined && interpreter !== 'none') {
    const pointer = 'interpreter' in written ? '/spec/process/interpreter' : '/spec/process/exec_interpreter';
    out.push(reportAt(o, ctx, pointer, `an inline command takes no interpreter: ${why}; remove the interpreter, or name a file as script`));
  }
}

/** Resolves and checks `cwd`, rewriting it to its repository-relative form; undefined when it may not be used. */
function checkCwd(o: TaskOrigin, ctx: RuleContext, guard: PathGuard, out: Diagnostic[]): string | undefined {
  const proc = o.task.process;
  const written = typeof proc.cwd === 'string' ? proc.cwd : '.';
  const at = place(ctx.manifestRoot, written, ctx);
  if (isOutside(at) && !(at.startsWith('/') && under(at, guard.allowed))) {
    out.push(reportAt(o, ctx, '/spec/process/cwd', `cwd "${written}" leaves the repository; ${ALLOWED}`));
    return undefined;
  }
  if (!staysInside(at, ctx, guard)) {
    out.push(reportAt(o, ctx, '/spec/process/cwd', `cwd "${written}" is a symbolic link (or lies in one) that leaves the repository; ${ALLOWED}`));
    return undefined;
  }
  proc.cwd = at;
  return at;
}

/**
 * Resolves `cwd` (default: the manifest folder) and `script` (relative to cwd,
 * as PM2 does) against the repository, rewriting `cwd` to its repository-relative
 * form so that the rendered state says exactly where the process runs. A path
 * under an allowed root is the operator's: it is kept as written and need not
 * exist where the manifests are rendered.
 */
export function checkPaths(o: TaskOrigin, manifest: TaskManifest, ctx: RuleContext, guard: PathGuard, out: Diagnostic[]): void {
  const cwd = checkCwd(o, ctx, guard, out);
  if (cwd === undefined) return;
  const proc = o.task.process;
  const written = (manifest.spec?.process ?? {}) as Record<string, unknown>;
  const key = 'script' in written ? '/spec/process/script' : '/spec/process/exec';
  const script = proc.script;
  if (isInlineCommand(script)) {
    checkInlineCommand(o, written, key, ctx, out);
    return; // a command line bash runs in cwd: no file to look for
  }
  const isCommand = !script.includes('/') && !SCRIPT_EXTENSIONS.test(script) && !(exists(posix.join(cwd, script), ctx) ?? false);
  if (isCommand) return; // a program on PATH, such as `sleep` or `npm`
  const at = place(cwd, script, ctx);
  if (isOutside(at)) {
    const relativeTo = posix.isAbsolute(script) ? '' : ` (relative to ${cwd === '.' ? 'the repository root' : `cwd "${cwd}"`})`;
    if (!(at.startsWith('/') && under(at, guard.allowed))) out.push(reportAt(o, ctx, key, `script "${script}" leaves the repository${relativeTo}; ${ALLOWED}`));
    else if (!staysInside(at, ctx, guard)) out.push(reportAt(o, ctx, key, `script "${script}" is a symbolic link (or lies in one) that leaves the allowed folders; ${ALLOWED}`));
    return;
  }
  // An absolute script inside the repository is rewritten relative to a cwd inside it, so that the state is the same wherever the repository lies.
  if (posix.isAbsolute(script) && !posix.isAbsolute(cwd)) proc.script = posix.relative(cwd === '.' ? '' : cwd, at);
  // A script the build writes exists only in the build; prepareBuild checks it there.
  if (exists(at, ctx) === false && !hasBuildSteps(o.task)) {
    out.push(reportAt(o, ctx, key, `script "${script}" does not exist in the repository (looked for ${at})`));
    return;
  }
  if (!staysInside(at, ctx, guard)) out.push(reportAt(o, ctx, key, `script "${script}" is a symbolic link (or lies in one) that leaves the repository; ${ALLOWED}`));
}
