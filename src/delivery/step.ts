/**
 * One install or build step (I/O): `sh -c <command>` in a process group of
 * its own, output captured through OutputCapture (redacted, bounded), killed
 * with its whole group at its deadline or when the caller aborts.
 */
import { spawn } from 'node:child_process';
import { StringDecoder } from 'node:string_decoder';
import { OutputCapture } from './output.js';

/** How long a step may take to exit after SIGTERM before its group gets SIGKILL. */
const KILL_GRACE_MS = 5_000;
/** How long to wait for the output pipes after the shell exited (a process that left the group may hold them). */
const CLOSE_GRACE_MS = 2_000;

/** One step to run. */
export interface StepRun {
  command: string;
  cwd: string;
  env: Record<string, string>;
  /** Time the step may take, in ms. */
  timeoutMs: number;
  /** Values redacted from the output. */
  secrets: readonly string[];
  signal?: AbortSignal;
}

/** How a step ended. */
export interface StepOutcome {
  exitCode: number | null;
  signal: string | null;
  timedOut: boolean;
  aborted: boolean;
  durationMs: number;
  /** Redacted, at most OUTPUT_LIMIT characters (plus a note of what was dropped). */
  output: string;
}

function killGroup(pid: number | undefined, signal: NodeJS.Signals): void {
  if (pid === undefined) return;
  try {
    process.kill(-pid, signal);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'ESRCH') throw err;
  }
}

/** Runs one step to its end; never rejects for the step's own failure (the outcome says how it ended). */
export function runStep(run: StepRun): Promise<StepOutcome> {
  const started = performance.now();
  const capture = new OutputCapture(run.secrets);
  return new Promise((resolve, reject) => {
    // detached: the shell leads a new process group, so a timeout can kill everything it started.
    const child = spawn('sh', ['-c', run.command], { cwd: run.cwd, env: run.env, detached: true, stdio: ['ignore', 'pipe', 'pipe'] });
    const decoders = [new StringDecoder('utf8'), new StringDecoder('utf8')] as const;
    child.stdout.on('data', (d: Buffer) => capture.write(decoders[0].write(d)));
    child.stderr.on('data', (d: Buffer) => capture.write(decoders[1].write(d)));
    let timedOut = false;
    let aborted = false;
    let killTimer: NodeJS.Timeout | undefined;
    const stop = (why: 'timeout' | 'abort'): void => {
      if (why === 'timeout') timedOut = true; else aborted = true;
      killGroup(child.pid, 'SIGTERM');
      killTimer = setTimeout(() => killGroup(child.pid, 'SIGKILL'), KILL_GRACE_MS);
    };
    const deadline = setTimeout(() => stop('timeout'), run.timeoutMs);
    const onAbort = (): void => stop('abort');
    if (run.signal?.aborted) onAbort(); else run.signal?.addEventListener('abort', onAbort, { once: true });
    let exit: { code: number | null; signal: string | null } | undefined;
    let done = false;
    const finish = (): void => {
      if (done || !exit) return;
      done = true;
      clearTimeout(deadline);
      clearTimeout(killTimer);
      run.signal?.removeEventListener('abort', onAbort);
      capture.write(decoders[0].end() + decoders[1].end());
      resolve({ exitCode: exit.code, signal: exit.signal, timedOut, aborted, durationMs: Math.round(performance.now() - started), output: capture.end() });
    };
    child.on('error', (err) => {
      clearTimeout(deadline);
      reject(err);
    });
    child.on('exit', (code, signal) => {
      exit = { code, signal };
      // Whatever the shell left running in its group (a background job) ends with it.
      killGroup(child.pid, 'SIGKILL');
      setTimeout(() => {
        child.stdout.destroy();
        child.stderr.destroy();
        finish();
      }, CLOSE_GRACE_MS).unref();
    });
    child.on('close', finish);
  });
}
