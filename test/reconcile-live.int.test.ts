/**
 * An unchanged manifest yields an empty plan against a real PM2 daemon: right
 * after apply, after the daemon was killed and apply recreated everything, and
 * after `pm2 save` / `pm2 kill` / `pm2 resurrect` without applying again.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { cli } from './helpers/cli.js';
import { manifestRepo, parseReport, type ManifestRepo } from './helpers/manifests.js';
import { isolatedPm2, type IsolatedPm2, type JlistEntry } from './helpers/pm2.js';

const FORK_PORT = 25500;
const CLUSTER_PORT = 25501;
const NAMESPACE = 'rl-empty';

interface PlanJson { actions: Array<{ task: string; action: string; reason: string }>; holds: Array<{ task: string; reason: string }>; inSync: string[] }
interface DiffJson { differs: boolean; drifts: Array<{ task: string; kind: string; patch: unknown[]; unhealthy: unknown[] }> }

async function getJson(port: number): Promise<{ pid: number; env: Record<string, string> }> {
  const res = await fetch(`http://127.0.0.1:${port}/`, { headers: { connection: 'close' } });
  return (await res.json()) as { pid: number; env: Record<string, string> };
}

describe('an unchanged manifest yields an empty plan', () => {
  let pm2: IsolatedPm2;
  let repo: ManifestRepo;
  const args = (cmd: string): string[] => [cmd, '--repo', repo.dir, '--env', 'dev', '--json'];
  const run = (cmd: string) => cli(args(cmd), { env: pm2.env });

  const ours = async (): Promise<JlistEntry[]> => (await pm2.jlist()).filter((p) => p.pm2_env.namespace === NAMESPACE);

  async function expectEmptyPlan(): Promise<void> {
    const p = await run('plan');
    expect(p.code, p.stderr).toBe(0);
    const plan = parseReport<PlanJson>(p.stdout, p.stderr);
    expect(plan.actions).toEqual([]);
    expect(plan.holds).toEqual([]);
    expect(plan.inSync).toEqual(['api', 'setup', 'web']);
    const d = await run('diff');
    const drifts = parseReport<DiffJson>(d.stdout, d.stderr);
    expect(drifts.drifts.filter((x) => x.kind !== 'in-sync' || x.unhealthy.length)).toEqual([]);
    expect(drifts.differs).toBe(false);
    expect(d.code).toBe(0);
  }

  async function expectServing(): Promise<void> {
    expect((await getJson(FORK_PORT)).env.GREETING).toBe('fork');
    expect((await getJson(CLUSTER_PORT)).env.GREETING).toBe('cluster');
    const list = await ours();
    expect(list.filter((p) => p.name === 'api').map((p) => p.pm2_env.status)).toEqual(['online', 'online']);
    expect(list.find((p) => p.name === 'web')?.pm2_env.status).toBe('online');
  }

  beforeAll(async () => {
    pm2 = isolatedPm2('pm2gt-rl-');
    repo = manifestRepo();
    repo.write({ namespace: NAMESPACE, env: { SHARED: 'from-environment' } }, [
      { name: 'setup', type: 'job', process: { script: 'apps/exit.cjs' } },
      {
        name: 'web',
        dependsOn: ['setup'],
        health: { http: { url: `http://127.0.0.1:${FORK_PORT}/` }, timeoutSeconds: 20, minUptimeSeconds: 0.2 },
        process: { script: 'apps/env-server.cjs', args: ['--flag', 'x'], env: { PORT: String(FORK_PORT), GREETING: 'fork' } },
      },
      {
        name: 'api',
        health: { http: { url: `http://127.0.0.1:${CLUSTER_PORT}/` }, timeoutSeconds: 20, minUptimeSeconds: 0.2 },
        process: { script: 'apps/env-server.cjs', exec_mode: 'cluster', instances: 2, max_memory_restart: '200M', env: { PORT: String(CLUSTER_PORT), GREETING: 'cluster' } },
      },
    ]);
  });

  afterAll(async () => {
    await pm2?.kill();
    repo?.cleanup();
  });

  it('is empty right after apply', async () => {
    const a = await run('apply');
    expect(a.code, a.stderr).toBe(0);
    const report = parseReport(a.stdout, a.stderr);
    expect(report.actions.map((x) => [x.task, x.action, x.result])).toEqual([['api', 'create', 'ok'], ['setup', 'create', 'ok'], ['web', 'create', 'ok']]);
    await expectServing();
    await expectEmptyPlan();
    // A second apply does nothing and restarts nothing.
    const before = (await ours()).map((p) => [p.pm_id, p.pid, p.pm2_env.restart_time]);
    const again = parseReport((await run('apply')).stdout);
    expect(again.actions).toEqual([]);
    expect((await ours()).map((p) => [p.pm_id, p.pid, p.pm2_env.restart_time])).toEqual(before);
  });

  it('is empty after the daemon was killed and apply recreated everything', async () => {
    expect((await pm2.pm2(['kill'])).code).toBe(0);
    const a = await run('apply');
    expect(a.code, a.stderr).toBe(0);
    expect(parseReport(a.stdout, a.stderr).actions.map((x) => [x.task, x.action, x.result])).toEqual([['api', 'create', 'ok'], ['setup', 'create', 'ok'], ['web', 'create', 'ok']]);
    await expectServing();
    await expectEmptyPlan();
  });

  it('is empty after pm2 save, pm2 kill and pm2 resurrect, without applying again', async () => {
    const before = (await ours()).map((p) => [p.name, p.pm_id]).sort();
    expect((await pm2.pm2(['save'])).code).toBe(0);
    expect((await pm2.pm2(['kill'])).code).toBe(0);
    const r = await pm2.pm2(['resurrect']);
    expect(r.code, r.stderr).toBe(0);
    expect((await ours()).map((p) => [p.name, p.pm_id]).sort()).toEqual(before);
    // The servers listen again (PM2 restarted them, not pm2-gitops).
    await expect.poll(async () => (await getJson(FORK_PORT).catch(() => ({ env: {} as Record<string, string> }))).env.GREETING, { timeout: 20_000, interval: 200 }).toBe('fork');
    await expect.poll(async () => (await getJson(CLUSTER_PORT).catch(() => ({ env: {} as Record<string, string> }))).env.GREETING, { timeout: 20_000, interval: 200 }).toBe('cluster');
    await expectEmptyPlan();
  });
});
