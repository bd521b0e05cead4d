import { spawn, spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, describe, expect, it } from 'vitest';
import { holderAlive, parseHolder, processStartTicks, selfHolder, tryLock } from './lock.js';

const dir = mkdtempSync(join(tmpdir(), 'pm2gt-lock-'));
const DIST_LOCK = fileURLToPath(new URL('../../dist/adapters/lock.js', import.meta.url));
const hasProc = existsSync('/proc/self/stat');
let n = 0;
const file = (): string => join(dir, `l${n++}.lock`);

/** The pid of a process that has exited. */
function deadPid(): number {
  const r = spawnSync(process.execPath, ['-e', 'process.stdout.write(String(process.pid))'], { encoding: 'utf8' });
  return Number(r.stdout);
}

afterAll(() => rmSync(dir, { recursive: true, force: true }));

describe('lock files', () => {
  it('holds the lock once; a live holder refuses the next attempt and is named', async () => {
    const f = file();
    const first = await tryLock(f, { environment: 'dev' });
    expect(first.acquired).toBe(true);
    const second = await tryLock(f);
    expect(second.acquired).toBe(false);
    if (second.acquired) return;
    expect(second.holder).toMatchObject({ pid: process.pid, environment: 'dev' });
    expect(typeof second.holder.startedAt).toBe('string');
    expect(readFileSync(f, 'utf8').split('\n')[0]).toBe(String(process.pid));
    if (first.acquired) first.lock.release();
    expect(existsSync(f)).toBe(false);
  });

  it('takes over a lock whose holder is gone', async () => {
    const f = file();
    writeFileSync(f, `${deadPid()}\n${JSON.stringify({ host: selfHolder().host, token: 'x' })}\n`);
    const r = await tryLock(f);
    expect(r.acquired).toBe(true);
  });

  it.skipIf(!hasProc)('takes over a lock whose pid was reused by another process (start time differs)', async () => {
    const f = file();
    const me = selfHolder();
    expect(processStartTicks(process.pid)).toBe(me.procStart);
    writeFileSync(f, `${process.pid}\n${JSON.stringify({ ...me, procStart: String(Number(me.procStart) + 1) })}\n`);
    expect(holderAlive(parseHolder(readFileSync(f, 'utf8'))!)).toBe(false);
    expect((await tryLock(f)).acquired).toBe(true);
  });

  it.skipIf(!hasProc)('takes over a lock written before a reboot', async () => {
    const f = file();
    writeFileSync(f, `${process.pid}\n${JSON.stringify({ ...selfHolder(), bootId: 'another-boot' })}\n`);
    expect((await tryLock(f)).acquired).toBe(true);
  });

  it('counts a holder on another host as alive (it cannot be checked from here)', async () => {
    const f = file();
    writeFileSync(f, `${deadPid()}\n${JSON.stringify({ host: 'elsewhere.example', token: 'x' })}\n`);
    const r = await tryLock(f);
    expect(r.acquired).toBe(false);
  });

  it('reads the older format (pid, then a note), alive or not', async () => {
    const f = file();
    writeFileSync(f, `${process.pid}\nheld by the test\n`);
    expect(parseHolder(readFileSync(f, 'utf8'))).toEqual({ pid: process.pid, note: 'held by the test' });
    expect((await tryLock(f)).acquired).toBe(false);
    writeFileSync(f, `${deadPid()}\nleft behind\n`);
    expect((await tryLock(f)).acquired).toBe(true);
  });

  it('release leaves a lock that another holder took', async () => {
    const f = file();
    const r = await tryLock(f);
    if (!r.acquired) throw new Error('not acquired');
    writeFileSync(f, `${process.pid}\n${JSON.stringify({ ...selfHolder(), token: 'someone-else' })}\n`);
    r.lock.release();
    expect(existsSync(f)).toBe(true);
  });

  it('exactly one of many processes racing for a stale lock gets it', async () => {
    for (let round = 0; round < 3; round++) {
      const f = file();
      writeFileSync(f, `${deadPid()}\n${JSON.stringify({ host: selfHolder().host, token: 'stale' })}\n`);
      const script = `import(${JSON.stringify(DIST_LOCK)}).then(async (m) => {
        const r = await m.tryLock(${JSON.stringify(f)});
        process.stdout.write(r.acquired ? 'got' : 'refused');
        setTimeout(() => process.exit(0), 1500);
      });`;
      const outs = await Promise.all(Array.from({ length: 6 }, () => new Promise<string>((resolve) => {
        const child = spawn(process.execPath, ['-e', script], { stdio: ['ignore', 'pipe', 'inherit'] });
        let out = '';
        child.stdout.on('data', (d: Buffer) => { out += d.toString(); });
        child.on('exit', () => resolve(out));
      })));
      expect(outs.filter((o) => o === 'got'), outs.join(',')).toHaveLength(1);
      expect(outs.filter((o) => o === 'refused')).toHaveLength(5);
    }
  });
});
