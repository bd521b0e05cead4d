/**
 * Task sources (pure): which repository paths are a task's code. `spec.source`
 * when given; else the cwd when the task declares one; else the script's
 * folder. A script that is a program on PATH (`sleep`) has no source, and code
 * outside the repository (`--allow-root`) is tracked through the manifest only.
 * An inline command (`node server.js`, `npm run start`: PM2 runs it through
 * `bash -c` in the cwd) has its cwd as its source, declared or not (the
 * manifest folder by default): the command names no one file, and whatever it
 * runs is found from there.
 */
import { posix } from 'node:path';
import { ValidationError } from '../domain/errors.js';
import { isInlineCommand } from '../domain/script.js';
import type { CodeTask, TaskSource } from './types.js';

/** Script names that are files even without a slash; the same rule as validate/rules.ts uses. */
const SCRIPT_EXTENSIONS = /\.(c?js|mjs|ts|cts|mts|py|sh|rb|php)$/;

/** A problem with one `spec.source` entry, to be reported at its JSON pointer. */
export interface SourceProblem {
  pointer: string;
  message: string;
}

/** The normal repository-relative form of `path`, or undefined when it is absolute or leaves the repository. */
export function normalizeRepoPath(path: string): string | undefined {
  if (path === '' || posix.isAbsolute(path)) return undefined;
  const normal = posix.normalize(path).replace(/\/+$/, '');
  if (normal === '..' || normal.startsWith('../')) return undefined;
  return normal === '' ? '.' : normal;
}

/** Every `spec.source` entry that is not a path inside the repository (values are named by type and length only). */
export function sourceProblems(task: Pick<CodeTask, 'source'>): SourceProblem[] {
  const problems: SourceProblem[] = [];
  (task.source ?? []).forEach((path, i) => {
    if (typeof path === 'string' && normalizeRepoPath(path) !== undefined) return;
    const what = typeof path === 'string' ? `a path of ${path.length} characters that is absolute or leaves the repository` : `a ${typeof path}`;
    problems.push({ pointer: `/spec/source/${i}`, message: `source entries must be repository-relative paths inside the repository; got ${what}` });
  });
  return problems;
}

/** Sorts paths, drops duplicates and paths inside another; `.` covers everything. */
export function coverPaths(paths: Iterable<string>): string[] {
  const sorted = [...new Set(paths)].sort();
  if (sorted.includes('.')) return ['.'];
  const out: string[] = [];
  for (const path of sorted) {
    if (!out.some((kept) => pathWithin(path, kept))) out.push(path);
  }
  return out;
}

/** Whether `path` is `root` or lies inside it (`.` contains everything). */
export function pathWithin(path: string, root: string): boolean {
  return root === '.' || path === root || path.startsWith(`${root}/`);
}

/** Where a bare script name would be a file, when it may instead be a program on PATH; undefined when it is surely a file path. */
export function programProbe(task: Pick<CodeTask, 'cwd' | 'script'>): string | undefined {
  const { script } = task;
  if (isInlineCommand(script) || script.includes('/') || SCRIPT_EXTENSIONS.test(script) || posix.isAbsolute(task.cwd)) return undefined;
  return normalizeRepoPath(posix.join(task.cwd, script));
}

/**
 * Whether the script is a program on PATH: a bare name that is no file in cwd
 * (`isFile` answers for repository paths), or an inline command, which bash
 * finds. Either way no file of the build is the script.
 */
export function isProgram(task: Pick<CodeTask, 'cwd' | 'script'>, isFile: (path: string) => boolean): boolean {
  if (isInlineCommand(task.script)) return true;
  const probe = programProbe(task);
  return probe !== undefined && !isFile(probe);
}

/**
 * The source of a task. `isFile` tells whether a repository path is a file
 * (used only to tell a bare script name from a program on PATH). Throws
 * ValidationError when `spec.source` has entries outside the repository.
 */
export function resolveSource(task: CodeTask, isFile: (path: string) => boolean): TaskSource {
  if (task.source && task.source.length > 0) {
    const problems = sourceProblems(task);
    if (problems.length) throw new ValidationError(`task ${task.name}: invalid source`, problems.map((p) => ({ file: task.file ?? '', pointer: p.pointer, message: p.message })));
    return { kind: 'paths', paths: coverPaths(task.source.map((p) => normalizeRepoPath(p)!)) };
  }
  const cwd = normalizeRepoPath(task.cwd);
  if (cwd === undefined) return { kind: 'none', reason: 'external' };
  if (task.cwdDeclared || isInlineCommand(task.script)) return { kind: 'paths', paths: [cwd] };
  if (isProgram(task, isFile)) return { kind: 'none', reason: 'program' };
  const script = normalizeRepoPath(posix.join(cwd, task.script));
  if (script === undefined) return { kind: 'none', reason: 'external' };
  const folder = posix.dirname(script);
  return { kind: 'paths', paths: [folder === '' ? '.' : folder] };
}

/**
 * The repository paths to list so that `resolveSource` and the file selection
 * of every task can be answered from one listing: each task's candidate
 * source, or for a bare script name without a declared cwd only the probe
 * (its source, the cwd, is listed in a second round only when it is a file).
 */
export function candidatePaths(task: CodeTask): string[] {
  if (task.source && task.source.length > 0) return task.source.map(normalizeRepoPath).filter((p): p is string => p !== undefined);
  const cwd = normalizeRepoPath(task.cwd);
  if (cwd === undefined) return [];
  if (task.cwdDeclared || isInlineCommand(task.script)) return [cwd];
  const probe = programProbe(task);
  if (probe !== undefined) return [probe];
  const script = normalizeRepoPath(posix.join(cwd, task.script));
  if (script === undefined) return [];
  const folder = posix.dirname(script);
  return [folder === '' ? '.' : folder];
}
