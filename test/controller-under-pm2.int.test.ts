/**
 * The README's production setup: the controller itself runs as a PM2 app
 * (`pm2 start <ecosystem file>`), so PM2 gives it its own identity variables
 * (name, namespace, pm_id, exec_mode, kill_timeout, …). The processes it
 * starts must not inherit them: each task runs in its environment's
 * namespace, with the options its manifest gives.
 */
import { mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { BIN, ROOT, cli } from './helpers/cli.js';
import { waitFor as poll } from './helpers/controller.js';
import { git, gitFixture, type GitFixture } from './helpers/git.js';
import { isolatedPm2, type IsolatedPm2, type JlistEntry } from './helpers/pm2.js';
import { tinyRepo } from './helpers/tiny-repo.js';

/** First port of this suite's range (27100–27199); the example's ports are moved here. */
const FIRST_PORT = 27100;
const CONTROLLER = 'pm2-gitops';
/** `apply` run once as a PM2 app, on a small repository of its own. */
const APPLY = { app: 'apply-once', appNamespace: 'apply-ns', env: 'once', namespace: 'once', port: 27150 };

/** Variables PM2 gives every process it runs; none of them may reach a managed process from the controller. */
const IDENTITY_KEYS = [
  'name', 'namespace', 'pm_id', 'exec_mode', 'instances', 'pm_exec_path', 'pm_cwd', 'pm_out_log_path',
  'pm_err_log_path', 'pm_pid_path', 'node_args', 'args', 'status', 'pm_uptime', 'restart_time',
  'unstable_restarts', 'created_at', 'NODE_APP_INSTANCE', 'instance_var', 'km_link', 'vizion_running',
  'PM2_USAGE', 'PM2_JSON_PROCESSING', 'PM2_INTERACTOR_PROCESSING', 'windowsHide', 'version', 'versioning',
  'automation', 'treekill', 'username', 'exit_code', 'kill_timeout', 'kill_retry_time', 'max_memory_restart',
  'autorestart', 'autostart', 'exec_interpreter', 'cwd', 'pmx', 'vizion', CONTROLLER,
];

interface RenderedTask { name: string; type: string; process: { exec_mode?: string; env?: Record<string, string> } }
interface Rendered { namespace: string; tasks: RenderedTask[] }

/** The example's files as committed, with every `PORT: "n"` it declares (and each other mention of n) moved into this suite's range. */
function exampleFiles(): Record<string, string> {
  const paths = git(ROOT, ['ls-files', 'manifests']).split('\n').filter(Boolean);
  const files = Object.fromEntries(paths.map((p) => [p, readFileSync(join(ROOT, p), 'utf8')]));
  const ports = new Set<string>();
  for (const [path, text] of Object.entries(files)) {
    if (/\.ya?ml$/.test(path)) for (const m of text.matchAll(/\bPORT:\s*"?(\d{2,5})"?/g)) ports.add(m[1]!);
  }
  let next = FIRST_PORT;
  for (const port of ports) {
    const moved = String(next++);
    for (const path of Object.keys(files)) if (/\.ya?ml$/.test(path)) files[path] = files[path]!.replace(new RegExp(`\\b${port}\\b`, 'g'), moved);
  }
  return files;
}

function statusText(remote: string): string {
  return git(remote, ['show', 'pm2-gitops/status:status/dev.md']);
}

describe('the controller run by PM2', () => {
  let pm2: IsolatedPm2;
  let repo: GitFixture;
  let home: string;
  let env: NodeJS.ProcessEnv;
  let rendered: Rendered;
  let other: GitFixture | undefined;

  /** The controller's own log files, for a wait that times out. */
  function controllerLog(): string {
    const logs = join(pm2.home, 'logs');
    let files: string[] = [];
    try { files = readdirSync(logs).filter((f) => f.startsWith(`${CONTROLLER}-`)).sort(); } catch { /* no log yet */ }
    return files.map((f) => readFileSync(join(logs, f), 'utf8')).join('').trimEnd().split('\n').slice(-40).join('\n');
  }

  async function waitFor<T>(what: string, check: () => T | undefined | false | Promise<T | undefined | false>, timeoutMs?: number): Promise<T> {
    return poll(what, check, timeoutMs, 250).catch((err: Error) => {
      let text: string;
      try { text = statusText(repo.remote); } catch (e) { text = `(unreadable: ${(e as Error).message})`; }
      err.message = `${err.message}\n--- status file ---\n${text}\n--- controller log, last 40 lines ---\n${controllerLog()}`;
      throw err;
    });
  }

  beforeAll(async () => {
    pm2 = isolatedPm2('pm2gt-underpm2-');
    home = mkdtempSync(join(tmpdir(), 'pm2gt-underpm2-home-'));
    env = { ...pm2.env, HOME: home };
    repo = gitFixture(undefined, 'pm2gt-underpm2-git-');
    repo.commit('the example', exampleFiles());

    const r = await cli(['render', '--repo', repo.work, '--path', 'manifests', '--env', 'dev', '--json'], { env });
    expect(r.code, r.stderr).toBe(0);
    rendered = JSON.parse(r.stdout) as Rendered;

    const dir = join(home, 'controller');
    mkdirSync(dir);
    const stateDir = join(home, 'state');
    const app = {
      name: CONTROLLER,
      namespace: CONTROLLER,
      script: BIN,
      args: ['run', '--repo', repo.remote, '--path', 'manifests', '--env', 'dev', '--interval', '1s', '--state-dir', stateDir],
      cwd: dir,
      exec_mode: 'fork',
      instances: 1,
      autorestart: false,
      kill_timeout: 30000,
      max_memory_restart: '300M',
      env: { NODE_ENV: 'production', PM2_GITOPS_LOG_LEVEL: 'debug' },
    };
    writeFileSync(join(dir, 'ecosystem.config.cjs'), `module.exports = { apps: [${JSON.stringify(app, null, 2)}] };\n`);
    const started = await pm2.pm2(['start', join(dir, 'ecosystem.config.cjs')], { cwd: dir });
    expect(started.code, started.stderr).toBe(0);
  });

  afterAll(async () => {
    await pm2?.pm2(['delete', CONTROLLER]);
    await pm2?.pm2(['delete', APPLY.app]);
    other?.cleanup();
    await pm2?.kill();
    repo?.cleanup();
    if (home) rmSync(home, { recursive: true, force: true });
  });

  it('[delivery-under-pm2] converges the example, each task in its own namespace with nothing of the controller\'s identity', async () => {
    const head = repo.head();
    await waitFor('a converged status for the example', () => {
      try { const s = statusText(repo.remote); return s.includes(head) && s.includes('| result | converged |'); } catch { return false; }
    }, 120_000);

    const list = await pm2.jlist();
    const controller = list.find((p) => p.name === CONTROLLER && p.pm2_env.namespace === CONTROLLER);
    expect(controller, 'the controller runs under PM2').toBeDefined();
    expect(controller!.pm2_env.status).toBe('online');
    const cenv = controller!.pm2_env;
    expect(list.filter((p) => p.pm2_env.namespace === CONTROLLER).map((p) => p.name)).toEqual([CONTROLLER]);

    expect(rendered.tasks.length).toBeGreaterThan(0);
    expect(rendered.namespace).not.toBe(CONTROLLER);
    const managed: JlistEntry[] = [];
    for (const task of rendered.tasks) {
      const procs = list.filter((p) => p.name === task.name && p.pm_id !== controller!.pm_id);
      expect(procs.length, `task ${task.name} has processes`).toBeGreaterThan(0);
      for (const p of procs) {
        expect(p.pm2_env.namespace, `namespace of ${task.name}`).toBe(rendered.namespace);
        expect(p.pm2_env.pm_exec_path).not.toBe(cenv.pm_exec_path);
        expect(p.pm2_env.unique_id).not.toBe(cenv.unique_id);
        expect(p.pm2_env.exec_mode, `exec_mode of ${task.name}`).toBe(task.process.exec_mode === 'cluster' ? 'cluster_mode' : 'fork_mode');
        expect(p.pm2_env.kill_timeout).not.toBe(cenv.kill_timeout);
        if (task.type === 'service') expect(p.pm2_env.status, `status of ${task.name}`).toBe('online');
        managed.push(p);
      }
    }
    for (const p of managed) {
      const own = p.pm2_env.env;
      const inherited = IDENTITY_KEYS.filter((key) => key in own);
      expect(inherited, `PM2 variables in the env of ${p.name}`).toEqual([]);
      expect(own.unique_id).not.toBe(cenv.unique_id);
    }
  }, 180_000);

  it('[delivery-under-pm2] apply run by PM2 starts its tasks in the environment\'s namespace, without its own PM2 variables', async () => {
    other = gitFixture(undefined, 'pm2gt-underpm2-apply-');
    other.commit('one environment', tinyRepo({ env: APPLY.env, namespace: APPLY.namespace, port: APPLY.port }));
    const dir = join(home, 'apply');
    mkdirSync(dir);
    const app = {
      name: APPLY.app,
      namespace: APPLY.appNamespace,
      script: BIN,
      args: ['apply', '--repo', other.work, '--env', APPLY.env, '--state-dir', join(home, 'apply-state')],
      cwd: dir,
      exec_mode: 'fork',
      autorestart: false,
      kill_timeout: 20000,
    };
    writeFileSync(join(dir, 'apply.config.cjs'), `module.exports = { apps: [${JSON.stringify(app)}] };\n`);
    const started = await pm2.pm2(['start', join(dir, 'apply.config.cjs')], { cwd: dir });
    expect(started.code, started.stderr).toBe(0);

    const done = await waitFor('apply to finish', async () => {
      const p = (await pm2.jlist()).find((e) => e.name === APPLY.app);
      return p && p.pm2_env.status === 'stopped' ? p : undefined;
    }, 60_000);
    expect(done.pm2_env.exit_code, 'apply exit code').toBe(0);
    const list = await pm2.jlist();
    // The example of the first test runs its own `web` in its namespace; any other place is this apply's doing.
    const tasks = list.filter((p) => (p.name === 'web' || p.name === 'setup') && p.pm2_env.namespace !== rendered.namespace);
    expect(tasks.map((p) => `${p.name}@${p.pm2_env.namespace}`).sort()).toEqual([`setup@${APPLY.namespace}`, `web@${APPLY.namespace}`]);
    expect(list.filter((p) => p.pm2_env.namespace === APPLY.appNamespace).map((p) => p.name)).toEqual([APPLY.app]);
    for (const p of tasks) {
      expect(IDENTITY_KEYS.filter((key) => key in p.pm2_env.env), `PM2 variables in the env of ${p.name}`).toEqual([]);
      expect(p.pm2_env.kill_timeout).not.toBe(20000);
    }
    const res = await fetch(`http://127.0.0.1:${APPLY.port}/`);
    expect(((await res.json()) as { greeting: string }).greeting).toBe('hello');
  }, 120_000);
});
