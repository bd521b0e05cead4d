/**
 * Inline commands and aliases under PM2: the apps `pm2 start FILE` started are
 * adopted by the first plan on the imported manifests (nothing to do), `apply`
 * on a fresh daemon starts them with the same options as `pm2 start`, and the
 * exported file, started from another folder, too. Read back from `pm2 jlist`
 * of isolated daemons and from the apps themselves (HTTP). Ports 27450–27499.
 */
import { afterAll, describe, expect, it } from 'vitest';
import { cpSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { cli, ROOT } from './helpers/cli.js';
import { waitFor } from './helpers/controller.js';
import { isolatedPm2, type IsolatedPm2, type JlistEntry } from './helpers/pm2.js';

const FIXTURES = join(ROOT, 'test', 'testdata', 'ecosystems');

/** The pm2_env fields compared between daemons. */
const FIELDS = [
  'namespace', 'exec_mode', 'pm_exec_path', 'args', 'exec_interpreter', 'node_args', 'pm_cwd', 'max_memory_restart', 'autorestart',
  'watch', 'ignore_watch', 'watch_delay', 'cron_restart', 'merge_logs', 'kill_timeout', 'log_date_format', 'restart_delay', 'min_uptime',
  'max_restarts', 'pm_out_log_path', 'pm_err_log_path', 'status',
] as const;

interface AppView { instances: number; fields: Record<string, unknown>; env: Record<string, string | undefined> }

const dirs: string[] = [];
const daemons: IsolatedPm2[] = [];
afterAll(async () => {
  for (const d of daemons) await d.kill();
  for (const d of dirs) rmSync(d, { recursive: true, force: true });
});

function tempDir(prefix: string): string {
  const dir = mkdtempSync(join(tmpdir(), prefix));
  dirs.push(dir);
  return dir;
}

/** A daemon of its own, with a HOME of its own for the programs it starts (npm). */
function daemon(): IsolatedPm2 {
  const d = isolatedPm2('pm2gt-imp-pm2-');
  d.env.HOME = tempDir('pm2gt-imp-home-');
  daemons.push(d);
  return d;
}

/**
 * Per app: instance count, the compared fields with `paths` mapped back (a
 * delivered task's link → the folder it stands for; the daemon's home →
 * $PM2_HOME), and the env variables `keys` as the process has them.
 */
function view(list: JlistEntry[], home: string, keys: string[], paths: Array<[RegExp, string]> = []): Record<string, AppView> {
  const local = (v: unknown): unknown => {
    if (typeof v !== 'string') return v;
    let s = v.split(home).join('$PM2_HOME');
    for (const [from, to] of paths) s = s.replace(from, to);
    return s;
  };
  const out: Record<string, AppView> = {};
  for (const p of list) {
    const fields = Object.fromEntries(FIELDS.map((k) => [k, Array.isArray(p.pm2_env[k]) ? (p.pm2_env[k] as unknown[]).map(local) : local(p.pm2_env[k])]));
    const env = Object.fromEntries(keys.map((k) => [k, p.pm2_env.env[k] === undefined ? undefined : String(p.pm2_env.env[k])]));
    if (out[p.name]) out[p.name]!.instances += 1;
    else out[p.name] = { instances: 1, fields, env };
  }
  return out;
}

async function online(pm2: IsolatedPm2, count: number): Promise<JlistEntry[]> {
  return waitFor(`${count} processes online`, async () => {
    const l = await pm2.jlist();
    return l.length === count && l.every((p) => p.pm2_env.status === 'online') ? l : undefined;
  });
}

const get = (port: number) => async (): Promise<unknown> => (await fetch(`http://127.0.0.1:${port}/`)).json();

interface Case {
  fixture: string;
  count: number;
  /** PM2's name of the environment, given to pm2 start and to pm2-gitops alike. */
  pm2Env?: string;
  envKeys: string[];
  port: number;
}

interface Outcome {
  work: string;
  started: Record<string, AppView>;
  applied: Record<string, AppView>;
  exported: Record<string, AppView>;
  plan: Array<{ task: string; action: string; patch?: unknown[] }>;
  answers: unknown[];
}

/** pm2 start FILE on daemon A, import, plan against A; apply on fresh daemon B; export, started on daemon C from elsewhere. */
async function migrate(c: Case): Promise<Outcome> {
  const work = tempDir(`pm2gt-imp-${c.fixture}-`);
  cpSync(join(FIXTURES, c.fixture), work, { recursive: true });
  const envFlag = c.pm2Env ? ['--env', c.pm2Env] : [];
  const gitopsEnv = ['--env', c.pm2Env ?? 'default'];

  const a = daemon();
  const started = await a.pm2(['start', 'ecosystem.config.js', ...envFlag], { cwd: work });
  expect(started.code, started.stderr + started.stdout).toBe(0);
  const listA = await online(a, c.count);
  const answers = [await waitFor('an answer from the app pm2 started', get(c.port))];
  const imported = await cli(['import', join(work, 'ecosystem.config.js'), '--out', join(work, 'deploy')]);
  expect(imported.code, imported.stderr).toBe(0);
  const planned = await cli(['plan', '--repo', work, '--path', 'deploy', ...gitopsEnv, '--json'], { env: a.env });
  expect(planned.code, planned.stderr).toBe(0);
  const viewA = view(listA, a.home, c.envKeys);
  await a.kill();
  daemons.splice(daemons.indexOf(a), 1);

  const b = daemon();
  const applied = await cli(['apply', '--repo', work, '--path', 'deploy', ...gitopsEnv, '--json'], { env: b.env, timeoutMs: 120_000 });
  expect(applied.code, applied.stderr + applied.stdout).toBe(0);
  const listB = await online(b, c.count);
  const replanned = await cli(['plan', '--repo', work, '--path', 'deploy', ...gitopsEnv, '--json'], { env: b.env });
  expect(replanned.code, replanned.stderr).toBe(0);
  // What apply started is what the manifests say: nothing left to do.
  expect((JSON.parse(replanned.stdout) as { actions: unknown[] }).actions).toEqual([]);
  answers.push(await waitFor('an answer from the app apply started', get(c.port)));
  // A delivered task runs from its link (apply's state dir is $PM2_HOME/pm2-gitops), which stands for its folder in the repository.
  const links: Array<[RegExp, string]> = [[new RegExp(`^\\$PM2_HOME/pm2-gitops/links/[^/]+/[^/]+`), work]];
  const viewB = view(listB, b.home, c.envKeys, links);
  await b.kill();
  daemons.splice(daemons.indexOf(b), 1);

  const out = join(work, 'exported.config.js');
  const exported = await cli(['export', '--repo', work, '--path', 'deploy', ...gitopsEnv, '--out', out]);
  expect(exported.code, exported.stderr).toBe(0);
  const d = daemon();
  const fromC = await d.pm2(['start', out], { cwd: tempDir('pm2gt-imp-elsewhere-') });
  expect(fromC.code, fromC.stderr + fromC.stdout).toBe(0);
  const listC = await online(d, c.count);
  answers.push(await waitFor('an answer from the exported file', get(c.port)));
  const viewC = view(listC, d.home, c.envKeys);
  return { work, started: viewA, applied: viewB, exported: viewC, plan: (JSON.parse(planned.stdout) as { actions: Outcome['plan'] }).actions, answers };
}

/** The app answers alike whichever way it was started, a delivered app's cwd mapped back to the repository. */
function sameAnswers(o: Outcome): void {
  // The process sees its link resolved: the build it runs (builds/<task>/<digest>), which holds the repository's layout.
  const norm = (a: unknown) => JSON.parse(JSON.stringify(a).replace(/"cwd":"[^"]*\/pm2-gitops\/builds\/[^/"]+\/[0-9a-f]{64}/, `"cwd":"${o.work}`)) as unknown;
  expect(norm(o.answers[1])).toEqual(o.answers[0]);
  expect(o.answers[2]).toEqual(o.answers[0]);
}

describe('migration of inline commands and aliased options under PM2', { timeout: 240_000 }, () => {
  it('[import-inline-command] node server.js, npm run start in a cwd and a shell loop: adopted, applied and exported as pm2 start runs them', async () => {
    const o = await migrate({ fixture: 'inline-commands', count: 3, envKeys: ['PORT'], port: 27450 });
    expect(o.plan).toEqual([]);
    expect(o.started.web!.fields).toMatchObject({ exec_interpreter: 'none', args: ['-c', 'node server.js'], pm_cwd: o.work, status: 'online' });
    expect(String(o.started.web!.fields.pm_exec_path)).toMatch(/\/(bash|sh)$/);
    expect(o.started.site!.fields).toMatchObject({ args: ['-c', 'npm run start'], pm_cwd: join(o.work, 'site') });
    expect(o.applied).toEqual(o.started);
    expect(o.exported).toEqual(o.started);
    expect(o.answers[0]).toEqual({ argv: [], cwd: o.work, port: 27450 });
    sameAnswers(o);
  });

  it('[import-aliases] cmd, command, camelCase options and combine_logs with merge_logs, started with --env local_production', async () => {
    const o = await migrate({ fixture: 'aliases', count: 2, pm2Env: 'local_production', envKeys: ['PORT', 'NODE_ENV'], port: 27452 });
    expect(o.plan).toEqual([]);
    expect(o.started.api).toMatchObject({
      env: { PORT: '27452', NODE_ENV: 'production' },
      fields: { pm_exec_path: join(o.work, 'server.js'), ignore_watch: ['lib/tmp'], watch: ['lib'], watch_delay: 500, max_memory_restart: 150 * 1024 * 1024, kill_timeout: 2500, merge_logs: true, log_date_format: 'YYYY-MM-DD HH:mm' },
    });
    expect(o.started.worker!.fields).toMatchObject({ pm_exec_path: join(o.work, 'worker.js'), exec_mode: 'fork_mode', restart_delay: 1000, min_uptime: 2000, max_restarts: 5 });
    expect(o.applied).toEqual(o.started);
    expect(o.exported).toEqual(o.started);
    sameAnswers(o);
  });
});
