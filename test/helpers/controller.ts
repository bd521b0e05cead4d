import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { BIN } from './cli.js';

/** A `pm2-gitops run` child process. */
export interface RunningController {
  child: ChildProcess;
  stateDir: string;
  /** Everything it wrote to stderr so far. */
  logs(): string;
  /** SIGTERM, then resolves to the exit code. */
  stop(): Promise<number | null>;
  /** SIGKILL, then resolves once it is gone. */
  kill9(): Promise<void>;
}

/** Starts the controller on `repo` with its own state dir, against the PM2 daemon of `env.PM2_HOME`. */
export function startController(opts: { repo: string; env: NodeJS.ProcessEnv; args?: string[]; stateDir?: string }): RunningController {
  const stateDir = opts.stateDir ?? mkdtempSync(join(tmpdir(), 'pm2gt-state-'));
  const child = spawn(process.execPath, [BIN, 'run', '--repo', opts.repo, '--state-dir', stateDir, '--interval', '1s', ...(opts.args ?? [])], {
    env: { ...opts.env, PM2_GITOPS_LOG_LEVEL: 'debug' },
    stdio: ['ignore', 'ignore', 'pipe'],
  });
  let logs = '';
  child.stderr!.on('data', (d: Buffer) => { logs += d.toString(); });
  const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
  return {
    child,
    stateDir,
    logs: () => logs,
    async stop() {
      child.kill('SIGTERM');
      return exited;
    },
    async kill9() {
      child.kill('SIGKILL');
      await exited;
    },
  };
}

/** Polls `check` until it returns a value other than undefined/false, or throws after `timeoutMs`. */
export async function waitFor<T>(what: string, check: () => T | undefined | false | Promise<T | undefined | false>, timeoutMs = 30_000, everyMs = 100): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  let last: unknown;
  while (Date.now() < deadline) {
    try {
      const value = await check();
      if (value !== undefined && value !== false) return value;
    } catch (err) {
      last = err;
    }
    await new Promise((r) => { setTimeout(r, everyMs); });
  }
  throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}${last ? ` (last error: ${(last as Error).message})` : ''}`);
}

/**
 * `waitFor` for a test with a running controller: a wait that times out also
 * reports what the controller saw, the status file (when readable) and the
 * tail of its log.
 */
export function controllerWait(ctl: () => RunningController | undefined, status: () => string) {
  return async <T>(what: string, check: () => T | undefined | false | Promise<T | undefined | false>, timeoutMs?: number, everyMs?: number): Promise<T> =>
    waitFor(what, check, timeoutMs, everyMs).catch((err: Error) => {
      let text: string;
      try { text = status(); } catch (e) { text = `(unreadable: ${(e as Error).message})`; }
      const log = (ctl()?.logs() ?? '').trimEnd().split('\n').slice(-40).join('\n');
      err.message = `${err.message}\n--- status file ---\n${text}\n--- controller log, last 40 lines ---\n${log}`;
      throw err;
    });
}
