/**
 * The migration corpus: ecosystem files written as projects write them
 * (test/testdata/ecosystems/corpus-*), each taken through what a PM2 user
 * does when moving to pm2-gitops, against real PM2 daemons:
 *
 * 1. `import FILE --out deploy` succeeds, and every environment it wrote renders;
 * 2. after `pm2 start FILE` (daemon A), `plan` of the imported environment
 *    finds nothing to do: no create beside an original process, no hold;
 * 3. `apply` on a fresh daemon (B) gives the processes daemon A runs: the
 *    same `pm2 jlist` fields (paths of delivered code mapped back to the
 *    repository folder they were built from);
 * 4. `export` declares the same apps, under the names PM2 showed.
 */
import { afterAll, describe, it, type ExpectStatic } from 'vitest';
import { chmodSync, cpSync, existsSync, mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, isAbsolute, join, resolve } from 'node:path';
import { cli, ROOT, type RunResult } from './helpers/cli.js';
import { waitFor } from './helpers/controller.js';
import { git } from './helpers/git.js';
import { isolatedPm2, type IsolatedPm2, type JlistEntry } from './helpers/pm2.js';

const FIXTURES = join(ROOT, 'test', 'testdata', 'ecosystems');

interface CorpusCase {
  /** Folder under test/testdata/ecosystems. */
  dir: string;
  /** The ecosystem file in it. */
  file: string;
  /** `pm2 start FILE --env <pm2Env>`; none: PM2's default env. */
  pm2Env?: string;
  /** The imported environment planned, applied and exported. */
  env: string;
  /** Processes PM2 runs from the file on this machine. */
  count: number;
  /** The environments import writes. */
  environments: string[];
  /** A warning import must print. */
  warning?: RegExp;
  /** A folder of the fixture that lives outside the repository: copied elsewhere, its path given in this variable. */
  outside?: { folder: string; variable: string };
}

/** Each class of the migration issue, in a file of its own style (see each file's header). */
const CORPUS: CorpusCase[] = [
  { dir: 'corpus-pm2-init', file: 'ecosystem.config.js', pm2Env: 'production', env: 'production', count: 1, environments: ['default', 'production'] },
  { dir: 'corpus-monorepo', file: 'ecosystem.config.js', env: 'default', count: 2, environments: ['default', 'staging'] },
  { dir: 'corpus-inline', file: 'ecosystem.config.js', env: 'default', count: 3, environments: ['default'] },
  { dir: 'corpus-jsonc', file: 'process.json', pm2Env: 'production', env: 'production', count: 2, environments: ['default', 'production'] },
  { dir: 'corpus-logs', file: 'ecosystem.config.js', env: 'default', count: 3, environments: ['default'] },
  { dir: 'corpus-job', file: 'ecosystem.config.js', env: 'default', count: 3, environments: ['default'] },
  {
    dir: 'corpus-outside-cwd', file: 'ecosystem.config.js', env: 'default', count: 2, environments: ['default'],
    warning: /legacy-exporter.*cwd.*--allow-root|--allow-root.*legacy-exporter/s, outside: { folder: 'legacy', variable: 'LEGACY_HOME' },
  },
  { dir: 'corpus-cluster', file: 'ecosystem.config.js', pm2Env: 'production', env: 'production', count: 7, environments: ['default', 'production'] },
  { dir: 'corpus-yaml', file: 'process.yml', pm2Env: 'production', env: 'production', count: 3, environments: ['default', 'production'] },
  { dir: 'corpus-bare-array', file: 'apps.config.js', env: 'default', count: 3, environments: ['default'] },
  // PM2's environment name (local_production) is the one --env takes; the folder is named local-production.
  { dir: 'corpus-bare-object', file: 'solo.config.js', pm2Env: 'local_production', env: 'local_production', count: 1, environments: ['default', 'local-production', 'production'] },
  { dir: 'corpus-interpreters', file: 'ecosystem.config.js', env: 'default', count: 4, environments: ['default'] },
  { dir: 'corpus-deploy-targets', file: 'ecosystem.config.js', pm2Env: 'staging', env: 'staging', count: 1, environments: ['default', 'production', 'staging'] },
  { dir: 'corpus-watch', file: 'ecosystem.config.js', env: 'default', count: 2, environments: ['default'] },
];

/** The pm2_env fields compared between `pm2 start FILE` and `apply`, as PM2 keeps them. */
const FIELDS = [
  'namespace', 'exec_mode', 'pm_exec_path', 'args', 'exec_interpreter', 'node_args', 'pm_cwd', 'max_memory_restart',
  'autorestart', 'watch', 'ignore_watch', 'cron_restart', 'restart_delay', 'merge_logs', 'pm_out_log_path', 'pm_err_log_path',
] as const;

/** Variables PM2 or the runner put into every process's env; no ecosystem file of the corpus sets them. */
const INJECTED = new Set(['PM2_HOME', 'OLDPWD', 'NODE_APP_INSTANCE', 'PM2_USAGE', 'PM2_INTERACTOR_PROCESSING', 'PM2_JSON_PROCESSING', 'unique_id', 'pm_id']);

interface AppView {
  instances: number;
  options: Record<string, unknown>;
  /** The variables of the first instance the file set, PWD apart. */
  env: Record<string, string>;
  /** PWD of the first instance. */
  pwd?: string;
  /** PM2's env_<name> blocks kept on the process. */
  envBlocks: Record<string, unknown>;
}

/**
 * Where apply differs from pm2 start on purpose, as the README says ("What a
 * process finds in its environment"): PWD is the folder the process runs in
 * (the pm2 CLI leaves the raw cwd option there, even the one of the app
 * started before), and env_<name> blocks are not put on the process (the
 * Environment has chosen one; PM2 never reads the copies again). Both are
 * checked on their own, outside the field-by-field comparison.
 */
function compared(apps: Record<string, AppView>): Record<string, Omit<AppView, 'pwd' | 'envBlocks'>> {
  return Object.fromEntries(Object.entries(apps).map(([name, { pwd: _pwd, envBlocks: _blocks, ...rest }]) => [name, rest]));
}

/** Rewrites every string inside a value. */
function mapStrings(value: unknown, f: (s: string) => string): unknown {
  if (typeof value === 'string') return f(value);
  if (Array.isArray(value)) return value.map((v) => mapStrings(v, f));
  if (value && typeof value === 'object') return Object.fromEntries(Object.entries(value).map(([k, v]) => [k, mapStrings(v, f)]));
  return value;
}

/**
 * Per PM2 app name: instance count, compared options, env and env blocks of
 * the first instance. `pathOf` turns a path of this daemon into the path it
 * stands for (delivered code back into the repository); `inherited` is the
 * env the CLI that started the processes had (PM2 passes it on).
 */
function view(list: JlistEntry[], inherited: NodeJS.ProcessEnv, home: string, pathOf: (name: string, s: string) => string): Record<string, AppView> {
  const out: Record<string, AppView> = {};
  for (const p of [...list].sort((a, b) => a.pm_id - b.pm_id)) {
    const e = p.pm2_env;
    // PM2's default log files of a multi-instance app end in the pm_id, which follows the start order.
    const local = (s: string): string => pathOf(p.name, s).replace(home, '$PM2_HOME').replace(new RegExp(`-${p.pm_id}\\.log$`), '-<pm_id>.log');
    const env: Record<string, string> = {};
    for (const [k, v] of Object.entries(e.env)) {
      if (INJECTED.has(k) || k === 'PWD' || k === p.name || inherited[k] === String(v)) continue;
      env[k] = local(String(v));
    }
    const pwd = typeof e.env.PWD === 'string' ? local(e.env.PWD) : undefined;
    const options = Object.fromEntries(FIELDS.map((k) => [k, mapStrings(e[k], local)]));
    const envBlocks = Object.fromEntries(Object.entries(e).filter(([k]) => /^env_/.test(k)).map(([k, v]) => [k, mapStrings(v, local)]));
    const prev = out[p.name];
    if (prev) prev.instances += 1;
    else out[p.name] = { instances: 1, options, env, pwd, envBlocks };
  }
  return out;
}

const cleanup: Array<() => Promise<void> | void> = [];
afterAll(async () => {
  for (const c of cleanup.reverse()) await c();
});

/** A daemon of its own with HOME under a temp dir too (npm's cache and config, ~ in PM2). */
function daemon(prefix: string, extra: NodeJS.ProcessEnv): IsolatedPm2 {
  const pm2 = isolatedPm2(prefix);
  // pm2.pm2() runs with this same env object.
  Object.assign(pm2.env, { HOME: join(pm2.home, 'home') }, extra);
  // The corpus reads these from the environment as PaaS-style files do: the runner's must not change the counts.
  delete pm2.env.WEB_CONCURRENCY;
  let killed: Promise<void> | undefined;
  const kill = (): Promise<void> => (killed ??= pm2.kill());
  cleanup.push(kill);
  return { ...pm2, kill };
}

/** Every process settled: services online, processes that PM2 does not restart (autorestart false) exited. */
async function settled(pm2: IsolatedPm2, count: number, what: string): Promise<JlistEntry[]> {
  return waitFor(`${count} processes of ${what} settled`, async () => {
    const l = await pm2.jlist();
    if (l.length !== count) return undefined;
    return l.every((p) => (p.pm2_env.autorestart === false ? p.pid === 0 && p.pm2_env.status !== 'launching' : p.pm2_env.status === 'online')) ? l : undefined;
  }, 60_000);
}

const escape = (s: string): string => s.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');

const ok = (expect: ExpectStatic, r: RunResult, what: string): void => { expect(r.code, `${what}\n${r.stderr}\n${r.stdout}`).toBe(0); };

/** At most this many corpus files at once (each with its own daemons), on two cores. */
const PARALLEL = 2;
let running = 0;
const queue: Array<() => void> = [];
async function slot<T>(f: () => Promise<T>): Promise<T> {
  if (running >= PARALLEL) await new Promise<void>((r) => { queue.push(r); });
  running += 1;
  try {
    return await f();
  } finally {
    running -= 1;
    queue.shift()?.();
  }
}

interface PlanAction { task: string; action: string; reason: string; patch?: Array<{ op: string; path: string }> }
interface PlanOut { actions: PlanAction[]; holds: Array<{ task: string; reason: string }> }

/**
 * Takes one corpus file through the migration. Each stage's outcome is a soft
 * assertion, so that a failing case reports every stage that differs.
 */
async function migrate(c: CorpusCase, expect: ExpectStatic): Promise<void> {
  const root = mkdtempSync(join(tmpdir(), `pm2gt-corpus-${c.dir}-`));
  cleanup.push(() => rmSync(root, { recursive: true, force: true }));
  const work = join(root, 'repo');
  cpSync(join(FIXTURES, c.dir), work, { recursive: true });
  const extra: NodeJS.ProcessEnv = {};
  const allow: string[] = [];
  if (c.outside) {
    const dir = join(root, 'outside', c.outside.folder);
    cpSync(join(work, c.outside.folder), dir, { recursive: true });
    rmSync(join(work, c.outside.folder), { recursive: true });
    for (const f of readdirSync(dir)) chmodSync(join(dir, f), 0o755);
    extra[c.outside.variable] = dir;
    allow.push('--allow-root', dir);
  }
  git(work, ['init', '--quiet', '--initial-branch=main']);
  git(work, ['-c', 'user.name=Dev One', '-c', 'user.email=dev1@example.com', 'add', '--all']);
  git(work, ['-c', 'user.name=Dev One', '-c', 'user.email=dev1@example.com', '-c', 'commit.gpgsign=false', 'commit', '--quiet', '-m', 'ecosystem file']);
  const source = ['--repo', work, '--path', 'deploy', ...allow];
  const pm2Args = ['start', c.file, ...(c.pm2Env ? ['--env', c.pm2Env] : [])];

  // Daemon A: the apps as `pm2 start FILE` runs them, then the import and its first plan.
  const a = daemon('pm2gt-corpus-a-', extra);
  let original: Record<string, AppView>;
  let plan: PlanOut;
  try {
    // Typed in a shell in the repository, so PWD is the repository.
    a.env.PWD = work;
    ok(expect, await a.pm2(pm2Args, { cwd: work }), `pm2 ${pm2Args.join(' ')}`);
    original = view(await settled(a, c.count, c.file), a.env, a.home, (_, s) => s);

    const imported = await cli(['import', c.file, '--out', 'deploy'], { cwd: work, env: a.env });
    ok(expect, imported, `import ${c.file}`);
    if (c.warning) expect(imported.stderr, 'import warns').toMatch(c.warning);
    const written = readdirSync(join(work, 'deploy', 'environments')).sort();
    expect(written, 'environments import wrote').toEqual(c.environments);
    for (const manifest of [...readdirSync(join(work, 'deploy', 'base')).map((f) => join('base', f)), ...written.map((e) => join('environments', e, 'environment.yaml'))]) {
      const file = join(work, 'deploy', manifest);
      const schema = /\$schema=(\S+)/.exec(readFileSync(file, 'utf8'))?.[1] ?? '';
      expect.soft(existsSync(resolve(dirname(file), schema)), `${manifest}: $schema ${schema} is a file`).toBe(true);
    }
    for (const env of written) {
      const r = await cli(['render', ...source, '--env', env], { env: a.env });
      expect.soft(r.code, `render --env ${env}\n${r.stderr}`).toBe(0);
    }

    const planned = await cli(['plan', ...source, '--env', c.env, '--json'], { env: a.env });
    ok(expect, planned, 'plan');
    plan = JSON.parse(planned.stdout) as PlanOut;
  } finally {
    await a.kill();
  }
  expect.soft(plan.actions.map((x) => `${x.task}: ${x.action} (${x.reason}) ${JSON.stringify(x.patch ?? [])}`), 'plan against the processes pm2 start left').toEqual([]);
  expect.soft(plan.holds.map((h) => `${h.task}: ${h.reason}`), 'holds').toEqual([]);

  // Daemon B: apply on a fresh daemon.
  const b = daemon('pm2gt-corpus-b-', extra);
  let applied: Record<string, AppView>;
  try {
    const r = await cli(['apply', ...source, '--env', c.env, '--json'], { env: b.env, timeoutMs: 90_000 });
    expect.soft(r.code, `apply\n${r.stderr.slice(-3000)}`).toBe(0);
    const list = r.code === 0 ? await settled(b, c.count, `apply of ${c.env}`) : await b.jlist();
    // Delivered code runs from a link to its build (…/links/<namespace>/<task>, then the same
    // path below it as in the repository), and relative log files go to the same path below
    // …/files/<namespace>/<task> (README, "Delivery"): map both back to the folder pm2 start used.
    const link = new RegExp(`^${escape(join(b.home, 'pm2-gitops'))}/(?:links|files)/[^/]+/[^/]+`);
    const roots = new Map<string, string>();
    for (const p of list) {
      const cwd = String(p.pm2_env.pm_cwd);
      const m = link.exec(cwd);
      const below = m ? cwd.slice(m[0].length) : '';
      const before = original[p.name]?.options.pm_cwd;
      if (m && typeof before === 'string' && before.endsWith(below)) roots.set(p.name, before.slice(0, before.length - below.length));
    }
    const pathOf = (name: string, s: string): string => {
      const m = link.exec(s);
      const root = roots.get(name);
      return m && root !== undefined ? root + s.slice(m[0].length) : s;
    };
    applied = view(list, b.env, b.home, pathOf);
  } finally {
    await b.kill();
  }
  expect.soft(compared(applied), 'apply on a fresh daemon gives what pm2 start gives').toEqual(compared(original));
  for (const [name, app] of Object.entries(applied)) {
    expect.soft(app.pwd, `${name}: PWD is the folder the process runs in`).toBe(app.options.pm_cwd);
    expect.soft(app.envBlocks, `${name}: no env_<name> block on the process`).toEqual({});
  }

  const exported = await cli(['export', ...source, '--env', c.env, '--format', 'json'], { env: b.env });
  ok(expect, exported, 'export');
  const apps = (JSON.parse(exported.stdout) as { apps: Array<{ name: string; cwd?: string }> }).apps;
  expect.soft(apps.map((x) => x.name).sort(), 'export declares the apps PM2 ran').toEqual(Object.keys(original).sort());
  // Paths as users write them: relative, but for a folder outside the repository.
  for (const app of apps) expect.soft(isAbsolute(app.cwd ?? '.') && !app.cwd?.startsWith(join(root, 'outside')), `${app.name}: exported cwd ${app.cwd}`).toBe(false);
}

describe('the migration corpus: import, adoption, apply equal to pm2 start, export', { timeout: 600_000 }, () => {
  for (const c of CORPUS) {
    it.concurrent(`[import-corpus] ${c.dir}/${c.file}${c.pm2Env ? ` --env ${c.pm2Env}` : ''}`, ({ expect }) => slot(() => migrate(c, expect)));
  }
});
