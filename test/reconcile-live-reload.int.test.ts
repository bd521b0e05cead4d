/**
 * Cluster reload against a real PM2 daemon: an env change is applied as a
 * zero-downtime `reload` while a client keeps sending requests, and a worker
 * restarted by hand with another env value is noticed and reloaded.
 */
import http from 'node:http';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { cli, ROOT, run } from './helpers/cli.js';
import { manifestRepo, parseReport, type ManifestRepo } from './helpers/manifests.js';
import { isolatedPm2, type IsolatedPm2, type JlistEntry } from './helpers/pm2.js';

const PORT = 25520;
const NAMESPACE = 'rl-reload';
const PM2_BIN = join(ROOT, 'node_modules', 'pm2', 'bin', 'pm2');

/**
 * Answers with its pid and GREETING. On SIGINT (what PM2 sends the old worker
 * of a reload) it stops accepting and exits once idle; as a cluster worker it
 * leaves through cluster.worker.disconnect(), which closes the server and
 * waits for the primary's acknowledgement, so a connection the primary handed
 * over just before is passed back to another worker instead of being lost with
 * the exiting process (what a bare `server.close(() => process.exit(0))` risks).
 */
const GRACEFUL_SERVER_CJS = `const cluster = require('node:cluster');
const http = require('node:http');
const server = http.createServer((req, res) => {
  res.setHeader('content-type', 'application/json');
  res.end(JSON.stringify({ pid: process.pid, greeting: process.env.GREETING }));
});
server.listen(Number(process.env.PORT), '127.0.0.1');
process.on('SIGINT', () => {
  if (!cluster.isWorker) return server.close(() => process.exit(0));
  cluster.worker.once('disconnect', () => process.exit(0));
  cluster.worker.disconnect();
});
`;

interface Answer { pid: number; greeting: string }
interface PlanJson { actions: Array<{ task: string; action: string; reason: string; patch: Array<{ op: string; path: string }> }>; holds: unknown[]; inSync: string[] }

/** One request on a fresh connection (no keep-alive). */
function request(): Promise<Answer> {
  return new Promise((resolve, reject) => {
    const req = http.get({ host: '127.0.0.1', port: PORT, path: '/', agent: false, headers: { connection: 'close' } }, (res) => {
      let body = '';
      res.setEncoding('utf8');
      res.on('data', (c: string) => { body += c; });
      res.on('end', () => {
        if (res.statusCode !== 200) reject(new Error(`status ${String(res.statusCode)}`));
        else {
          try { resolve(JSON.parse(body) as Answer); } catch (err) { reject(err as Error); }
        }
      });
      res.on('error', reject);
    });
    req.on('error', reject);
    req.setTimeout(10_000, () => req.destroy(new Error('no answer within 10 s')));
  });
}

/** `parallel` loops each sending one request after another until stop() is called. */
function hammer(parallel: number): { done(): number; stop(): Promise<{ ok: Answer[]; failed: string[] }> } {
  const ok: Answer[] = [];
  const failed: string[] = [];
  let running = true;
  const loop = async (): Promise<void> => {
    while (running) {
      try { ok.push(await request()); } catch (err) { failed.push((err as Error).message); }
    }
  };
  const loops = Array.from({ length: parallel }, loop);
  return {
    done: () => ok.length + failed.length,
    async stop() {
      running = false;
      await Promise.all(loops);
      return { ok, failed };
    },
  };
}

async function until(check: () => boolean): Promise<void> {
  while (!check()) await new Promise((r) => setTimeout(r, 10));
}

describe('cluster reload', () => {
  let pm2: IsolatedPm2;
  let repo: ManifestRepo;
  const cmd = (c: string) => cli([c, '--repo', repo.dir, '--env', 'dev', '--json'], { env: pm2.env });
  const workers = async (): Promise<JlistEntry[]> => (await pm2.jlist()).filter((p) => p.pm2_env.namespace === NAMESPACE && p.name === 'web').sort((a, b) => a.pm_id - b.pm_id);

  const write = (greeting: string): void => {
    repo.write({ namespace: NAMESPACE }, [{
      name: 'web',
      health: { http: { url: `http://127.0.0.1:${PORT}/` }, timeoutSeconds: 30, minUptimeSeconds: 0.2 },
      process: { script: 'apps/graceful-server.cjs', exec_mode: 'cluster', instances: 2, kill_timeout: 5000, env: { PORT: String(PORT), GREETING: greeting } },
    }]);
    repo.files({ 'apps/graceful-server.cjs': GRACEFUL_SERVER_CJS });
  };

  async function expectEmptyPlan(): Promise<void> {
    const p = await cmd('plan');
    expect(p.code, p.stderr).toBe(0);
    const plan = parseReport<PlanJson>(p.stdout, p.stderr);
    expect(plan.actions).toEqual([]);
    expect(plan.inSync).toEqual(['web']);
    expect((await cmd('diff')).code).toBe(0);
  }

  beforeAll(async () => {
    pm2 = isolatedPm2('pm2gt-rlr-');
    repo = manifestRepo();
    write('old');
    const a = await cmd('apply');
    expect(a.code, a.stderr).toBe(0);
    expect((await workers()).map((w) => w.pm2_env.status)).toEqual(['online', 'online']);
  });

  afterAll(async () => {
    await pm2?.kill();
    repo?.cleanup();
  });

  it('reloads an env change with zero failed requests under a client that keeps sending them', async () => {
    expect((await request()).greeting).toBe('old');
    const oldPids = (await workers()).map((w) => w.pid);
    const client = hammer(4);
    // Let the client run against the old workers before the reload starts.
    await until(() => client.done() >= 20);

    write('new');
    const a = await cmd('apply');
    // Keep going against the new workers.
    const atApply = client.done();
    await until(() => client.done() >= atApply + 40);
    const { ok, failed } = await client.stop();

    expect(a.code, a.stderr).toBe(0);
    const report = parseReport(a.stdout, a.stderr);
    expect(report.actions.map((x) => [x.task, x.action, x.result])).toEqual([['web', 'reload', 'ok']]);
    expect(report.actions[0]!.reason).toContain('env');

    expect(failed).toEqual([]);
    expect(ok.filter((x) => x.greeting === 'old').length).toBeGreaterThan(0);
    expect(ok.filter((x) => x.greeting === 'new').length).toBeGreaterThan(0);
    // Once a worker answered "new", requests go only to new workers.
    const firstNew = ok.findIndex((x) => x.greeting === 'new');
    expect(ok.slice(firstNew).some((x) => oldPids.includes(x.pid) && x.greeting === 'new')).toBe(false);

    const now = await workers();
    expect(now.map((w) => w.pm2_env.status)).toEqual(['online', 'online']);
    expect(now.map((w) => w.pid).filter((pid) => oldPids.includes(pid))).toEqual([]);
    expect(now.map((w) => w.pm2_env.env.GREETING)).toEqual(['new', 'new']);
    expect((await request()).greeting).toBe('new');
    await expectEmptyPlan();
  });

  it('notices one worker restarted by hand with another env value, and reloads every worker', async () => {
    const [first, second] = await workers();
    // `pm2 restart <id> --update-env` from a shell whose GREETING differs: only that worker changes.
    const r = await run(process.execPath, [PM2_BIN, 'restart', String(second!.pm_id), '--update-env'], { env: { ...pm2.env, GREETING: 'by-hand' } });
    expect(r.code, r.stderr).toBe(0);
    const after = await workers();
    expect(after.map((w) => w.pm2_env.env.GREETING)).toEqual(['new', 'by-hand']);
    expect(after[0]!.pid).toBe(first!.pid);

    const d = await cmd('diff');
    expect(d.code).toBe(1);
    const p = parseReport<PlanJson>((await cmd('plan')).stdout);
    expect(p.actions).toHaveLength(1);
    expect(p.actions[0]).toMatchObject({ task: 'web', action: 'reload' });
    expect(p.actions[0]!.patch).toContainEqual({ op: 'remove', path: '/workers_differ' });
    expect(JSON.stringify(p)).not.toContain('by-hand');

    const a = await cmd('apply');
    expect(a.code, a.stderr).toBe(0);
    expect(parseReport(a.stdout, a.stderr).actions.map((x) => [x.task, x.action, x.result])).toEqual([['web', 'reload', 'ok']]);
    expect((await workers()).map((w) => w.pm2_env.env.GREETING)).toEqual(['new', 'new']);
    const answers = await Promise.all(Array.from({ length: 6 }, () => request()));
    expect(answers.every((x) => x.greeting === 'new')).toBe(true);
    await expectEmptyPlan();
  });
});
