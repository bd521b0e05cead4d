/**
 * import → export round trip of ecosystem files as projects write them: PM2
 * started from the exported file runs the same apps with the same options as
 * PM2 started from the original file, read back from `pm2 jlist` of two
 * isolated daemons and from the apps themselves (HTTP). Also: `plan` on the
 * imported manifests finds nothing to change in the apps the original started.
 */
import { afterAll, describe, expect, it } from 'vitest';
import { cpSync, existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { cli, ROOT } from './helpers/cli.js';
import { waitFor } from './helpers/controller.js';
import { isolatedPm2, type IsolatedPm2, type JlistEntry } from './helpers/pm2.js';

const FIXTURES = join(ROOT, 'test', 'testdata', 'ecosystems');

/** Options compared between the two daemons, as PM2 keeps them in pm2_env. */
const OPTIONS = [
  'namespace', 'exec_mode', 'pm_exec_path', 'args', 'exec_interpreter', 'node_args', 'pm_cwd',
  'max_memory_restart', 'kill_timeout', 'autorestart', 'watch', 'merge_logs', 'time', 'status',
  'min_uptime', 'max_restarts', 'restart_delay', 'instance_var', 'treekill', 'autostart',
  'pm_out_log_path', 'pm_err_log_path', 'log_date_format', 'increment_var',
] as const;

/** Variables PM2 or the test runner put into every app's env; the ecosystem file did not set them. */
const INJECTED = new Set(['PM2_HOME', 'PWD', 'OLDPWD', 'NODE_APP_INSTANCE', 'PM2_USAGE', 'PM2_INTERACTOR_PROCESSING', 'PM2_JSON_PROCESSING', 'unique_id', 'pm_id']);

interface AppView {
  instances: number;
  options: Record<string, unknown>;
  /** The variables the ecosystem file set, as the process sees them (strings). */
  env: Record<string, string>;
}

/**
 * Per app name: instance count, the compared options (paths under the daemon's
 * home written as $PM2_HOME), the file-set env of the first instance
 * (`inherited`: the env PM2 was started with).
 */
function view(list: JlistEntry[], inherited: NodeJS.ProcessEnv, home: string): Record<string, AppView> {
  const out: Record<string, AppView> = {};
  for (const p of [...list].sort((a, b) => a.pm_id - b.pm_id)) {
    const e = p.pm2_env;
    const env: Record<string, string> = {};
    for (const [k, v] of Object.entries(e.env)) {
      if (INJECTED.has(k) || k === p.name || inherited[k] === String(v)) continue;
      env[k] = String(v);
    }
    // PM2's default log files of a multi-instance app end in the pm_id, which follows the start order.
    const local = (v: string): string => v.replace(home, '$PM2_HOME').replace(new RegExp(`-${p.pm_id}\\.log$`), '-<pm_id>.log');
    const options = Object.fromEntries(OPTIONS.map((k) => [k, typeof e[k] === 'string' ? local(e[k] as string) : e[k]]));
    const prev = out[p.name];
    if (prev) {
      expect(options, `instances of ${p.name} agree`).toEqual(prev.options);
      prev.instances += 1;
    } else {
      out[p.name] = { instances: 1, options, env };
    }
  }
  return out;
}

/** Asks a running app something (HTTP); the answers from both daemons must agree. */
type Probe = () => Promise<unknown>;

/** GETs http://127.0.0.1:port/ and returns the JSON body. */
const httpProbe = (port: number): Probe => async () => (await fetch(`http://127.0.0.1:${port}/`)).json() as Promise<unknown>;

/** The processes' status and the tails of their logs, for a failure message. */
async function daemonReport(home: string, list: JlistEntry[]): Promise<string> {
  const status = list.map((p) => `${p.name}#${p.pm_id}: ${p.pm2_env.status}, ${p.pm2_env.restart_time} restarts`).join('\n');
  const dir = join(home, 'logs');
  const logs = existsSync(dir) ? readdirSync(dir).map((f) => `--- ${f}\n${readFileSync(join(dir, f), 'utf8').slice(-2000)}`).join('\n') : '';
  return `${status}\n${logs}`;
}

/**
 * Starts `file` (relative to `cwd`) on a fresh daemon, waits until `count`
 * processes are online, asks the probe, runs `meanwhile` against the daemon,
 * returns the view; kills the daemon.
 */
async function runOn<T>(file: string, cwd: string, count: number, extra: string[], probe?: Probe, meanwhile?: (pm2: IsolatedPm2) => Promise<T>): Promise<{ apps: Record<string, AppView>; answer: unknown; meanwhile?: T }> {
  const pm2 = isolatedPm2('pm2gt-eco-');
  try {
    const r = await pm2.pm2(['start', file, ...extra], { cwd });
    expect(r.code, r.stderr + r.stdout).toBe(0);
    const list = await waitFor(`${count} processes of ${file} online`, async () => {
      const l = await pm2.jlist();
      return l.length === count && l.every((p) => p.pm2_env.status === 'online') ? l : undefined;
    });
    const answer = probe ? await waitFor(`an answer from ${file}`, probe).catch(async (err: Error) => {
      throw new Error(`${err.message}\n${await daemonReport(pm2.home, await pm2.jlist())}`);
    }) : undefined;
    const apps = view(list, pm2.env, pm2.home);
    return { apps, answer, meanwhile: meanwhile ? await meanwhile(pm2) : undefined };
  } finally {
    await pm2.kill();
  }
}

interface RoundTrip {
  work: string;
  original: Record<string, AppView>;
  exported: Record<string, AppView>;
  exportedText: string;
  /** The probe's answers from daemon A and daemon B. */
  answers: [unknown, unknown];
  /** The actions `plan` finds for the imported manifests against the apps daemon A started from the original. */
  adoption: PlanAction[];
}

interface PlanAction { task: string; action: string; reason: string; patch?: Array<{ op: string; path: string }> }

const workDirs: string[] = [];

/**
 * Copies the fixture to a temp dir, runs the original on daemon A, imports it
 * into `deploy/` and plans environment `env` against daemon A, exports `env`
 * and runs the export on daemon B, started from another folder.
 */
async function roundTrip(fixture: string, file: string, opts: { count: number; pm2Env?: string; env: string; format?: 'cjs' | 'esm' | 'json'; out?: string; probe?: Probe }): Promise<RoundTrip> {
  const work = mkdtempSync(join(tmpdir(), `pm2gt-eco-${fixture}-`));
  workDirs.push(work);
  cpSync(join(FIXTURES, fixture), work, { recursive: true });
  const a = await runOn(file, work, opts.count, opts.pm2Env ? ['--env', opts.pm2Env] : [], opts.probe, async (pm2) => {
    const imported = await cli(['import', join(work, file), '--out', join(work, 'deploy')]);
    expect(imported.code, imported.stderr).toBe(0);
    const planned = await cli(['plan', '--repo', work, '--path', 'deploy', '--env', opts.env, '--json'], { env: pm2.env });
    expect(planned.code, planned.stderr).toBe(0);
    return (JSON.parse(planned.stdout) as { actions: PlanAction[] }).actions;
  });
  // No option of the running apps differs from the imported manifests (PM2's env_<name> blocks included).
  for (const action of a.meanwhile!) expect(action.patch ?? [], `${action.task}: ${action.reason}`).toEqual([]);
  const exportArgs = ['export', '--repo', work, '--path', 'deploy', '--env', opts.env, '--format', opts.format ?? 'cjs'];
  const exported = await cli(exportArgs);
  expect(exported.code, exported.stderr).toBe(0);
  const out = join(work, opts.out ?? (opts.format === 'json' ? 'exported.json' : 'exported.config.js'));
  writeFileSync(out, exported.stdout);

  // A JavaScript export finds its paths from its own folder, wherever pm2 runs; PM2 resolves the relative
  // paths of a JSON file from the folder pm2 runs in, which users make the file's.
  const elsewhere = mkdtempSync(join(tmpdir(), 'pm2gt-eco-cwd-'));
  workDirs.push(elsewhere);
  const b = await runOn(out, opts.format === 'json' ? work : elsewhere, opts.count, [], opts.probe);
  return { work, original: a.apps, exported: b.apps, exportedText: exported.stdout, answers: [a.answer, b.answer], adoption: a.meanwhile! };
}

afterAll(() => {
  for (const d of workDirs) rmSync(d, { recursive: true, force: true });
});

describe('ecosystem import → export round trip under PM2', { timeout: 120_000 }, () => {
  it('CommonJS file with env, env_production and a deploy env, started with --env production', async () => {
    const rt = await roundTrip('commonjs-env', 'ecosystem.config.js', { count: 2, pm2Env: 'production', env: 'production', probe: httpProbe(27002) });
    // PM2 keeps env_production on the adopted processes; it is no reason to restart them.
    expect(rt.adoption).toEqual([]);
    expect(rt.exported).toEqual(rt.original);
    expect(rt.answers[1]).toEqual(rt.answers[0]);
    expect(rt.answers[0]).toEqual({ env: 'production', greeting: 'hello from dev', argv: [], cwd: rt.work });
    expect(Object.keys(rt.original).sort()).toEqual(['api', 'worker']);
    // env_production over deploy.production.env over env (PM2 merges the deploy env into the app's env object)
    expect(rt.original.api!.env).toEqual({ NODE_ENV: 'production', PORT: '27002', GREETING: 'hello from dev', DEPLOYED_BY: 'pm2 deploy', QUEUE: 'from-deploy' });
    expect(rt.original.worker!.env).toEqual({ NODE_ENV: 'production', QUEUE: 'from-deploy', QUEUE_CONCURRENCY: '4', DEPLOYED_BY: 'pm2 deploy' });
    expect(rt.original.api!.options).toMatchObject({ namespace: 'default', exec_mode: 'fork_mode', pm_exec_path: join(rt.work, 'api.js'), pm_cwd: rt.work, status: 'online' });
    expect(rt.original.worker!.options.pm_exec_path).toBe(join(rt.work, 'worker.js'));
  });

  it('the same file without --env runs the default environment', async () => {
    const rt = await roundTrip('commonjs-env', 'ecosystem.config.js', { count: 2, env: 'default', probe: httpProbe(27001) });
    expect(rt.adoption).toEqual([]);
    expect(rt.exported).toEqual(rt.original);
    expect(rt.answers[1]).toEqual(rt.answers[0]);
    expect(rt.answers[0]).toMatchObject({ env: 'development' });
    expect(rt.original.api!.env).toEqual({ NODE_ENV: 'development', PORT: '27001', GREETING: 'hello from dev' });
    expect(rt.original.worker!.env).toEqual({ NODE_ENV: 'development', QUEUE: 'mail' });
  });

  it('cluster mode with two instances, an app with two instances and no exec_mode, a count given as a string', async () => {
    const rt = await roundTrip('cluster', 'ecosystem.config.js', { count: 6, env: 'default', probe: httpProbe(27010) });
    expect(rt.adoption).toEqual([]);
    expect(rt.exported).toEqual(rt.original);
    expect(rt.answers[1]).toEqual(rt.answers[0]);
    expect(rt.original.web).toMatchObject({ instances: 2, options: { exec_mode: 'cluster_mode', status: 'online' }, env: { NODE_ENV: 'production', PORT: '27010' } });
    // PM2 runs an app with several instances and no exec_mode in cluster mode; the export keeps that.
    expect(rt.original.poller).toMatchObject({ instances: 2, options: { exec_mode: 'cluster_mode' } });
    expect(rt.original.concurrency).toMatchObject({ instances: 2, options: { exec_mode: 'cluster_mode' } });
    expect(rt.exportedText).toContain('"instances": 2');
  });

  it('args as a string and as an array reach the program alike', async () => {
    const probe: Probe = async () => [await httpProbe(27020)(), await httpProbe(27021)()];
    const rt = await roundTrip('args', 'ecosystem.config.js', { count: 2, env: 'default', probe });
    expect(rt.adoption).toEqual([]);
    expect(rt.exported).toEqual(rt.original);
    expect(rt.answers[1]).toEqual(rt.answers[0]);
    expect(rt.answers[0]).toEqual([
      { argv: ['--port', '27020', '--name', 'hello world', '-v'] },
      { argv: ['--port', '27021', '--name', 'hello world', '--label=a b', ''] },
    ]);
    expect(rt.original['args-string']!.options.args).toEqual(['--port', '27020', '--name', 'hello world', '-v']);
  });

  it('interpreter none (a shell script, a command on PATH), interpreter bash, npm start', async () => {
    const rt = await roundTrip('interpreter', 'ecosystem.config.js', { count: 4, env: 'default' });
    expect(rt.adoption).toEqual([]);
    expect(rt.exported).toEqual(rt.original);
    expect(rt.original.ticker!.options).toMatchObject({ exec_interpreter: 'none', pm_exec_path: join(rt.work, 'ticker.sh'), args: ['fast'] });
    expect(rt.original['bash-ticker']!.options).toMatchObject({ exec_interpreter: 'bash', pm_exec_path: join(rt.work, 'ticker.sh'), args: ['slow'] });
    expect(rt.original.sleeper!.options).toMatchObject({ exec_interpreter: 'none', args: ['600'] });
    expect(rt.original['npm-start']!.options).toMatchObject({ args: ['start'], pm_cwd: rt.work, status: 'online' });
  });

  it('a JSON process file started with --env staging, exported as JSON', async () => {
    const rt = await roundTrip('json', 'process.json', { count: 2, pm2Env: 'staging', env: 'staging', format: 'json', probe: httpProbe(27031) });
    expect(rt.exported).toEqual(rt.original);
    expect(rt.answers[1]).toEqual(rt.answers[0]);
    expect(rt.original['json-api']!.env).toEqual({ NODE_ENV: 'staging', PORT: '27031', FEATURE_FLAGS: 'beta,dark-mode' });
    expect(rt.original['json-worker']).toMatchObject({ env: { NODE_ENV: 'staging' }, options: { args: ['--queue', 'jobs'] } });
  });

  it('a YAML process file with an unnamed app, started with --env production', async () => {
    const rt = await roundTrip('yaml', 'process.yml', { count: 3, pm2Env: 'production', env: 'production', probe: httpProbe(27040) });
    expect(rt.exported).toEqual(rt.original);
    expect(rt.answers[1]).toEqual(rt.answers[0]);
    expect(Object.keys(rt.original).sort()).toEqual(['worker', 'yaml-api']);
    expect(rt.original['yaml-api']).toMatchObject({ instances: 2, options: { exec_mode: 'cluster_mode' }, env: { NODE_ENV: 'production', PORT: '27040' } });
    expect(rt.original.worker!.options).toMatchObject({ args: ['--interval', '10'], max_memory_restart: 150 * 1024 * 1024 });
  });

  it('namespace, cwd below the file, memory limit, kill timeout, no autorestart, node_args, log options', async () => {
    const rt = await roundTrip('options', 'ecosystem.config.js', { count: 2, env: 'default', probe: httpProbe(27050) });
    // No option differs; shop-api (autorestart false) became a job, adopted as it ran: it is not run again.
    expect(rt.adoption.map((a) => [a.task, a.action, a.patch])).toEqual([]);
    expect(rt.exported).toEqual(rt.original);
    expect(rt.answers[1]).toEqual(rt.answers[0]);
    const app = join(rt.work, 'app');
    expect(rt.answers[0]).toEqual({ env: 'production', argv: [], execArgv: ['--max-old-space-size=128'], cwd: app });
    expect(rt.original['shop-api']!.options).toMatchObject({
      namespace: 'shop', pm_cwd: app, pm_exec_path: join(app, 'server.js'), max_memory_restart: 200 * 1024 * 1024,
      kill_timeout: 3000, autorestart: false, watch: false, node_args: ['--max-old-space-size=128'], merge_logs: true, time: true,
    });
    expect(rt.original['shop-job']!.options).toMatchObject({
      namespace: 'shop', pm_cwd: app, pm_exec_path: join(app, 'job.js'), max_memory_restart: 104857600, kill_timeout: 1600,
      node_args: ['--no-warnings', '--max-http-header-size=16384'], min_uptime: 2000, max_restarts: 3, restart_delay: 500,
    });
  });

  it('absolute paths from __dirname, log files, non-string env values, an alias, increment_var', async () => {
    const probe: Probe = async () => [await httpProbe(27060)(), await httpProbe(27061)(), await httpProbe(27062)()];
    const rt = await roundTrip('quirks', 'ecosystem.config.js', { count: 3, env: 'default', probe });
    expect(rt.adoption).toEqual([]);
    expect(rt.exported).toEqual(rt.original);
    expect(rt.answers[1]).toEqual(rt.answers[0]);
    const [quirky, first, second] = rt.answers[0] as Array<{ env: Record<string, string | undefined>; execArgv: string[] }>;
    expect(quirky!.env).toEqual({ PORT: '27060', DEBUG: 'false', RETRIES: '0', EMPTY: '', CONFIG: '{"region":"eu","replicas":2}', TAGS: '["a","b"]' });
    expect(quirky!.execArgv).toEqual(['--no-deprecation']);
    expect([first!.env.PORT, second!.env.PORT]).toEqual(['27061', '27062']);
    expect(rt.original.quirky!.options).toMatchObject({
      pm_exec_path: join(rt.work, 'server.js'), pm_out_log_path: join(rt.work, 'logs', 'out.log'), pm_err_log_path: join(rt.work, 'logs', 'err.log'),
    });
    expect(rt.original.counter).toMatchObject({ instances: 2, options: { increment_var: 'PORT', pm_out_log_path: '$PM2_HOME/logs/counter-out-<pm_id>.log' } });
  });

  it('an ES module project: ecosystem.config.cjs in, an ES module ecosystem.config.js out', async () => {
    const rt = await roundTrip('esm', 'ecosystem.config.cjs', { count: 1, pm2Env: 'production', env: 'production', format: 'esm', out: 'ecosystem.production.config.js', probe: httpProbe(27070) });
    expect(rt.exported).toEqual(rt.original);
    expect(rt.answers[1]).toEqual(rt.answers[0]);
    expect(rt.answers[0]).toEqual({ env: 'production', module: 'esm' });
  });
});
