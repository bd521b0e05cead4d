/**
 * One contract, two implementations: the executor's FakeOps must behave like
 * the real PM2 adapter for everything the executor relies on.
 */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import type { ProcessOps } from '../src/apply/ops.js';
import { Pm2Client } from '../src/adapters/pm2.js';
import { FakeOps } from './helpers/fake-ops.js';

interface Subject { ops: ProcessOps; app(over: Record<string, unknown>): Record<string, unknown>; settle(): Promise<void>; close(): Promise<void> }

const dir = mkdtempSync(join(tmpdir(), 'pm2gt-contract-'));
writeFileSync(join(dir, 'svc.cjs'), 'setInterval(() => {}, 1000);\n');
writeFileSync(join(dir, 'job.cjs'), 'process.exit(Number(process.env.EXIT_CODE || 0));\n');

async function realSubject(): Promise<Subject> {
  const client = await Pm2Client.connect({ home: join(dir, 'pm2') });
  return {
    ops: client,
    app: (over) => client.resolveApp({ namespace: 'contract', cwd: dir, script: 'svc.cjs', env: {}, ...over }),
    settle: () => new Promise((r) => { setTimeout(r, 1200); }),
    close: async () => { await client.killDaemon(); await client.disconnect(); },
  };
}

function fakeSubject(): Subject {
  return {
    ops: new FakeOps(),
    app: (over) => ({ namespace: 'contract', cwd: dir, script: 'svc.cjs', env: {}, ...over }),
    settle: async () => {},
    close: async () => {},
  };
}

afterAll(() => rmSync(dir, { recursive: true, force: true }));

describe.each([['FakeOps', fakeSubject], ['Pm2Client', realSubject]] as const)('process ops contract: %s', (_name, make) => {
  let s: Subject;
  afterAll(async () => { await s?.close(); });

  const mine = async (name: string) => (await s.ops.list()).filter((p) => p.name === name && p.pm2_env.namespace === 'contract').sort((a, b) => a.pm_id - b.pm_id);

  it('creates every instance and lists it online in its namespace', async () => {
    s = await make();
    const ids = await s.ops.create(s.app({ name: 'svc', instances: 2, exec_mode: 'fork' }));
    expect(ids).toHaveLength(2);
    await s.settle();
    const procs = await mine('svc');
    expect(procs.map((p) => p.pm_id)).toEqual([...ids].sort((a, b) => a - b));
    expect(procs.every((p) => p.pm2_env.status === 'online')).toBe(true);
  });

  it('restarts in place: same pm_id, one more restart, new configuration', async () => {
    const [first] = await mine('svc');
    await s.ops.restart(first!.pm_id, s.app({ name: 'svc', instances: 2, exec_mode: 'fork', env: { MARK: 'two' } }), []);
    await s.settle();
    const again = (await mine('svc')).find((p) => p.pm_id === first!.pm_id)!;
    expect(Number(again.pm2_env.restart_time)).toBe(Number(first!.pm2_env.restart_time) + 1);
    expect((again.pm2_env.env as Record<string, string>).MARK).toBe('two');
  });

  it('duplicates a worker and deletes one by id', async () => {
    const before = await mine('svc');
    const id = await s.ops.duplicate(before[0]!.pm_id);
    await s.settle();
    expect((await mine('svc')).map((p) => p.pm_id)).toContain(id);
    await s.ops.delete(id);
    expect((await mine('svc')).map((p) => p.pm_id)).toEqual(before.map((p) => p.pm_id));
  });

  it('runs a job to completion and keeps its exit code', async () => {
    await s.ops.create(s.app({ name: 'job', script: 'job.cjs', autorestart: false, env: { EXIT_CODE: '3' } }));
    await s.settle();
    const [job] = await mine('job');
    expect(job!.pm2_env.status).toBe('stopped');
    expect(job!.pm2_env.exit_code).toBe(3);
  });
});
