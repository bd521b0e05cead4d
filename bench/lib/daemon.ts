/** An isolated PM2 daemon (own PM2_HOME in a temp dir) for benchmarks, with a check that it is really gone. */
import { execFileSync, spawn } from 'node:child_process';
import { closeSync, existsSync, mkdtempSync, openSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

export const ROOT = fileURLToPath(new URL('../..', import.meta.url)).replace(/\/$/, '');
export const PM2_BIN = join(ROOT, 'node_modules/pm2/bin/pm2');
export const GITOPS_BIN = join(ROOT, 'bin/pm2-gitops.js');

export interface RunResult { code: number; stdout: string; stderr: string; ms: number }

/**
 * Runs a command to completion; `ms` is its wall time. Its stdout goes to a
 * file, not a pipe, so that what is measured does not include the bench
 * draining a large output (a 500-task plan) while the command runs.
 */
export function run(cmd: string, args: string[], opts: { cwd?: string; env?: NodeJS.ProcessEnv; timeoutMs?: number } = {}): Promise<RunResult> {
  const dir = mkdtempSync(join(tmpdir(), 'pm2gt-rec-out-'));
  const outFile = join(dir, 'stdout');
  const fd = openSync(outFile, 'w');
  return new Promise<RunResult>((resolve, reject) => {
    const t0 = performance.now();
    const child = spawn(cmd, args, { cwd: opts.cwd, env: opts.env ?? process.env, stdio: ['ignore', fd, 'pipe'] });
    let stderr = '';
    child.stderr!.on('data', (d: Buffer) => { stderr += d.toString(); });
    const timer = setTimeout(() => child.kill('SIGKILL'), opts.timeoutMs ?? 900_000);
    child.on('error', reject);
    child.on('close', (code) => {
      clearTimeout(timer);
      const ms = Math.round(performance.now() - t0);
      resolve({ code: code ?? -1, stdout: readFileSync(outFile, 'utf8'), stderr, ms });
    });
  }).finally(() => {
    closeSync(fd);
    rmSync(dir, { recursive: true, force: true });
  });
}

/** One process as `pm2 jlist` prints it (the fields the bench reads). */
export interface JlistEntry {
  name: string;
  pid: number;
  pm_id: number;
  pm2_env: { status: string; namespace: string; restart_time: number; env?: Record<string, string> };
}

export interface BenchDaemon {
  home: string;
  env: NodeJS.ProcessEnv;
  pm2(args: string[], opts?: { cwd?: string }): Promise<RunResult>;
  gitops(args: string[], opts?: { cwd?: string }): Promise<RunResult>;
  jlist(): Promise<JlistEntry[]>;
  /** Kills the daemon (and its processes), removes its home; resolves to true when no daemon of this home remains. */
  kill(): Promise<boolean>;
}

function daemonPid(home: string): number | undefined {
  const file = join(home, 'pm2.pid');
  if (!existsSync(file)) return undefined;
  const pid = Number(readFileSync(file, 'utf8').trim());
  return Number.isInteger(pid) && pid > 0 ? pid : undefined;
}

/** The process exists and is not a zombie (an exited daemon not yet reaped counts as gone). */
function alive(pid: number): boolean {
  try { process.kill(pid, 0); } catch { return false; }
  try { return !/^\d+ \(.*\) Z/.test(readFileSync(`/proc/${pid}/stat`, 'utf8')); } catch { return false; }
}

/** PIDs of processes whose command line contains `text`. */
export function processesMatching(text: string): number[] {
  const ps = execFileSync('ps', ['-eo', 'pid=,args='], { encoding: 'utf8' });
  return ps.split('\n').filter((l) => l.includes(text)).map((l) => Number(l.trim().split(/\s+/)[0]));
}

/** PIDs of PM2 daemons whose command line names `home`. */
export function daemonsOf(home: string): number[] {
  const ps = execFileSync('ps', ['-eo', 'pid=,args='], { encoding: 'utf8' });
  return ps.split('\n').filter((l) => l.includes('PM2 v') && l.includes(`(${home})`)).map((l) => Number(l.trim().split(/\s+/)[0]));
}

export function benchDaemon(prefix: string): BenchDaemon {
  const home = mkdtempSync(join(tmpdir(), prefix));
  const env: NodeJS.ProcessEnv = { ...process.env, PM2_HOME: home, PM2_DISCRETE_MODE: 'true', PM2_SILENT: 'true' };
  const pm2 = (args: string[], opts: { cwd?: string } = {}): Promise<RunResult> => run(process.execPath, [PM2_BIN, ...args], { env, cwd: opts.cwd });
  return {
    home,
    env,
    pm2,
    gitops: (args, opts = {}) => run(process.execPath, [GITOPS_BIN, ...args], { env, cwd: opts.cwd }),
    async jlist() {
      const r = await pm2(['jlist']);
      if (r.code !== 0) throw new Error(`pm2 jlist failed: ${r.stderr}`);
      return JSON.parse(r.stdout.slice(r.stdout.indexOf('['))) as JlistEntry[];
    },
    async kill() {
      const pid = daemonPid(home);
      if (existsSync(home)) await pm2(['kill']);
      if (pid !== undefined && alive(pid)) {
        try { process.kill(pid, 'SIGKILL'); } catch { /* already gone */ }
      }
      for (const other of daemonsOf(home)) {
        try { process.kill(other, 'SIGKILL'); } catch { /* already gone */ }
      }
      const isGone = (): boolean => (pid === undefined || !alive(pid)) && daemonsOf(home).length === 0;
      for (let i = 0; i < 100 && !isGone(); i++) await new Promise((r) => setTimeout(r, 100));
      const gone = isGone();
      rmSync(home, { recursive: true, force: true });
      return gone;
    },
  };
}

/** Per process (namespace:name; fork mode, one process per app): its pm_id, pid and restart count. */
export function snapshot(list: JlistEntry[]): Map<string, { pmId: number; pid: number; restarts: number }> {
  return new Map(list.map((p) => [`${p.pm2_env.namespace}:${p.name}`, { pmId: p.pm_id, pid: p.pid, restarts: p.pm2_env.restart_time }]));
}

/** Processes whose pm_id, pid or restart count changed between two snapshots (or that appeared or vanished). */
export function restarted(before: ReturnType<typeof snapshot>, after: ReturnType<typeof snapshot>): string[] {
  const keys = new Set([...before.keys(), ...after.keys()]);
  return [...keys].filter((k) => {
    const b = before.get(k);
    const a = after.get(k);
    return !a || !b || a.pmId !== b.pmId || a.pid !== b.pid || a.restarts !== b.restarts;
  }).sort();
}
