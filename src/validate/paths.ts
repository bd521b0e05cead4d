/**
 * Path rules (pure): a task's `cwd` and `script` must stay inside the
 * repository, or lie under a folder the operator allows (`--allow-root`),
 * both as written and once symbolic links are resolved. The file system is
 * asked through the loader's PathProbe; nothing here does I/O itself.
 */
import { posix } from 'node:path';
import type { TaskManifest } from '../domain/manifest.js';
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

type Report = (pointer: string, message: string) => void;

/** Paths with an empty, `.` or `..` segment, or a leading or trailing slash: joining them needs normalisation. */
const NOT_PLAIN = /(^|\/)\.\.?(\/|$)|\/\/|^\/|\/$/;

/** A relative path of named segments only, as `posix.normalize` leaves it. */
function isPlain(path: string): boolean {
  return path !== '' && !NOT_PLAIN.test(path);
}

/** Whether `path` is `root` or lies below it (both absolute and normalised). */
function isUnder(path: string, root: string): boolean {
  return path === root || path.startsWith(root.endsWith('/') ? root : `${root}/`);
}

/**
 * Where `path` (relative to `base`, a repository-relative or absolute folder)
 * lies as written: `{ rel }` inside the repository, `{ abs }` outside it.
 */
function place(base: string, path: string, ctx: RuleContext): { rel: string } | { abs: string } {
  // Common case, without building and normalising an intermediate path: both parts are already normal.
  if (base === '' || base === '.' || isPlain(base)) {
    const atRoot = base === '' || base === '.';
    if (path === '.') return { rel: atRoot ? '.' : base };
    if (isPlain(path)) return { rel: atRoot ? path : `${base}/${path}` };
  }
  const joined = posix.isAbsolute(path) ? posix.normalize(path) : posix.isAbsolute(base) ? posix.join(base, path) : undefined;
  if (joined !== undefined) {
    if (ctx.repoRoot) {
      const rel = posix.relative(ctx.repoRoot, joined);
      if (!(rel === '..' || rel.startsWith('../') || posix.isAbsolute(rel))) return { rel: posix.normalize(rel || '.') };
    }
    return { abs: joined };
  }
  const normal = posix.normalize(posix.join(base || '.', path));
  return normal === '..' || normal.startsWith('../') ? { abs: normal } : { rel: normal };
}

function allowedRoot(abs: string, ctx: RuleContext): boolean {
  return posix.isAbsolute(abs) && (ctx.allowRoots ?? []).some((root) => isUnder(abs, root));
}

/**
 * Whether the real path of `at` stays where it may: inside the real repository
 * or under an allowed root. Without a probe, the written path is all there is.
 */
function staysInside(at: { rel: string } | { abs: string }, ctx: RuleContext): boolean {
  const probe = ctx.paths;
  if (!probe) return true;
  const { real } = probe.resolve('rel' in at ? at.rel : at.abs);
  if (isUnder(real, probe.resolve('.').real)) return true;
  return (ctx.allowRoots ?? []).some((root) => isUnder(real, root) || isUnder(real, probe.resolve(root).real));
}

function exists(path: string, ctx: RuleContext): boolean | undefined {
  if (ctx.paths) return ctx.paths.resolve(path).exists;
  return ctx.fileExists?.(path);
}

const SCRIPT_EXTENSIONS = /\.(c?js|mjs|ts|cts|mts|py|sh|rb|php)$/;

const ALLOWED = 'expected a path inside it, or under a folder allowed with --allow-root DIR';

/** Resolves and checks `cwd`; rewrites it to its repository-relative form. Returns the cwd, or undefined when it may not be used. */
function checkCwd(o: TaskOrigin, ctx: RuleContext, report: Report): string | undefined {
  const proc = o.task.process;
  const written = typeof proc.cwd === 'string' ? proc.cwd : '.';
  const at = place(ctx.manifestRoot, written, ctx);
  if ('abs' in at && !allowedRoot(at.abs, ctx)) {
    report('/spec/process/cwd', `cwd "${written}" leaves the repository; ${ALLOWED}`);
    return undefined;
  }
  if (!staysInside(at, ctx)) {
    report('/spec/process/cwd', `cwd "${written}" is a symbolic link (or lies in one) that leaves the repository; ${ALLOWED}`);
    return undefined;
  }
  proc.cwd = 'rel' in at ? at.rel : at.abs;
  return proc.cwd;
}

/**
 * Resolves `cwd` (default: the manifest folder) and `script` (relative to cwd,
 * as PM2 does) against the repository, rewriting `cwd` to its repository-relative
 * form so that the rendered state says exactly where the process runs. A path
 * under an allowed root is the operator's: it is kept as written and need not
 * exist where the manifests are rendered.
 */
export function checkPaths(o: TaskOrigin, manifest: TaskManifest, ctx: RuleContext, report: Report): void {
  const cwd = checkCwd(o, ctx, report);
  if (cwd === undefined) return;
  const proc = o.task.process;
  const written = (manifest.spec?.process ?? {}) as Record<string, unknown>;
  const key = `/spec/process/${'script' in written ? 'script' : 'exec'}`;
  const script = proc.script;
  const isCommand = !script.includes('/') && !SCRIPT_EXTENSIONS.test(script) && !(exists(posix.join(cwd, script), ctx) ?? false);
  if (isCommand) return; // a program on PATH, such as `sleep` or `npm`
  const at = place(cwd, script, ctx);
  const relativeTo = cwd === '.' ? 'the repository root' : `cwd "${cwd}"`;
  if ('abs' in at) {
    if (!allowedRoot(at.abs, ctx)) report(key, `script "${script}" leaves the repository${posix.isAbsolute(script) ? '' : ` (relative to ${relativeTo})`}; ${ALLOWED}`);
    else if (!staysInside(at, ctx)) report(key, `script "${script}" is a symbolic link (or lies in one) that leaves the allowed folders; ${ALLOWED}`);
    return;
  }
  // An absolute script inside the repository is rewritten relative to a cwd inside it, so that the state is the same wherever the repository lies.
  if (posix.isAbsolute(script) && !posix.isAbsolute(cwd)) proc.script = posix.relative(cwd === '.' ? '' : cwd, at.rel);
  if (exists(at.rel, ctx) === false) {
    report(key, `script "${script}" does not exist in the repository (looked for ${at.rel})`);
    return;
  }
  if (!staysInside(at, ctx)) report(key, `script "${script}" is a symbolic link (or lies in one) that leaves the repository; ${ALLOWED}`);
}
