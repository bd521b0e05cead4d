/**
 * The bundled example, as committed, delivered for real: its files copied
 * into a temporary git repository (ports moved into this file's range),
 * environment dev applied under an isolated PM2 and HOME. The web app is
 * installed with `npm ci --offline` (its dependency is the local package
 * lib/greeting), built from src/ into dist/, and answers over HTTP.
 */
import { execFileSync } from 'node:child_process';
import { existsSync, lstatSync, mkdirSync, mkdtempSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { cli, ROOT } from './helpers/cli.js';
import { gitFixture, type GitFixture } from './helpers/git.js';
import { isolatedPm2, type IsolatedPm2 } from './helpers/pm2.js';

const API_PORT = 27300;
const WEB_PORT = 27301;

interface ApplyJson { converged: boolean; actions: Array<{ task: string; action: string; result: string }> }

/** The committed files of manifests/ at HEAD, paths relative to it, with the dev ports moved into this file's range. */
function committedExample(): Record<string, string> {
  const paths = execFileSync('git', ['ls-tree', '-r', '-z', '--name-only', 'HEAD', 'manifests/'], { cwd: ROOT, encoding: 'utf8' }).split('\0').filter(Boolean);
  const files: Record<string, string> = {};
  for (const path of paths) {
    const text = execFileSync('git', ['show', `HEAD:${path}`], { cwd: ROOT, encoding: 'utf8' });
    const rel = path.slice('manifests/'.length);
    files[rel] = rel.endsWith('.yaml') ? text.replace(/\b3100\b/g, String(API_PORT)).replace(/\b3101\b/g, String(WEB_PORT)) : text;
  }
  return files;
}

async function get(port: number): Promise<{ service: string; pid: number; greeting: string; release?: number }> {
  const res = await fetch(`http://127.0.0.1:${port}/`);
  expect(res.status).toBe(200);
  return await res.json() as { service: string; pid: number; greeting: string; release?: number };
}

let pm2: IsolatedPm2;
let repo: GitFixture;
let env: NodeJS.ProcessEnv;
let home: string;

async function apply(): Promise<ApplyJson> {
  const r = await cli(['apply', '--repo', repo.work, '--env', 'dev', '--json'], { env, timeoutMs: 90_000 });
  expect(r.code, r.stderr).toBe(0);
  return JSON.parse(r.stdout) as ApplyJson;
}

beforeAll(() => {
  const seed = mkdtempSync(join(tmpdir(), 'pm2gt-example-seed-'));
  for (const [path, text] of Object.entries(committedExample())) {
    mkdirSync(dirname(join(seed, path)), { recursive: true });
    writeFileSync(join(seed, path), text);
  }
  repo = gitFixture(seed, 'pm2gt-example-');
  rmSync(seed, { recursive: true, force: true });
  pm2 = isolatedPm2('pm2gt-example-pm2-');
  // An empty HOME: npm finds nothing in its cache, so the install works only because nothing has to be fetched.
  home = mkdtempSync(join(tmpdir(), 'pm2gt-example-home-'));
  env = { ...pm2.env, HOME: home, npm_config_cache: join(home, '.npm') };
});

afterAll(async () => {
  await pm2?.kill();
  repo?.cleanup();
  if (home) rmSync(home, { recursive: true, force: true });
});

describe('the bundled example delivers its web app', () => {
  it('[delivery-example] apply dev installs and builds web; it answers with the greeting of its dependency; a second apply does nothing', async () => {
    const first = await apply();
    expect(first.converged).toBe(true);
    expect(first.actions.map((a) => [a.task, a.action, a.result]).sort()).toEqual([
      ['api', 'create', 'ok'], ['migrate', 'create', 'ok'], ['web', 'create', 'ok'], ['worker', 'create', 'ok'],
    ]);
    const answer = await get(WEB_PORT);
    expect(answer).toMatchObject({ service: 'web', greeting: 'hello web, from the greeting package' });
    expect((await get(API_PORT)).service).toBe('api');

    // The build lives in the state dir under PM2_HOME; the process runs from the task's stable link into it.
    const store = join(pm2.home, 'pm2-gitops');
    const builds = readdirSync(join(store, 'builds', 'web')).filter((n) => !n.endsWith('.json'));
    expect(builds).toHaveLength(1);
    const build = join(store, 'builds', 'web', builds[0]!);
    expect(existsSync(join(build, 'apps/web/dist/server.js'))).toBe(true);
    expect(lstatSync(join(build, 'apps/web/node_modules/greeting')).isSymbolicLink()).toBe(true);
    expect(existsSync(join(build, 'lib/greeting/index.js'))).toBe(true);
    expect(existsSync(join(repo.work, 'apps/web/dist'))).toBe(false);
    const web = (await pm2.jlist()).find((p) => p.name === 'web')!;
    expect(web.pm2_env.namespace).toBe('dev');
    expect(web.pm2_env.pm_exec_path).toBe(join(store, 'links', 'dev', 'web', 'apps/web/dist/server.js'));

    const second = await apply();
    expect(second.actions).toEqual([]);
    expect((await get(WEB_PORT)).pid).toBe(answer.pid);
  });

  it('[delivery-example] a committed change to web\'s code, then to its dependency, restarts web alone with the new code', async () => {
    const before = new Map((await pm2.jlist()).map((p) => [p.name, p.pid]));
    const server = repo.read('apps/web/src/server.js');
    repo.commit('web tells its release', { 'apps/web/src/server.js': server.replace("service: 'web', pid", "service: 'web', release: 2, pid") });
    const changed = await apply();
    expect(changed.actions.map((a) => [a.task, a.action, a.result])).toEqual([['web', 'restart', 'ok']]);
    expect(await get(WEB_PORT)).toMatchObject({ release: 2, greeting: 'hello web, from the greeting package' });

    const greeting = repo.read('lib/greeting/index.js');
    repo.commit('a warmer greeting', { 'lib/greeting/index.js': greeting.replace('hello ${who}', 'hello dear ${who}') });
    const dependency = await apply();
    expect(dependency.actions.map((a) => [a.task, a.action, a.result])).toEqual([['web', 'restart', 'ok']]);
    expect(await get(WEB_PORT)).toMatchObject({ release: 2, greeting: 'hello dear web, from the greeting package' });

    const after = new Map((await pm2.jlist()).map((p) => [p.name, p.pid]));
    for (const name of ['api', 'worker']) expect(after.get(name)).toBe(before.get(name));
    expect(after.get('web')).not.toBe(before.get('web'));
  });
});
