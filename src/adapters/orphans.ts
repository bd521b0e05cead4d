/**
 * Processes a dead PM2 daemon left behind (I/O: /proc and signals). When the
 * daemon is killed with SIGKILL, cluster workers and Node.js apps that load
 * PM2's agent (the default, `pmx`) exit with it, but other fork-mode
 * processes (`pmx: false`, programs such as `sleep` or a Python server) keep
 * running with no daemon, holding their ports: a new daemon starting the same
 * app would crash-loop on EADDRINUSE and the old copy would run on as a
 * duplicate nobody manages. They are found by the pids the old daemon
 * reported, and only when /proc still shows that exact PM2 process (same
 * PM2_HOME, pm_id and unique_id in its environment).
 */
import { readFileSync } from 'node:fs';

/** A process as the old daemon last listed it. */
export interface SeenProcess {
  pid: number;
  pmId: number;
  uniqueId: string;
  name: string;
  namespace: string;
  /** PM2's kill_timeout for it, in ms. */
  killTimeoutMs: number;
}

/** A process reaped after its daemon died. */
export interface ReapedProcess extends SeenProcess { signal: 'SIGTERM' | 'SIGKILL' }

const DEFAULT_KILL_TIMEOUT_MS = 1_600;
const POLL_MS = 100;

function statFields(pid: number): string[] | undefined {
  try {
    const text = readFileSync(`/proc/${pid}/stat`, 'utf8');
    // The command name (field 2) may hold spaces and parentheses: split after its last ')'.
    return text.slice(text.lastIndexOf(')') + 2).split(' ');
  } catch {
    return undefined;
  }
}

/** Whether a pid still runs (a zombie holds no port and counts as gone). */
function running(pid: number): boolean {
  const fields = statFields(pid);
  return fields !== undefined && fields[0] !== 'Z' && fields[0] !== 'X';
}

/** Whether /proc shows the very process PM2 listed: its environment names the same home, pm_id and unique_id. */
function isSame(p: SeenProcess, home: string): boolean {
  let environ: string[];
  try {
    environ = readFileSync(`/proc/${p.pid}/environ`, 'utf8').split('\0');
  } catch {
    return false;
  }
  const has = (entry: string): boolean => environ.includes(entry);
  return has(`PM2_HOME=${home}`) && has(`pm_id=${p.pmId}`) && has(`unique_id=${p.uniqueId}`);
}

function signal(pid: number, sig: NodeJS.Signals): void {
  // PM2 starts fork-mode apps detached, as leaders of their own process group: signal the group, so their children go too.
  const group = statFields(pid)?.[2] === String(pid);
  try {
    process.kill(group ? -pid : pid, sig);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'ESRCH') throw err;
  }
}

async function gone(pid: number, withinMs: number): Promise<boolean> {
  const deadline = Date.now() + withinMs;
  while (Date.now() < deadline) {
    if (!running(pid)) return true;
    await new Promise((r) => { setTimeout(r, POLL_MS); });
  }
  return !running(pid);
}

/**
 * Stops the processes of `seen` that still run although no daemon of `home`
 * manages them any more (`listed`: the pids the current daemon lists):
 * SIGTERM, then SIGKILL after their kill_timeout. Resolves to what it stopped.
 */
export async function reapOrphans(home: string, seen: readonly SeenProcess[], listed: ReadonlySet<number>): Promise<ReapedProcess[]> {
  const orphans = seen.filter((p) => p.pid > 0 && !listed.has(p.pid) && running(p.pid) && isSame(p, home));
  return Promise.all(orphans.map(async (p): Promise<ReapedProcess> => {
    signal(p.pid, 'SIGTERM');
    if (await gone(p.pid, Math.max(p.killTimeoutMs, DEFAULT_KILL_TIMEOUT_MS))) return { ...p, signal: 'SIGTERM' };
    signal(p.pid, 'SIGKILL');
    await gone(p.pid, 2_000);
    return { ...p, signal: 'SIGKILL' };
  }));
}
