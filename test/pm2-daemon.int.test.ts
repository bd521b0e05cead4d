/**
 * The PM2 adapter when the daemon dies or starts twice: calls fail fast
 * instead of hanging, reconnect() starts one new daemon, concurrent connects
 * never spawn two, and processes that outlived a killed daemon are stopped.
 */
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readdirSync, readFileSync, readlinkSync, rmSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { Pm2Client } from '../src/adapters/pm2.js';
import { DaemonUnreachableError } from '../src/domain/errors.js';
import { ROOT, run } from './helpers/cli.js';
import { waitFor } from './helpers/controller.js';
import { isolatedPm2 } from './helpers/pm2.js';

const PORT = 24210;

/** An HTTP server without PM2's agent (pmx: false): it does not exit with its daemon. */
const SERVER_CJS = `require('node:http').createServer((q, s) => s.end(String(process.pid))).listen(Number(process.env.PORT), '127.0.0.1');\n`;

/** Pids of the God daemons whose command line names this PM2_HOME. */
function gods(home: string): number[] {
  const out = execFileSync('ps', ['-eo', 'pid=,stat=,args='], { encoding: 'utf8' });
  return out.split('\n').filter((l) => l.includes(`God Daemon (${home})`) && !/^\s*\d+\s+Z/.test(l)).map((l) => Number(l.trim().split(/\s+/)[0]));
}

function alive(pid: number): boolean {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    return !/^\d+ \(.*\) [ZX]/.test(stat);
  } catch {
    return false;
  }
}

function portFree(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const srv = createServer();
    srv.once('error', () => resolve(false));
    srv.listen(port, '127.0.0.1', () => srv.close(() => resolve(true)));
  });
}

describe('the PM2 adapter when the daemon dies', () => {
  const pm2 = isolatedPm2();
  const dir = mkdtempSync(join(tmpdir(), 'pm2gt-daemon-'));
  writeFileSync(join(dir, 'server.cjs'), SERVER_CJS);
  let client: Pm2Client | undefined;

  afterAll(async () => {
    await client?.disconnect();
    await pm2.kill();
    rmSync(dir, { recursive: true, force: true });
  });

  it('[daemon-killed] connections started at once by several processes start one daemon', async () => {
    const script = `const { Pm2Client } = await import(${JSON.stringify(join(ROOT, 'dist/adapters/pm2.js'))});
const c = await Pm2Client.connect(); await c.list(); await c.disconnect(); process.exit(0);`;
    const results = await Promise.all([1, 2, 3, 4].map(() => run(process.execPath, ['--input-type=module', '-e', script], { env: pm2.env, timeoutMs: 60_000 })));
    expect(results.map((r) => r.code)).toEqual([0, 0, 0, 0]);
    expect(gods(pm2.home)).toHaveLength(1);
  });

  it('[daemon-killed] after kill -9 of the daemon, calls fail at once and reconnect() starts one new daemon', async () => {
    client = await Pm2Client.connect({ home: pm2.home });
    const app = client.resolveApp({ name: 'orphan', namespace: 'daemon-test', cwd: dir, script: 'server.cjs', pmx: false, env: { PORT: String(PORT) } });
    await client.create(app);
    const served = await waitFor('the server to answer', async () => { try { return Number(await (await fetch(`http://127.0.0.1:${PORT}/`)).text()); } catch { return undefined; } }, 20_000);
    expect((await client.list()).find((e) => e.name === 'orphan')?.pid).toBe(served);

    const god = Number(readFileSync(join(pm2.home, 'pm2.pid'), 'utf8'));
    const lost = new Promise<void>((resolve) => client!.onLost(() => resolve()));
    process.kill(god, 'SIGKILL');
    await lost;
    expect(client.lost?.reason).toMatch(/connection/);
    const started = Date.now();
    await expect(client.list()).rejects.toBeInstanceOf(DaemonUnreachableError);
    expect(Date.now() - started).toBeLessThan(5_000);
    // The process outlived its daemon and still holds the port.
    expect(alive(served)).toBe(true);
    expect(await portFree(PORT)).toBe(false);

    expect((await client.reconnect()).startedDaemon).toBe(true);
    expect(client.lost).toBeUndefined();
    const newGod = Number(readFileSync(join(pm2.home, 'pm2.pid'), 'utf8'));
    expect(newGod).not.toBe(god);
    expect(gods(pm2.home)).toEqual([newGod]);
    expect(await client.list()).toEqual([]);

    const reaped = await client.reapOrphans(new Set(['daemon-test']));
    expect(reaped.map((r) => [r.name, r.pid])).toEqual([['orphan', served]]);
    expect(alive(served)).toBe(false);
    // Connections the test made may linger a moment in FIN-WAIT after the server's end.
    await waitFor('the port to be free', () => portFree(PORT), 10_000);
  });

  it('[daemon-killed] starting a new daemon after each loss holds no file descriptor of its log', async () => {
    const logFds = (): number => readdirSync('/proc/self/fd').filter((fd) => { try { return readlinkSync(`/proc/self/fd/${fd}`) === join(pm2.home, 'pm2.log'); } catch { return false; } }).length;
    client ??= await Pm2Client.connect({ home: pm2.home });
    for (let i = 0; i < 3; i++) {
      const lost = new Promise<void>((resolve) => client!.onLost(() => resolve()));
      process.kill(Number(readFileSync(join(pm2.home, 'pm2.pid'), 'utf8')), 'SIGKILL');
      await lost;
      expect((await client.reconnect()).startedDaemon).toBe(true);
    }
    // PM2's client opens its log twice for every daemon it spawns; none of those may stay open here.
    expect(logFds()).toBe(0);
  });

  it('[daemon-killed] orphans of namespaces that are not managed are left alone', async () => {
    const c = client!;
    await c.create(c.resolveApp({ name: 'other', namespace: 'not-ours', cwd: dir, script: 'server.cjs', pmx: false, env: { PORT: String(PORT + 1) } }));
    const pid = await waitFor('the other server to answer', async () => { try { return Number(await (await fetch(`http://127.0.0.1:${PORT + 1}/`)).text()); } catch { return undefined; } }, 20_000);
    expect((await c.list()).find((e) => e.name === 'other')?.pid).toBe(pid);
    const lost = new Promise<void>((resolve) => c.onLost(() => resolve()));
    process.kill(Number(readFileSync(join(pm2.home, 'pm2.pid'), 'utf8')), 'SIGKILL');
    await lost;
    await c.reconnect();
    expect(await c.reapOrphans(new Set(['daemon-test']))).toEqual([]);
    expect(alive(pid)).toBe(true);
    process.kill(pid, 'SIGKILL');
  });

  it('[daemon-killed] a hung daemon (SIGSTOP): a call fails after its time limit and reconnect() never starts a second daemon', async () => {
    const c = client!;
    const god = Number(readFileSync(join(pm2.home, 'pm2.pid'), 'utf8'));
    process.kill(god, 'SIGSTOP');
    try {
      await expect(c.list()).rejects.toThrow(/PM2 did not answer getMonitorData within 10s/);
      await c.reconnect();
      expect(gods(pm2.home)).toEqual([god]);
    } finally {
      process.kill(god, 'SIGCONT');
    }
    expect(Array.isArray(await c.list())).toBe(true);
  });
});
