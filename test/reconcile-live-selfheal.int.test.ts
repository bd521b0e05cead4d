/**
 * selfHeal against a real PM2 daemon (DESIGN.md section 3: "same options, but
 * stopped/errored live (and selfHeal)" → start/restart): with selfHeal on, a
 * service stopped by hand is started again by apply, only the stopped workers;
 * with selfHeal off, apply leaves it stopped and says so in a non-blocking hold.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { cli } from './helpers/cli.js';
import { manifestRepo, parseReport, type ManifestRepo } from './helpers/manifests.js';
import { isolatedPm2, type IsolatedPm2, type JlistEntry } from './helpers/pm2.js';

const WEB_PORT = 25530;
const API_PORT = 25531;
const NAMESPACE = 'rl-heal';

interface PlanJson { actions: Array<{ task: string; action: string; reason: string; pmIds: number[] }>; holds: Array<{ task: string; reason: string; blocking: boolean }>; inSync: string[] }

async function answers(port: number): Promise<boolean> {
  try {
    const res = await fetch(`http://127.0.0.1:${port}/`, { headers: { connection: 'close' } });
    return res.status === 200;
  } catch {
    return false;
  }
}

describe('selfHeal', () => {
  let pm2: IsolatedPm2;
  let repo: ManifestRepo;
  const cmd = (c: string) => cli([c, '--repo', repo.dir, '--env', 'dev', '--json'], { env: pm2.env });
  const ours = async (name: string): Promise<JlistEntry[]> => (await pm2.jlist()).filter((p) => p.pm2_env.namespace === NAMESPACE && p.name === name).sort((a, b) => a.pm_id - b.pm_id);

  const write = (selfHeal: boolean): void => repo.write({ namespace: NAMESPACE, selfHeal }, [
    {
      name: 'web',
      health: { http: { url: `http://127.0.0.1:${WEB_PORT}/` }, timeoutSeconds: 20, minUptimeSeconds: 0.2 },
      process: { script: 'apps/env-server.cjs', env: { PORT: String(WEB_PORT) } },
    },
    {
      name: 'api',
      health: { http: { url: `http://127.0.0.1:${API_PORT}/` }, timeoutSeconds: 20, minUptimeSeconds: 0.2 },
      process: { script: 'apps/env-server.cjs', exec_mode: 'cluster', instances: 2, env: { PORT: String(API_PORT) } },
    },
  ]);

  async function expectEmptyPlan(): Promise<void> {
    const p = await cmd('plan');
    expect(p.code, p.stderr).toBe(0);
    const plan = parseReport<PlanJson>(p.stdout, p.stderr);
    expect(plan.actions).toEqual([]);
    expect(plan.holds).toEqual([]);
    expect((await cmd('diff')).code).toBe(0);
  }

  beforeAll(async () => {
    pm2 = isolatedPm2('pm2gt-rlh-');
    repo = manifestRepo();
    write(true);
    const a = await cmd('apply');
    expect(a.code, a.stderr).toBe(0);
    expect(await answers(WEB_PORT)).toBe(true);
    expect(await answers(API_PORT)).toBe(true);
  });

  afterAll(async () => {
    await pm2?.kill();
    repo?.cleanup();
  });

  it('with selfHeal on, apply starts a service stopped by hand', async () => {
    expect((await pm2.pm2(['stop', 'web'])).code).toBe(0);
    expect((await ours('web')).map((p) => p.pm2_env.status)).toEqual(['stopped']);
    expect(await answers(WEB_PORT)).toBe(false);
    const webId = (await ours('web'))[0]!.pm_id;

    expect((await cmd('diff')).code).toBe(1);
    const plan = parseReport<PlanJson>((await cmd('plan')).stdout);
    expect(plan.actions).toMatchObject([{ task: 'web', action: 'start', pmIds: [webId] }]);
    expect(plan.actions[0]!.reason).toBe('stopped in PM2 (selfHeal)');
    expect(plan.inSync).toEqual(['api']);

    const a = await cmd('apply');
    expect(a.code, a.stderr).toBe(0);
    const report = parseReport(a.stdout, a.stderr);
    expect(report.actions.map((x) => [x.task, x.action, x.result])).toEqual([['web', 'start', 'ok']]);
    expect(report.actions[0]!.reason).toContain('selfHeal');
    expect(report.converged).toBe(true);

    const web = await ours('web');
    expect(web.map((p) => [p.pm_id, p.pm2_env.status])).toEqual([[webId, 'online']]);
    expect(await answers(WEB_PORT)).toBe(true);
    await expectEmptyPlan();
  });

  it('with selfHeal on, apply starts only the cluster worker stopped by hand', async () => {
    const [first, second] = await ours('api');
    expect((await pm2.pm2(['stop', String(second!.pm_id)])).code).toBe(0);
    expect((await ours('api')).map((p) => p.pm2_env.status)).toEqual(['online', 'stopped']);

    const a = await cmd('apply');
    expect(a.code, a.stderr).toBe(0);
    const report = parseReport(a.stdout, a.stderr);
    expect(report.actions.map((x) => [x.task, x.action, x.result])).toEqual([['api', 'start', 'ok']]);

    const api = await ours('api');
    expect(api.map((p) => p.pm2_env.status)).toEqual(['online', 'online']);
    expect(api[0]!.pid).toBe(first!.pid); // the running worker was not touched
    expect(api[0]!.pm2_env.restart_time).toBe(first!.pm2_env.restart_time);
    expect(api[1]!.pid).not.toBe(second!.pid);
    expect(await answers(API_PORT)).toBe(true);
    await expectEmptyPlan();
  });

  it('with selfHeal off, apply leaves a stopped service stopped and reports a non-blocking hold', async () => {
    write(false);
    await expectEmptyPlan();
    expect((await pm2.pm2(['stop', 'web'])).code).toBe(0);
    const stopped = await ours('web');
    expect(stopped.map((p) => p.pm2_env.status)).toEqual(['stopped']);

    expect((await cmd('diff')).code).toBe(1); // diff still reports what differs from the manifests
    const plan = parseReport<PlanJson>((await cmd('plan')).stdout);
    expect(plan.actions).toEqual([]);
    expect(plan.holds).toEqual([{ task: 'web', blocking: false, reason: 'stopped in PM2 but selfHeal is off' }]);

    const a = await cmd('apply');
    expect(a.code, a.stderr).toBe(0);
    const report = parseReport(a.stdout, a.stderr);
    expect(report.actions).toEqual([]);
    expect(report.holds).toEqual([{ task: 'web', blocking: false, reason: 'stopped in PM2 but selfHeal is off' }]);

    const web = await ours('web');
    expect(web.map((p) => [p.pm_id, p.pm2_env.status, p.pm2_env.restart_time])).toEqual(stopped.map((p) => [p.pm_id, 'stopped', p.pm2_env.restart_time]));
    expect(await answers(WEB_PORT)).toBe(false);
    expect((await ours('api')).map((p) => p.pm2_env.status)).toEqual(['online', 'online']);

    // Turning selfHeal back on heals it on the next apply.
    write(true);
    const healed = await cmd('apply');
    expect(healed.code, healed.stderr).toBe(0);
    expect(parseReport(healed.stdout).actions.map((x) => [x.task, x.action, x.result])).toEqual([['web', 'start', 'ok']]);
    expect(await answers(WEB_PORT)).toBe(true);
    await expectEmptyPlan();
  });

  it('a service stopped, started and restarted by hand is in sync again (what the PM2 CLI stores is not a difference)', async () => {
    for (const args of [['stop', 'web'], ['start', 'web'], ['restart', 'web']]) expect((await pm2.pm2(args)).code).toBe(0);
    expect((await ours('web')).map((p) => p.pm2_env.status)).toEqual(['online']);
    await expect.poll(() => answers(WEB_PORT), { timeout: 10_000, interval: 100 }).toBe(true);
    await expectEmptyPlan();
  });
});
