import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { run, type RunResult } from './cli.js';

const PM2_BIN = fileURLToPath(new URL('../../node_modules/pm2/bin/pm2', import.meta.url));

/** One PM2 process as `pm2 jlist` prints it (the fields tests read). */
export interface JlistEntry {
  name: string;
  pid: number;
  pm_id: number;
  pm2_env: Record<string, unknown> & { status: string; namespace: string; restart_time: number; pm_uptime: number; env: Record<string, string> };
}

/** A PM2 daemon of its own, under a fresh PM2_HOME in a temp dir. */
export interface IsolatedPm2 {
  home: string;
  /** Environment for child processes (CLI, pm2) that should talk to this daemon. */
  env: NodeJS.ProcessEnv;
  pm2(args: string[], opts?: { cwd?: string }): Promise<RunResult>;
  jlist(): Promise<JlistEntry[]>;
  /** Kills the daemon and removes its home. */
  kill(): Promise<void>;
}

/** Creates an isolated PM2 home; the daemon starts on first use. Always call kill(). */
export function isolatedPm2(prefix = 'pm2gt-'): IsolatedPm2 {
  const home = mkdtempSync(join(tmpdir(), prefix));
  const env: NodeJS.ProcessEnv = { ...process.env, PM2_HOME: home, PM2_DISCRETE_MODE: 'true', PM2_SILENT: 'true' };
  const pm2 = (args: string[], opts: { cwd?: string } = {}): Promise<RunResult> => run(process.execPath, [PM2_BIN, ...args], { env, cwd: opts.cwd });
  return {
    home,
    env,
    pm2,
    async jlist() {
      const r = await pm2(['jlist']);
      if (r.code !== 0) throw new Error(`pm2 jlist failed: ${r.stderr}`);
      const start = r.stdout.indexOf('[');
      return JSON.parse(r.stdout.slice(start)) as JlistEntry[];
    },
    async kill() {
      await pm2(['kill']);
      rmSync(home, { recursive: true, force: true });
    },
  };
}
