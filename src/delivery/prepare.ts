/**
 * prepareBuild (I/O): the immutable build of a task's code digest, reused
 * when it exists, else made: source exported, dependencies installed (or the
 * install of an equal install key copied), build steps run, script checked.
 * Only a complete build gets a record in builds/; a failure leaves builds/
 * and links/ as they were and records the failure under failures/.
 */
import { rm } from 'node:fs/promises';
import { existsSync, mkdirSync, rmSync, statSync } from 'node:fs';
import { join, posix } from 'node:path';
import { ValidationError } from '../domain/errors.js';
import { redactText, secretValues } from './output.js';
import { brokenLinks, copyInstalled, exportFiles, findNodeModules } from './export.js';
import { failureOf } from './failure.js';
import { buildDir, failureFile, recordFile, taskBuildsDir, taskLockFile } from './layout.js';
import { withLock } from './locking.js';
import { isDirectory, listDir, readRecord, writeRecord } from './records.js';
import { runStep } from './step.js';
import { stepEnv } from './step-env.js';
import type { Build, BuildEvent, BuildRecord, PrepareResult, StepKind, StepRecord, TaskCode } from './types.js';

/** What prepareBuild takes: the task's code, where its blobs are, its env, and how to report progress. */
export interface PrepareBuildInput {
  stateDir: string;
  /** The task's code, from readCommitCode or readWorkingTreeCode. */
  code: TaskCode;
  /** The git dir holding the code's blobs (CodeSnapshot.gitDir). */
  gitDir: string;
  /** The task's env as the manifest declares it (process.env after the environment's env): the steps get it, its values are redacted from output. */
  env?: Readonly<Record<string, string>>;
  /** Recorded for people. */
  revision?: string;
  /** Run the steps again for a digest whose build failed before; by default the recorded failure is returned and nothing runs. */
  retryFailed?: boolean;
  /** Where the allowed host variables come from (default: process.env). */
  hostEnv?: Readonly<Record<string, string | undefined>>;
  /** Aborting kills the running step; nothing is recorded. */
  signal?: AbortSignal;
  onProgress?: (event: BuildEvent) => void;
  now?: () => Date;
}

/** What one build attempt needs as it goes. */
interface Attempt {
  input: PrepareBuildInput;
  dir: string;
  record: BuildRecord;
  secrets: string[];
  env: Record<string, string>;
  deadline: number;
  now: () => Date;
}

function emit(a: Attempt, event: BuildEvent): void {
  a.input.onProgress?.(event);
}

/** What a step's body reports; the step adds its kind, command and timing. */
type StepResult = Omit<StepRecord, 'kind' | 'command' | 'startedAt' | 'durationMs'> & { durationMs?: number };

/** Runs one step of the attempt and records it; resolves to whether it succeeded. */
async function step(a: Attempt, kind: StepKind, command: string | undefined, body: () => Promise<StepResult>): Promise<boolean> {
  const shown = command === undefined ? {} : { command: redactText(command, a.secrets) };
  const task = a.record.task;
  emit(a, { phase: 'start', task, step: kind, ...shown });
  const startedAt = a.now().toISOString();
  const t0 = performance.now();
  let result: StepResult;
  try {
    result = await body();
  } catch (err) {
    result = { status: 'failed', message: `could not run: ${(err as Error).message}` };
  }
  const record: StepRecord = { kind, ...shown, startedAt, ...result, durationMs: result.durationMs ?? Math.round(performance.now() - t0) };
  a.record.steps.push(record);
  emit(a, { phase: 'end', task, step: kind, ...shown, status: record.status, ...(record.exitCode === undefined ? {} : { exitCode: record.exitCode }), durationMs: record.durationMs });
  return record.status !== 'failed';
}

/** Runs a shell command of the build with the time left of it. */
async function runShell(a: Attempt, command: string): Promise<StepResult> {
  const left = a.deadline - performance.now();
  if (left <= 0) return { status: 'failed', timedOut: true, exitCode: null, signal: null };
  const cwd = join(a.dir, a.record.cwd);
  const out = await runStep({ command, cwd, env: a.env, timeoutMs: left, secrets: a.secrets, ...(a.input.signal ? { signal: a.input.signal } : {}) });
  const ok = out.exitCode === 0 && !out.timedOut && !out.aborted;
  return { status: ok ? 'ok' : 'failed', exitCode: out.exitCode, signal: out.signal, timedOut: out.timedOut, durationMs: out.durationMs, output: out.output, ...(out.aborted ? { message: 'aborted' } : {}) };
}

/** A complete build of the same task with the same install key, the most recently used first. */
function installDonor(a: Attempt): BuildRecord | undefined {
  const key = a.record.installKey;
  if (key === undefined) return undefined;
  const folder = taskBuildsDir(a.input.stateDir, a.record.task);
  const donors = listDir(folder)
    .filter((name) => name.endsWith('.json'))
    .map((name) => readRecord(join(folder, name)))
    .filter((r): r is BuildRecord => r?.status === 'ok' && r.installKey === key && r.installed !== undefined && r.codeDigest !== a.record.codeDigest && isDirectory(buildDir(a.input.stateDir, r.task, r.codeDigest)));
  return donors.sort((x, y) => (x.lastUsedAt < y.lastUsedAt ? 1 : x.lastUsedAt > y.lastUsedAt ? -1 : 0))[0];
}

/**
 * The install step: the installed folders of a build with the same install
 * key copied in, or the install command run; either way, then, its package
 * links checked.
 */
function install(a: Attempt, command: string): Promise<boolean> {
  const donor = installDonor(a);
  return step(a, 'install', command, async () => {
    let result: StepResult;
    if (donor) {
      await copyInstalled(buildDir(a.input.stateDir, donor.task, donor.codeDigest), a.dir, donor.installed!);
      a.record.installed = donor.installed!;
      result = { status: 'reused', reusedFrom: donor.codeDigest };
    } else {
      const before = new Set(await findNodeModules(a.dir));
      result = await runShell(a, command);
      if (result.status === 'failed') return result;
      a.record.installed = (await findNodeModules(a.dir)).filter((p) => !before.has(p));
    }
    const problem = await linkProblem(a);
    return problem === undefined ? result : { ...result, status: 'failed', message: problem };
  });
}

/** What is wrong with the package links of the install, if a link points at nothing or out of the build (a `file:` dependency not in spec.source). */
async function linkProblem(a: Attempt): Promise<string | undefined> {
  const broken = await brokenLinks(a.dir, a.record.installed ?? []);
  const first = broken[0];
  if (first === undefined) return undefined;
  const more = broken.length > 1 ? ` (and ${broken.length - 1} more links)` : '';
  return first.kind === 'missing'
    ? `${first.link} links to ${first.target}, which is not part of the build; add ${first.target} to spec.source${more}`
    : `${first.link} links outside the build, to ${first.target}; a build must hold all the code it loads${more}`;
}

/** The script check: a file the process can start, in the build. */
function scriptProblem(dir: string, code: Pick<TaskCode, 'cwd' | 'script' | 'program'>): string | undefined {
  if (code.program) return undefined;
  const path = posix.join(code.cwd, code.script);
  try {
    if (statSync(join(dir, path)).isFile()) return undefined;
  } catch {
    // Missing: reported below.
  }
  return `script ${code.script} is not a file in the build (looked for ${path}); a script the build produces must be written by build.run`;
}

async function runAttempt(a: Attempt): Promise<boolean> {
  const { input } = a;
  const exported = await step(a, 'export', undefined, async () => {
    await exportFiles(input.gitDir, input.code.files, a.dir);
    mkdirSync(join(a.dir, a.record.cwd), { recursive: true });
    return { status: 'ok' };
  });
  if (!exported) return false;
  if (a.record.build.install !== undefined && !(await install(a, a.record.build.install))) return false;
  for (const command of a.record.build.run) if (!(await step(a, 'run', command, () => runShell(a, command)))) return false;
  return step(a, 'check', undefined, async () => {
    const problem = scriptProblem(a.dir, input.code);
    return problem ? { status: 'failed', message: problem } : { status: 'ok' };
  });
}

function newRecord(input: PrepareBuildInput, secrets: readonly string[], at: string): BuildRecord {
  const { code } = input;
  const record: BuildRecord = {
    version: 1, task: code.task, codeDigest: code.codeDigest, status: 'ok', cwd: code.cwd, script: code.script,
    build: { ...code.build, ...(code.build.install === undefined ? {} : { install: redactText(code.build.install, secrets) }), run: code.build.run.map((c) => redactText(c, secrets)) },
    steps: [], createdAt: at, lastUsedAt: at,
  };
  if (code.installKey !== undefined) record.installKey = code.installKey;
  if (input.revision !== undefined) record.revision = input.revision;
  return record;
}

function ready(stateDir: string, record: BuildRecord, reused: boolean): PrepareResult {
  const build: Build = { task: record.task, codeDigest: record.codeDigest, dir: buildDir(stateDir, record.task, record.codeDigest), record };
  return { kind: 'ready', build, reused };
}

/** Makes the build, under the task's lock. */
async function make(input: PrepareBuildInput, now: () => Date): Promise<PrepareResult> {
  const { stateDir, code } = input;
  const dir = buildDir(stateDir, code.task, code.codeDigest);
  const recFile = recordFile(stateDir, code.task, code.codeDigest);
  const existing = readRecord(recFile);
  if (existing?.status === 'ok' && isDirectory(dir)) return reuse(input, existing, now);
  const failed = input.retryFailed ? undefined : readRecord(failureFile(stateDir, code.task, code.codeDigest));
  if (failed) return { kind: 'failed', failure: failureOf(failed, true) };
  // A folder without a record is what a killed attempt left: never complete, made again.
  await rm(recFile, { force: true });
  await rm(dir, { recursive: true, force: true });
  const secrets = secretValues(input.env);
  const attempt: Attempt = {
    input, dir, secrets, now,
    record: newRecord(input, secrets, now().toISOString()),
    env: stepEnv(input.hostEnv ?? process.env, input.env),
    deadline: performance.now() + code.build.timeoutSeconds * 1000,
  };
  let ok = false;
  try {
    ok = await runAttempt(attempt);
  } finally {
    if (!ok) {
      await rm(dir, { recursive: true, force: true });
      // The task's folder too, when this attempt made it: a failure leaves builds/ exactly as it was.
      if (listDir(taskBuildsDir(stateDir, code.task)).length === 0) rmSync(taskBuildsDir(stateDir, code.task), { recursive: true, force: true });
    }
  }
  if (ok) {
    writeRecord(recFile, attempt.record);
    rmSync(failureFile(stateDir, code.task, code.codeDigest), { force: true });
    return ready(stateDir, attempt.record, false);
  }
  attempt.record.status = 'failed';
  const aborted = attempt.record.steps[attempt.record.steps.length - 1]?.message === 'aborted';
  if (!aborted) writeRecord(failureFile(stateDir, code.task, code.codeDigest), attempt.record);
  return { kind: 'failed', failure: failureOf(attempt.record, false) };
}

/** A complete build found again: its script checked (the script is not part of the digest) and its last use noted. */
function reuse(input: PrepareBuildInput, record: BuildRecord, now: () => Date): PrepareResult {
  const dir = buildDir(input.stateDir, record.task, record.codeDigest);
  const problem = scriptProblem(dir, input.code);
  if (problem) {
    const at = now().toISOString();
    const check: BuildRecord = { ...record, status: 'failed', steps: [{ kind: 'check', status: 'failed', message: problem, startedAt: at, durationMs: 0 }], createdAt: at };
    return { kind: 'failed', failure: failureOf(check, false) };
  }
  const touched = { ...record, lastUsedAt: now().toISOString() };
  writeRecord(recordFile(input.stateDir, record.task, record.codeDigest), touched);
  return ready(input.stateDir, touched, true);
}

/**
 * Prepares the build of `input.code`: reuses a complete build of the same
 * digest, or makes it. Builds of one task are made one at a time (a lock per
 * task, across processes); a second prepare of a digest waits and reuses the
 * first one's build. Step failures resolve to `{ kind: 'failed' }`; throws
 * UnreachableError when the task's lock stays held past twice the build
 * timeout, ValidationError for code outside the repository, and on I/O
 * errors of the store itself.
 */
export async function prepareBuild(input: PrepareBuildInput): Promise<PrepareResult> {
  const now = input.now ?? (() => new Date());
  const { stateDir, code } = input;
  if (code.source.kind === 'none' && code.source.reason === 'external') {
    throw new ValidationError(`task ${code.task} runs code outside the repository (an allowed root): that code is the operator's, pm2-gitops neither copies nor builds it`);
  }
  const timeoutMs = 2 * code.build.timeoutSeconds * 1000 + 60_000;
  return withLock(taskLockFile(stateDir, code.task), { timeoutMs, what: `build of task ${code.task}` }, () => make(input, now));
}

/** Whether a complete build of the digest exists (for the caller's plan; prepareBuild answers the same under the lock). */
export function hasBuild(stateDir: string, task: string, digest: string): boolean {
  return readRecord(recordFile(stateDir, task, digest))?.status === 'ok' && existsSync(buildDir(stateDir, task, digest));
}
