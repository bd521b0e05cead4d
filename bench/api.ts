/**
 * The HTTP API under load, against a controller (`run --listen`) managing 200
 * sleeping fork-mode tasks on a real PM2 daemon:
 *
 * (a) `GET /api/environments/bench/tasks` (200 tasks, PM2 read per request,
 *     shared within 500 ms): requests per second and p50/p99 latency at 1
 *     and 8 concurrent keep-alive clients, beside `pm2 jlist` of the same
 *     200 processes (what a PM2 user runs to see them).
 * (b) Events through `/api/events` with 10 clients: the stream's capacity
 *     (a burst published into a real server, read by 10 HTTP clients), and
 *     the real thing: `pm2 restart all` of the 200 processes, every PM2 bus
 *     event (counted beside by a bus client, as `pm2 logs`/`pm2 monit` get
 *     them) and the task state changes reaching each client.
 * (c) The controller's RSS idle, and with the dashboard open in headless
 *     Chromium (signed in, 200 rows, live stream, 10 s poll), beside the PM2
 *     daemon's own RSS.
 * Every request goes to 127.0.0.1; every loop is bounded in count and time.
 */
import { execFileSync, spawn, type ChildProcess } from 'node:child_process';
import { closeSync, existsSync, mkdtempSync, openSync, readFileSync, rmSync } from 'node:fs';
import { Agent, request } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { chromium } from 'playwright-core';
import { silentLogger } from '../src/adapters/logger.js';
import { mintToken } from '../src/api/auth.js';
import { startApiServer } from '../src/api/server.js';
import { ApiTelemetry } from '../src/api/telemetry.js';
import { benchDaemon, GITOPS_BIN, ROOT, type BenchDaemon } from './lib/daemon.js';
import { sleepRepo } from './lib/sleep-repo.js';

const TASKS = 200;
const PORT = 27860;
const BASE = `http://127.0.0.1:${PORT}`;
const SECRET = 'bench-api-jwt-secret-0123456789abcdef';
const CLIENTS = 10;
const LOAD_MS = 8_000;
const CHROMIUM = '/usr/bin/chromium';

const pct = (sorted: number[], p: number): number => sorted[Math.min(sorted.length - 1, Math.max(0, Math.ceil((p / 100) * sorted.length) - 1))]!;
const ms = (n: number): string => `${n.toFixed(1)} ms`;
const sleep = (t: number): Promise<void> => new Promise((r) => { setTimeout(r, t); });

function rssMb(pid: number): number {
  const m = /VmRSS:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
  return m ? Number(m[1]) / 1024 : NaN;
}

async function waitFor<T>(what: string, check: () => Promise<T | undefined | false> | T | undefined | false, timeoutMs: number, everyMs = 250): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    const v = await Promise.resolve(check()).catch(() => undefined);
    if (v !== undefined && v !== false) return v;
    await sleep(everyMs);
  }
  throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
}

/** GETs `path` with the token over `agent`; resolves to [status, bytes, ms]. */
function get(agent: Agent, path: string, token: string): Promise<[number, number, number]> {
  return new Promise((resolve, reject) => {
    const t0 = performance.now();
    const req = request(`${BASE}${path}`, { agent, headers: { authorization: `Bearer ${token}` } }, (res) => {
      let bytes = 0;
      res.on('data', (d: Buffer) => { bytes += d.length; });
      res.on('end', () => resolve([res.statusCode ?? 0, bytes, performance.now() - t0]));
    });
    req.on('error', reject);
    req.end();
  });
}

async function load(path: string, token: string, concurrency: number): Promise<{ rps: number; p50: number; p99: number; bytes: number; n: number }> {
  const agent = new Agent({ keepAlive: true, maxSockets: concurrency });
  const times: number[] = [];
  let bytes = 0;
  const end = Date.now() + LOAD_MS;
  const t0 = performance.now();
  await Promise.all(Array.from({ length: concurrency }, async () => {
    while (Date.now() < end) {
      const [status, b, t] = await get(agent, path, token);
      if (status !== 200) throw new Error(`${path} answered ${status}`);
      bytes = b;
      times.push(t);
    }
  }));
  const wall = performance.now() - t0;
  agent.destroy();
  times.sort((a, b) => a - b);
  return { rps: times.length / (wall / 1000), p50: pct(times, 50), p99: pct(times, 99), bytes, n: times.length };
}

interface SseClient { count: () => number; types: Map<string, number>; last: () => number; close(): void }

/** An `/api/events` client that counts the events it reads. */
function sseClient(base: string, token: string): Promise<SseClient> {
  return new Promise((resolve, reject) => {
    let n = 0;
    let last = 0;
    const types = new Map<string, number>();
    const req = request(`${base}/api/events`, { headers: { authorization: `Bearer ${token}` } }, (res) => {
      if (res.statusCode !== 200) { reject(new Error(`events answered ${res.statusCode}`)); return; }
      let buffer = '';
      res.setEncoding('utf8');
      res.on('data', (chunk: string) => {
        buffer += chunk;
        let end: number;
        while ((end = buffer.indexOf('\n\n')) >= 0) {
          const frame = buffer.slice(0, end);
          buffer = buffer.slice(end + 2);
          const type = /^event: (.+)$/m.exec(frame)?.[1];
          if (!type) continue;
          n++;
          last = performance.now();
          types.set(type, (types.get(type) ?? 0) + 1);
        }
      });
      resolve({ count: () => n, types, last: () => last, close: () => req.destroy() });
    });
    req.on('error', (err) => { if (!req.destroyed) reject(err); });
    req.end();
  });
}

/** (b1) The stream's capacity: a burst of events into a real server, read by 10 HTTP clients. */
async function sseCapacity(token: string, secret: Uint8Array): Promise<string> {
  const telemetry = new ApiTelemetry({ logger: silentLogger });
  const server = await startApiServer({
    host: '127.0.0.1', port: 0, verifier: { alg: 'HS256', secret },
    controller: { lastResults: () => new Map(), requestPass: () => ({ correlationId: 'x', done: Promise.resolve() }) },
    telemetry, readLive: async () => undefined, logger: silentLogger,
  });
  const base = `http://127.0.0.1:${server.port}`;
  const clients = await Promise.all(Array.from({ length: CLIENTS }, () => sseClient(base, token)));
  await sleep(200);
  const EVENTS = 20_000;
  const t0 = performance.now();
  // In batches, so that the clients read while the server writes (a burst bigger than 1 MiB per client would drop them by design).
  for (let i = 0; i < EVENTS; i++) {
    telemetry.hub.publish({ type: 'process', correlationId: '00000000-0000-4000-8000-000000000000', at: new Date().toISOString(), environment: 'bench', data: { event: 'restart', name: `sleep-${i % TASKS}`, namespace: 'bench', pmId: i % TASKS } });
    if (i % 200 === 199) await new Promise((r) => setImmediate(r));
  }
  await waitFor('every client to read the burst', () => clients.every((c) => c.count() >= EVENTS), 60_000, 20);
  const wall = Math.max(...clients.map((c) => c.last())) - t0;
  for (const c of clients) c.close();
  await server.close();
  const perClient = EVENTS / (wall / 1000);
  return `  capacity: ${EVENTS} events to each of ${CLIENTS} clients in ${ms(wall)}: ${Math.round(perClient)} events/s per client, ${Math.round(perClient * CLIENTS)} frames/s delivered in all`;
}

async function main(): Promise<void> {
  execFileSync('npm', ['run', 'build', '--silent'], { cwd: ROOT, stdio: 'inherit' });
  const repo = sleepRepo('pm2gt-api-bench-repo-');
  repo.setTasks(TASKS);
  const daemon: BenchDaemon = benchDaemon('pm2gt-api-bench-');
  const state = mkdtempSync(join(tmpdir(), 'pm2gt-api-bench-state-'));
  const logFile = join(state, 'controller.log');
  const logFd = openSync(logFile, 'w');
  let ctl: ChildProcess | undefined;
  let browserDir: string | undefined;
  const secret = new TextEncoder().encode(SECRET);
  const token = await mintToken({ subject: 'bench', role: 'operator', ttlMs: 3_600_000, signer: { alg: 'HS256', secret } });
  try {
    console.log(`HTTP API bench: ${TASKS} sleeping fork-mode tasks, controller on ${BASE} (run --listen), one PM2 daemon, ${process.platform} ${process.arch}, node ${process.version}\n`);
    await daemon.pm2(['ping']);
    ctl = spawn(process.execPath, [GITOPS_BIN, 'run', '--repo', repo.dir, '--env', 'bench', '--state-dir', state, '--listen', `127.0.0.1:${PORT}`, '--interval', '1h', '--resync', '1h'], {
      env: { ...daemon.env, PM2_GITOPS_JWT_SECRET: SECRET, PM2_GITOPS_LOG_LEVEL: 'info' }, stdio: ['ignore', 'ignore', logFd],
    });
    const started = performance.now();
    await waitFor('the controller to start 200 tasks and be ready', async () => (await fetch(`${BASE}/readyz`)).status === 200, 600_000, 500);
    console.log(`controller ready after its first pass (creates ${TASKS} processes): ${(performance.now() - started) / 1000 | 0} s\n`);
    const tasksPath = '/api/environments/bench/tasks';
    const check = await (await fetch(`${BASE}${tasksPath}`, { headers: { authorization: `Bearer ${token}` } })).json() as { tasks: Array<{ state: string }> };
    if (check.tasks.length !== TASKS || !check.tasks.every((t) => t.state === 'online')) throw new Error(`expected ${TASKS} online tasks, got ${check.tasks.length}`);

    // (a)
    console.log(`(a) GET ${tasksPath}, ${TASKS} tasks, ${LOAD_MS / 1000} s per row, keep-alive, client in this process (same 2 cores)`);
    for (const c of [1, 8]) {
      const r = await load(tasksPath, token, c);
      console.log(`  ${c} client${c > 1 ? 's' : ' '}: ${r.rps.toFixed(0).padStart(5)} req/s, p50 ${ms(r.p50)}, p99 ${ms(r.p99)}  (${r.n} requests, ${(r.bytes / 1024).toFixed(0)} KiB each)`);
    }
    const jl: number[] = [];
    for (let i = 0; i < 5; i++) { const t0 = performance.now(); await daemon.jlist(); jl.push(performance.now() - t0); }
    jl.sort((a, b) => a - b);
    console.log(`  PM2 user: \`pm2 jlist\` of the same ${TASKS} processes: median ${ms(pct(jl, 50))}, max ${ms(jl[jl.length - 1]!)} per call (5 calls; a CLI process each)\n`);

    // (b)
    console.log(`(b) Server-Sent Events, ${CLIENTS} clients of /api/events`);
    console.log(await sseCapacity(token, secret));
    const clients = await Promise.all(Array.from({ length: CLIENTS }, () => sseClient(BASE, token)));
    process.env.PM2_HOME = daemon.home;
    const pm2 = (await import('pm2')).default;
    await new Promise<void>((resolve, reject) => pm2.connect(true, (err) => (err ? reject(err) : resolve())));
    let busEvents = 0;
    const bus = await new Promise<{ on(ev: string, f: () => void): void; close(): void }>((resolve, reject) => pm2.launchBus((err: Error, b: { on(ev: string, f: () => void): void; close(): void }) => (err ? reject(err) : resolve(b))));
    bus.on('process:event', () => { busEvents++; });
    await sleep(300);
    const t0 = performance.now();
    const restart = await daemon.pm2(['restart', 'all']);
    if (restart.code !== 0) throw new Error(`pm2 restart all failed: ${restart.stderr}`);
    await waitFor('the stream to settle', async () => {
      const before = clients.map((c) => c.count());
      await sleep(1500);
      return clients.every((c, i) => c.count() === before[i]);
    }, 120_000, 0);
    const wall = Math.max(...clients.map((c) => c.last())) - t0;
    const counts = clients.map((c) => c.count());
    const types = [...clients[0]!.types].map(([k, v]) => `${k} ${v}`).join(', ');
    console.log(`  pm2 restart all (${TASKS} processes, ${ms(restart.ms)} for the command): each client got ${Math.min(...counts)}–${Math.max(...counts)} events in ${(wall / 1000).toFixed(1)} s (${types}),`);
    console.log(`    ${Math.round((counts.reduce((a, b) => a + b, 0) / (wall / 1000)))} events/s delivered in all; PM2's bus had ${busEvents} process events for a local bus client (what \`pm2 logs\`/\`pm2 monit\` see; no HTTP, no auth, one host)`);
    for (const c of clients) c.close();
    bus.close();
    pm2.disconnect();
    await sleep(500);

    // (c)
    const idle = rssMb(ctl.pid!);
    const god = Number(readFileSync(join(daemon.home, 'pm2.pid'), 'utf8'));
    let withDashboard = NaN;
    let peak = idle;
    if (existsSync(CHROMIUM)) {
      browserDir = mkdtempSync(join(tmpdir(), 'pm2gt-api-bench-chromium-'));
      const browser = await chromium.launchPersistentContext(browserDir, {
        executablePath: CHROMIUM, headless: true, viewport: { width: 1440, height: 900 },
        args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run', '--disable-background-networking', '--disable-component-update', '--disable-sync'],
      });
      const page = await browser.newPage();
      await page.goto(BASE);
      await page.locator('#token').fill(token);
      await page.locator('#login-form button[type=submit]').click();
      await page.waitForFunction((n) => document.querySelectorAll('#task-rows tr').length === n, TASKS, { timeout: 30_000 });
      await page.locator('#conn[data-state=live]').waitFor({ timeout: 10_000 });
      for (let i = 0; i < 24; i++) { await sleep(500); peak = Math.max(peak, rssMb(ctl.pid!)); }
      withDashboard = rssMb(ctl.pid!);
      await browser.close();
    }
    console.log(`\n(c) controller RSS: idle ${idle.toFixed(0)} MB; with the dashboard open (${TASKS} rows, live stream, 12 s incl. one poll) ${withDashboard.toFixed(0)} MB, peak ${peak.toFixed(0)} MB`);
    console.log(`    PM2 user: the PM2 daemon itself (God) runs at ${rssMb(god).toFixed(0)} MB for the same ${TASKS} processes; pm2-gitops adds the controller above, and the dashboard replaces \`pm2 monit\`/\`pm2 ls\` in a terminal`);
  } finally {
    if (ctl && ctl.exitCode === null) {
      ctl.kill('SIGTERM');
      await new Promise((r) => { ctl!.once('exit', r); setTimeout(r, 20_000); });
    }
    closeSync(logFd);
    await daemon.kill();
    repo.cleanup();
    rmSync(state, { recursive: true, force: true });
    if (browserDir) rmSync(browserDir, { recursive: true, force: true });
  }
}

await main();
