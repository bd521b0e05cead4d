/**
 * Stable links and garbage collection: a link is switched atomically (a
 * reader in another process never finds it missing), PM2's own restarts
 * load the build last linked and never one only prepared, and GC keeps what
 * it must and removes the rest, leaving a task alone while it is built.
 */
import { spawn } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import http from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { collectBuilds } from '../src/delivery/gc.js';
import { buildDir, failureFile, linkPath, taskLockFile } from '../src/delivery/layout.js';
import { deliveredProcess, linkedDigest, switchLink } from '../src/delivery/links.js';
import { writeRecord } from '../src/delivery/records.js';
import type { Build, CodeTask, PrepareResult } from '../src/delivery/types.js';
import { codeAt, prepare, testHost } from './helpers/delivery.js';
import { gitFixture } from './helpers/git.js';
import { isolatedPm2, type IsolatedPm2 } from './helpers/pm2.js';

const PORT = 25600;
const SERVER_JS = `const http = require('node:http');
const fs = require('node:fs');
const path = require('node:path');
const version = fs.readFileSync(path.join(__dirname, 'version.txt'), 'utf8').trim();
http.createServer((req, res) => res.end(JSON.stringify({ version, pid: process.pid, dir: __dirname }))).listen(${PORT}, '127.0.0.1');
`;

const host = testHost();
const repo = gitFixture(undefined, 'pm2gt-deliver-links-');
const stateDir = mkdtempSync(join(tmpdir(), 'pm2gt-deliver-links-state-'));
afterAll(() => { repo.cleanup(); rmSync(stateDir, { recursive: true, force: true }); host.cleanup(); });

const srv = (over: Partial<CodeTask> = {}): CodeTask => ({ name: 'srv', cwd: 'apps/srv', cwdDeclared: true, script: 'server.js', ...over });

function ready(result: PrepareResult): Build {
  if (result.kind !== 'ready') throw new Error(result.failure.message);
  return result.build;
}

/** Builds the head of the fixture for `task`. */
async function buildHead(task: CodeTask, now?: () => Date): Promise<Build> {
  return ready(await prepare(repo, stateDir, await codeAt(repo, task), { hostEnv: host.env, ...(now ? { now } : {}) }));
}

let v1: Build;
let v2: Build;

beforeAll(async () => {
  repo.commit('srv v1', { 'apps/srv/server.js': SERVER_JS, 'apps/srv/version.txt': 'v1\n' });
  v1 = await buildHead(srv());
  repo.commit('srv v2', { 'apps/srv/version.txt': 'v2\n' });
  v2 = await buildHead(srv());
});

describe('stable links', () => {
  it('[delivery-links] switching is atomic: a reader in another process never finds the link missing', async () => {
    const link = switchLink({ stateDir, env: 'dev', task: 'srv', codeDigest: v1.codeDigest }).path;
    const stop = join(stateDir, 'stop-reader');
    const reader = spawn(process.execPath, ['-e', `
      const fs = require('node:fs');
      let missing = 0, reads = 0; const seen = new Set();
      process.stdout.write('ready\\n');
      while (!fs.existsSync(${JSON.stringify(stop)})) {
        reads++;
        try { seen.add(fs.readFileSync(${JSON.stringify(`${link}/apps/srv/version.txt`)}, 'utf8').trim()); } catch { missing++; }
      }
      process.stdout.write(JSON.stringify({ missing, reads, seen: [...seen].sort() }));
    `], { stdio: ['ignore', 'pipe', 'inherit'] });
    let out = '';
    reader.stdout.on('data', (d: Buffer) => { out += d.toString(); });
    await new Promise<void>((resolve) => { const check = (): void => { if (out.startsWith('ready')) resolve(); else setTimeout(check, 10); }; check(); });
    for (let i = 0; i < 400; i++) {
      switchLink({ stateDir, env: 'dev', task: 'srv', codeDigest: i % 2 ? v1.codeDigest : v2.codeDigest });
      if (i % 50 === 0) await new Promise((r) => { setTimeout(r, 5); });
    }
    writeFileSync(stop, '');
    await new Promise((r) => reader.on('close', r));
    const result = JSON.parse(out.slice('ready\n'.length)) as { missing: number; reads: number; seen: string[] };
    expect(result.missing).toBe(0);
    expect(result.seen).toEqual(['v1', 'v2']);
    expect(result.reads).toBeGreaterThan(100);
  });

  it('[delivery-links] only a complete build can be linked; the previous build is reported for rollback', () => {
    expect(() => switchLink({ stateDir, env: 'dev', task: 'srv', codeDigest: 'f'.repeat(64) })).toThrow(/no complete build/);
    switchLink({ stateDir, env: 'dev', task: 'srv', codeDigest: v1.codeDigest });
    expect(switchLink({ stateDir, env: 'dev', task: 'srv', codeDigest: v2.codeDigest })).toMatchObject({ previous: v1.codeDigest });
    expect(linkedDigest({ stateDir, env: 'dev', task: 'srv' })).toBe(v2.codeDigest);
  });
});

describe('rollback', () => {
  it('[delivery-reuse] a revert commit has the earlier digest: its kept build is linked again and nothing runs', async () => {
    switchLink({ stateDir, env: 'rb', task: 'srv', codeDigest: v2.codeDigest });
    repo.commit('Revert "srv v2"', { 'apps/srv/version.txt': 'v1\n' });
    const code = await codeAt(repo, srv());
    expect(code.codeDigest).toBe(v1.codeDigest);
    const events: unknown[] = [];
    const result = await prepare(repo, stateDir, code, { hostEnv: host.env, onProgress: (e) => events.push(e) });
    expect(result).toMatchObject({ kind: 'ready', reused: true });
    expect(events).toEqual([]);
    expect(switchLink({ stateDir, env: 'rb', task: 'srv', codeDigest: code.codeDigest })).toMatchObject({ previous: v2.codeDigest });
    expect(readFileSync(join(linkPath(stateDir, 'rb', 'srv'), 'apps/srv/version.txt'), 'utf8')).toBe('v1\n');
  });
});

describe('PM2 runs the linked build', () => {
  let pm2: IsolatedPm2;
  beforeAll(() => { pm2 = isolatedPm2('pm2gt-deliver-links-pm2-'); });
  afterAll(async () => { await pm2.kill(); });

  function get(): Promise<{ version: string; pid: number; dir: string }> {
    return new Promise((resolve, reject) => {
      const req = http.get({ host: '127.0.0.1', port: PORT, path: '/', agent: false }, (res) => {
        let body = '';
        res.on('data', (c: Buffer) => { body += c.toString(); });
        res.on('end', () => { try { resolve(JSON.parse(body)); } catch (err) { reject(err as Error); } });
      });
      req.on('error', reject);
      req.setTimeout(5_000, () => req.destroy(new Error('no answer')));
    });
  }

  /** Waits (bounded) until the server answers from a pid other than `not`. */
  async function answerFrom(not?: number): Promise<{ version: string; pid: number; dir: string }> {
    for (let i = 0; i < 200; i++) {
      try {
        const a = await get();
        if (a.pid !== not) return a;
      } catch { /* restarting */ }
      await new Promise((r) => { setTimeout(r, 50); });
    }
    throw new Error('the server did not come back within 10 s');
  }

  it('[delivery-links] a crash restart by PM2 loads the linked build: never a build only prepared, the new one once switched', async () => {
    const link = switchLink({ stateDir, env: 'pm2', task: 'srv', codeDigest: v1.codeDigest }).path;
    const proc = deliveredProcess(link, { cwd: 'apps/srv', script: 'server.js' });
    expect(proc).toEqual({ cwd: join(stateDir, 'links', 'pm2', 'srv', 'apps/srv'), script: 'server.js' });
    const started = await pm2.pm2(['start', join(proc.cwd, proc.script), '--name', 'srv', '--namespace', 'dl-links', '--cwd', proc.cwd]);
    expect(started.code).toBe(0);
    const first = await answerFrom();
    expect(first.version).toBe('v1');
    expect(first.dir).toBe(join(v1.dir, 'apps/srv'));
    // v2 is prepared (beforeAll) but not linked: a crash restart still runs v1.
    process.kill(first.pid, 'SIGKILL');
    const restarted = await answerFrom(first.pid);
    expect(restarted.version).toBe('v1');
    switchLink({ stateDir, env: 'pm2', task: 'srv', codeDigest: v2.codeDigest });
    process.kill(restarted.pid, 'SIGKILL');
    const switched = await answerFrom(restarted.pid);
    expect(switched.version).toBe('v2');
    const [entry] = await pm2.jlist();
    expect(entry!.pm2_env.pm_exec_path).toBe(join(link, 'apps/srv/server.js'));
    await pm2.pm2(['delete', 'srv']);
  }, 60_000);
});

describe('garbage collection', () => {
  const at = (n: number) => (): Date => new Date(Date.UTC(2025, 0, 1, 0, n));

  it('[delivery-gc] keeps the newest builds, the linked and the protected ones; removes the rest, leftovers and old failure records', async () => {
    const builds: Build[] = [];
    for (let i = 0; i < 7; i++) builds.push(await buildHead(srv({ name: 'gc', build: { run: [`echo build ${i}`] } }), at(10 + i)));
    switchLink({ stateDir, env: 'dev', task: 'gc', codeDigest: builds[0]!.codeDigest, now: at(10) });
    const leftover = buildDir(stateDir, 'gc', 'e'.repeat(64));
    mkdirSync(leftover, { recursive: true });
    const failure = { ...builds[3]!.record, codeDigest: 'd'.repeat(64), status: 'failed' as const, createdAt: at(1)().toISOString() };
    writeRecord(failureFile(stateDir, 'gc', failure.codeDigest), failure);
    const result = await collectBuilds({ stateDir, keep: 3, protect: [{ task: 'gc', codeDigest: builds[1]!.codeDigest }] });
    const kept = [0, 1, 4, 5, 6].map((i) => builds[i]!.codeDigest);
    expect(result.kept.filter((k) => k.task === 'gc').map((k) => k.codeDigest).sort()).toEqual([...kept].sort());
    expect(result.removed.filter((k) => k.task === 'gc').map((k) => k.codeDigest).sort()).toEqual([builds[2]!.codeDigest, builds[3]!.codeDigest, 'e'.repeat(64)].sort());
    for (const b of builds) expect(existsSync(b.dir)).toBe(kept.includes(b.codeDigest));
    expect(existsSync(`${builds[2]!.dir}.json`)).toBe(false);
    expect(existsSync(leftover)).toBe(false);
    expect(existsSync(failureFile(stateDir, 'gc', failure.codeDigest))).toBe(false);
    // Another task's builds are its own: srv has two, within keep.
    expect(existsSync(v1.dir) && existsSync(v2.dir)).toBe(true);
  });

  it('[delivery-gc] leaves a task alone while one of its builds is being prepared', async () => {
    for (let i = 0; i < 3; i++) await buildHead(srv({ name: 'busy', build: { run: [`echo build ${i}`] } }));
    const slow = buildHead(srv({ name: 'busy', build: { run: ['sleep 2'] } }));
    for (let i = 0; i < 100 && !existsSync(taskLockFile(stateDir, 'busy')); i++) await new Promise((r) => { setTimeout(r, 20); });
    const result = await collectBuilds({ stateDir, keep: 1 });
    expect(result.busy).toContain('busy');
    expect(result.removed.filter((r) => r.task === 'busy')).toEqual([]);
    await slow;
    const after = await collectBuilds({ stateDir, keep: 1 });
    expect(after.busy).not.toContain('busy');
    expect(after.removed.filter((r) => r.task === 'busy')).toHaveLength(3);
  });
});
