/**
 * A task that sets (nearly) every PM2 option the Task schema accepts yields an
 * empty plan right after apply, in fork and in cluster mode: no option PM2
 * stores differently from how the manifest says it shows up as a difference.
 */
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { cli } from './helpers/cli.js';
import { manifestRepo, parseReport, type ManifestRepo, type TaskDef } from './helpers/manifests.js';
import { isolatedPm2, type IsolatedPm2, type JlistEntry } from './helpers/pm2.js';

/** Listens on PORT, says ready to PM2 (wait_ready), closes gracefully on SIGINT. */
const READY_SERVER_CJS = `const http = require('node:http');
const server = http.createServer((req, res) => {
  res.setHeader('content-type', 'application/json');
  res.setHeader('connection', 'close');
  res.end(JSON.stringify({ pid: process.pid, argv: process.argv.slice(2), execArgv: process.execArgv, env: process.env }));
});
server.listen(Number(process.env.PORT), '127.0.0.1', () => { if (process.send) process.send('ready'); });
process.on('SIGINT', () => server.close(() => process.exit(0)));
process.on('message', (msg) => { if (msg === 'shutdown') server.close(() => process.exit(0)); });
`;

interface DiffJson { differs: boolean; drifts: Array<{ task: string; kind: string; patch: unknown[]; unhealthy: unknown[] }> }
interface PlanJson { actions: Array<{ task: string; action: string; reason: string; patch: unknown[] }>; holds: unknown[]; inSync: string[] }
interface Served { pid: number; argv: string[]; execArgv: string[]; env: Record<string, string> }

async function served(port: number): Promise<Served> {
  const res = await fetch(`http://127.0.0.1:${port}/`, { headers: { connection: 'close' } });
  return (await res.json()) as Served;
}

/** Options both modes share (everything but mode, count, args and per-mode paths). */
function commonOptions(name: string, port: number): Record<string, unknown> {
  return {
    cwd: 'apps',
    script: 'ready-server.cjs',
    interpreter: 'node',
    env: { PORT: String(port), GREETING: `hello-${name}`, COUNT: 3, ENABLED: true },
    env_production: { GREETING: 'prod' },
    filter_env: ['npm_'],
    max_memory_restart: '150M',
    kill_timeout: 3000,
    kill_retry_time: 150,
    listen_timeout: 8000,
    min_uptime: '2s',
    max_restarts: 7,
    restart_delay: 250,
    exp_backoff_restart_delay: 100,
    autorestart: true,
    autostart: true,
    stop_exit_codes: [0],
    cron_restart: '0 3 * * *',
    watch: false,
    ignore_watch: ['node_modules', 'logs'],
    watch_delay: 500,
    merge_logs: true,
    time: true,
    log_date_format: 'YYYY-MM-DD HH:mm:ss Z',
    log_type: 'json',
    out_file: `logs/${name}-out.log`,
    error_file: `logs/${name}-err.log`,
    log_file: `logs/${name}-combined.log`,
    pid_file: `logs/${name}.pid`,
    source_map_support: true,
    disable_source_map_support: false,
    vizion: false,
    treekill: true,
    shutdown_with_message: false,
    wait_ready: true,
    instance_var: 'INSTANCE_ID',
    trace: false,
    disable_trace: true,
    v8: false,
    event_loop_inspector: false,
    deep_monitoring: false,
    pmx: true,
    automation: false,
    windowsHide: true,
    force: true,
    append_env_to_name: false,
    post_update: ['npm install'],
    max_restarts_reset: 0,
    source_map: false,
  };
}

function suite(mode: 'fork' | 'cluster', port: number, extra: TaskDef[], self: Record<string, unknown>): void {
  describe(`a task using many PM2 options (${mode} mode)`, () => {
    let pm2: IsolatedPm2;
    let repo: ManifestRepo;
    const namespace = `rl-opts-${mode}`;
    const name = `all-${mode}`;
    const run = (cmd: string) => cli([cmd, '--repo', repo.dir, '--env', 'dev', '--json'], { env: pm2.env });
    const ours = async (): Promise<JlistEntry[]> => (await pm2.jlist()).filter((p) => p.pm2_env.namespace === namespace);

    async function expectNothingToDo(): Promise<void> {
      const d = await run('diff');
      const drifts = parseReport<DiffJson>(d.stdout, d.stderr);
      expect(drifts.drifts.filter((x) => x.kind !== 'in-sync' || x.unhealthy.length)).toEqual([]);
      expect(d.code).toBe(0);
      const p = await run('plan');
      expect(p.code, p.stderr).toBe(0);
      const plan = parseReport<PlanJson>(p.stdout, p.stderr);
      expect(plan.actions).toEqual([]);
      expect(plan.holds).toEqual([]);
    }

    beforeAll(async () => {
      pm2 = isolatedPm2(`pm2gt-rlo-${mode}-`);
      repo = manifestRepo();
      repo.write({ namespace }, [
        {
          name,
          health: { http: { url: `http://127.0.0.1:${port}/` }, timeoutSeconds: 30, minUptimeSeconds: 0.2 },
          process: { ...commonOptions(name, port), ...self },
        },
        ...extra,
      ]);
      repo.files({ 'apps/ready-server.cjs': READY_SERVER_CJS, 'apps/logs/.keep': '' });
    });

    afterAll(async () => {
      await pm2?.kill();
      repo?.cleanup();
    });

    it('applies, and then plan and diff find nothing to do', async () => {
      const a = await run('apply');
      expect(a.code, `${a.stdout}\n${a.stderr}`).toBe(0);
      const report = parseReport(a.stdout, a.stderr);
      expect(report.actions.every((x) => x.action === 'create' && x.result === 'ok')).toBe(true);
      expect(report.actions.map((x) => x.task).sort()).toEqual([name, ...extra.map((t) => t.name)].sort());

      await expectNothingToDo();
      const again = parseReport((await run('apply')).stdout);
      expect(again.actions).toEqual([]);
    });

    it('started the processes with those options', async () => {
      const list = await ours();
      const workers = list.filter((p) => p.name === name);
      expect(workers).toHaveLength(mode === 'cluster' ? 2 : 1);
      for (const w of workers) {
        const env = w.pm2_env;
        expect(env.status).toBe('online');
        expect(env.exec_mode).toBe(`${mode}_mode`);
        expect(env.max_memory_restart).toBe(150 * 1024 * 1024);
        expect(env.kill_timeout).toBe(3000);
        expect(env.min_uptime).toBe(2000);
        expect(env.max_restarts).toBe(7);
        expect(env.cron_restart).toBe('0 3 * * *');
        expect(env.wait_ready).toBe(true);
        expect(env.vizion).toBe(false);
        // Delivered code runs from the task's stable link into its build, under the state dir of the daemon.
        const link = join(pm2.home, 'pm2-gitops', 'links', namespace, name);
        expect(env.pm_cwd).toBe(join(link, 'apps'));
        expect(env.pm_exec_path).toBe(join(link, 'apps', 'ready-server.cjs'));
      }
      const answer = await served(port);
      expect(answer.env.GREETING).toBe(`hello-${name}`);
      expect(answer.env.COUNT).toBe('3');
      expect(answer.env.ENABLED).toBe('true');
      expect(answer.argv).toEqual(mode === 'fork' ? ['--mode', 'fork', '--n', '1'] : ['--mode', 'cluster', '--n', '2']);
      expect(answer.execArgv).toContain('--max-old-space-size=128');
      // Relative log files live in the task's files folder under the state dir: builds never change.
      expect(existsSync(join(pm2.home, 'pm2-gitops', 'files', namespace, name, 'apps', 'logs', `${name}-combined.log`))).toBe(true);
    });

    it('replaces the workers on an env change and then finds nothing to do again, also after save, kill and resurrect', async () => {
      const before = (await ours()).filter((p) => p.name === name).map((p) => p.pid);
      repo.write({ namespace }, [
        {
          name,
          health: { http: { url: `http://127.0.0.1:${port}/` }, timeoutSeconds: 30, minUptimeSeconds: 0.2 },
          process: { ...commonOptions(name, port), ...self, env: { ...(self.env ?? commonOptions(name, port).env) as object, GREETING: 'changed' } },
        },
        ...extra,
      ]);
      repo.files({ 'apps/ready-server.cjs': READY_SERVER_CJS, 'apps/logs/.keep': '' });
      const a = await run('apply');
      expect(a.code, `${a.stdout}\n${a.stderr}`).toBe(0);
      expect(parseReport(a.stdout, a.stderr).actions.map((x) => [x.task, x.action, x.result])).toEqual([[name, mode === 'cluster' ? 'reload' : 'restart', 'ok']]);
      expect((await served(port)).env.GREETING).toBe('changed');
      const after = (await ours()).filter((p) => p.name === name);
      expect(after.map((p) => p.pid).filter((pid) => before.includes(pid))).toEqual([]);
      await expectNothingToDo();

      expect((await pm2.pm2(['save'])).code).toBe(0);
      expect((await pm2.pm2(['kill'])).code).toBe(0);
      expect((await pm2.pm2(['resurrect'])).code).toBe(0);
      await expect.poll(async () => (await served(port).catch(() => undefined))?.env.GREETING, { timeout: 30_000, interval: 200 }).toBe('changed');
      await expectNothingToDo();
    });
  });
}

suite('fork', 25510, [
  { name: 'sleeper', process: { script: 'sleep', args: ['1000'], interpreter: 'none' } },
  { name: 'quiet', process: { script: 'apps/idle.cjs', disable_logs: true, log_file: false, autorestart: false, node_args: [] } },
], {
  exec_mode: 'fork',
  instances: 1,
  args: '--mode fork --n 1',
  node_args: '--max-old-space-size=128',
  port: 25510,
  user: 'root',
  gid: 'root',
});

suite('cluster', 25511, [], {
  exec_mode: 'cluster_mode',
  instances: 2,
  args: ['--mode', 'cluster', '--n', '2'],
  node_args: ['--max-old-space-size=128'],
  increment_var: 'WORKER_PORT',
  uid: 0,
  gid: 0,
  env: { PORT: '25511', GREETING: 'hello-all-cluster', COUNT: 3, ENABLED: true, WORKER_PORT: '25512' },
});
