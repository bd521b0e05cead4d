/**
 * The package as a user gets it: `npm pack`, installed into a project of its
 * own outside this repository, runs as `pm2-gitops` and `npx pm2-gitops`, and
 * works on the example it ships.
 *
 * The install runs offline: the new project's lockfile is this repository's
 * (the production part of its tree, with pm2-gitops from the tarball), so that
 * `npm ci --offline` takes every dependency from the npm cache `npm ci` filled
 * for this repository. Without such a cache it falls back to the registry.
 */
import { execFileSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ROOT, run, type RunResult } from './helpers/cli.js';
import { isolatedPm2, type IsolatedPm2 } from './helpers/pm2.js';

interface LockEntry { dev?: boolean; [key: string]: unknown }
interface Lock { packages: Record<string, LockEntry> }
interface PackageJson { version: string; license: string; dependencies: Record<string, string>; bin: Record<string, string>; engines: Record<string, string> }

const pkg = JSON.parse(readFileSync(join(ROOT, 'package.json'), 'utf8')) as PackageJson;
/** The npm cache of the user running the tests (HOME is a temp dir below). */
const NPM_CACHE = execFileSync('npm', ['config', 'get', 'cache'], { encoding: 'utf8' }).trim();

/** A project's lockfile that installs `tarball` with this repository's production dependency tree. */
function consumerLock(tarball: string): Record<string, unknown> {
  const lock = JSON.parse(readFileSync(join(ROOT, 'package-lock.json'), 'utf8')) as Lock;
  const packages: Record<string, unknown> = {
    '': { name: 'consumer', dependencies: { 'pm2-gitops': tarball } },
    'node_modules/pm2-gitops': { version: pkg.version, resolved: tarball, license: pkg.license, dependencies: pkg.dependencies, bin: pkg.bin, engines: pkg.engines },
  };
  for (const [path, entry] of Object.entries(lock.packages)) {
    if (path.startsWith('node_modules/') && !entry.dev) packages[path] = entry;
  }
  return { name: 'consumer', lockfileVersion: 3, requires: true, packages };
}

describe('the packed package', () => {
  let dir: string;
  let project: string;
  let pm2: IsolatedPm2;
  let env: NodeJS.ProcessEnv;
  let files: string[];
  let install: RunResult;
  const npm = (args: string[], cwd: string): Promise<RunResult> => run('npm', [...args, '--no-audit', '--no-fund'], { cwd, env, timeoutMs: 240_000 });
  const installed = (args: string[]): Promise<RunResult> => run(join(project, 'node_modules', '.bin', 'pm2-gitops'), args, { cwd: project, env });

  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), 'pm2gt-pack-'));
    pm2 = isolatedPm2();
    const home = join(dir, 'home');
    mkdirSync(home);
    env = { ...pm2.env, HOME: home, npm_config_cache: NPM_CACHE, npm_config_update_notifier: 'false' };
    // Without scripts: `prepare` would rebuild the dist/ that other test files run from; the test setup built it.
    const packed = await npm(['pack', '--ignore-scripts', '--json', '--pack-destination', dir], ROOT);
    expect(packed.code, packed.stderr).toBe(0);
    const [report] = JSON.parse(packed.stdout) as Array<{ filename: string; files: Array<{ path: string }> }>;
    files = report!.files.map((f) => f.path);

    project = join(dir, 'project');
    mkdirSync(project);
    const tarball = `file:../${report!.filename}`;
    writeFileSync(join(project, 'package.json'), `${JSON.stringify({ name: 'consumer', private: true, dependencies: { 'pm2-gitops': tarball } }, null, 2)}\n`);
    writeFileSync(join(project, 'package-lock.json'), `${JSON.stringify(consumerLock(tarball), null, 2)}\n`);
    install = await npm(['ci', '--offline'], project);
    if (install.code !== 0 && /ENOTCACHED/.test(install.stderr)) install = await npm(['ci', '--prefer-offline'], project);
  }, 300_000);

  afterAll(async () => {
    await pm2.kill();
    rmSync(dir, { recursive: true, force: true });
  });

  it('[first-pack] holds the CLI, its build, the schemas and the example, and neither sources nor tests', () => {
    for (const f of ['package.json', 'README.md', 'bin/pm2-gitops.js', 'dist/cli/main.js', 'dist/index.js', 'dist/index.d.ts', 'schemas/task.schema.json', 'schemas/environment.schema.json', 'manifests/environments/dev/environment.yaml', 'ecosystem.config.js']) {
      expect(files).toContain(f);
    }
    expect(files.filter((f) => /^(src|test|bench|scripts|docs)\//.test(f) || f.includes('node_modules/'))).toEqual([]);
  });

  it('[first-pack] installs into another project and runs there as pm2-gitops and npx pm2-gitops', async () => {
    expect(install.code, install.stderr).toBe(0);
    const version = await installed(['--version']);
    expect(version.code, version.stderr).toBe(0);
    expect(version.stdout.trim()).toBe(pkg.version);
    // Nothing runs at install time: the package ships its build (a `prepare` would ask for tsc, a devDependency).
    const scripts = (JSON.parse(readFileSync(join(project, 'node_modules', 'pm2-gitops', 'package.json'), 'utf8')) as { scripts: Record<string, string> }).scripts;
    expect(Object.keys(scripts).filter((s) => ['preinstall', 'install', 'postinstall', 'prepare'].includes(s))).toEqual([]);
    const npx = await run('npx', ['--offline', 'pm2-gitops', '--version'], { cwd: project, env });
    expect(npx.code, npx.stderr).toBe(0);
    expect(npx.stdout.trim()).toBe(pkg.version);
  });

  it('[first-pack] renders and plans the example it ships, against a PM2 daemon of its own', async () => {
    const example = join(project, 'node_modules', 'pm2-gitops', 'manifests');
    const render = await installed(['render', '--repo', example, '--env', 'dev', '--json']);
    expect(render.code, render.stderr).toBe(0);
    const state = JSON.parse(render.stdout) as { environment: string; tasks: Array<{ name: string }> };
    expect(state.environment).toBe('dev');
    expect(state.tasks.map((t) => t.name).sort()).toEqual(['api', 'migrate', 'web', 'worker']);

    // The installed pm2 dependency talks to a daemon: the plan creates every task, and nothing runs yet.
    const plan = await installed(['plan', '--repo', example, '--env', 'dev', '--json', '--state-dir', join(dir, 'state')]);
    expect(plan.code, plan.stderr).toBe(0);
    const actions = (JSON.parse(plan.stdout) as { actions: Array<{ task: string; action: string }> }).actions;
    expect(actions.map((a) => [a.task, a.action]).sort()).toEqual([['api', 'create'], ['migrate', 'create'], ['web', 'create'], ['worker', 'create']]);
    expect((await pm2.jlist()).filter((p) => p.pm2_env.namespace === 'dev')).toEqual([]);
  });
});
