/**
 * A delivered application for end-to-end tests: `apps/web`, a cluster HTTP
 * server built by `npm run build` from `src/`, with a local `file:`
 * dependency `lib/greet` installed by `npm ci --offline`; an unrelated fork
 * service `apps/idle`; a job `apps/migrate` that counts its runs. Steps and
 * job runs append to log files named in the tasks' env, so tests can count
 * exactly what ran. Everything lies under `deploy/` (APP_ROOT). Plus a
 * steady HTTP load that counts failed requests.
 */
import { execFileSync } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import http from 'node:http';
import { join } from 'node:path';
import { NPM_FLAGS } from './delivery.js';
import type { IsolatedPm2 } from './pm2.js';

/** The manifests' folder (`--path`): the apps' code lies in it, paths in manifests are relative to it. */
export const APP_ROOT = 'deploy';

export interface AppOptions {
  port: number;
  /** Where install/build steps and job runs append one line each. */
  stepsLog: string;
  jobLog: string;
  /** Environment name and namespace. */
  env?: string;
  /** Environment policy (YAML flow mapping body), e.g. `rollback: true`. */
  policy?: string;
}

/** lib/greet at a version: its greeting word changes with it. */
export function greetFiles(version: string, word = 'hello'): Record<string, string> {
  return {
    'deploy/lib/greet/package.json': `${JSON.stringify({ name: 'greet', version, main: 'index.js' }, null, 2)}\n`,
    'deploy/lib/greet/index.js': `module.exports = (who) => '${word} ' + who;\n`,
  };
}

/** The build script: dist/server.js from src/server.js and src/version.txt. */
const BUILD_JS = `const fs = require('node:fs');
const version = fs.readFileSync('src/version.txt', 'utf8').trim();
fs.mkdirSync('dist', { recursive: true });
fs.writeFileSync('dist/server.js', fs.readFileSync('src/server.js', 'utf8').replace('__VERSION__', version));
console.log('built', version);
`;

/**
 * A server that answers `<greeting> <version>` and leaves gracefully on
 * SIGINT, as the README advises for a zero-downtime reload: a cluster worker
 * leaves through cluster.worker.disconnect(), so a connection the primary
 * handed it just before is passed on to another worker, not lost with it.
 */
export const SERVER_SRC = `const cluster = require('node:cluster');
const http = require('node:http');
const greet = require('greet');
const server = http.createServer((req, res) => res.end(greet('__VERSION__')));
server.listen(Number(process.env.PORT), '127.0.0.1');
process.on('SIGINT', () => {
  if (!cluster.isWorker) return server.close(() => process.exit(0));
  cluster.worker.once('disconnect', () => process.exit(0));
  cluster.worker.disconnect();
});
`;

/** A build script that fails with output on stderr (and a secret of its env it must not leak). */
export const FAILING_BUILD_JS = `console.error('build: cannot compile src/server.js (token ' + process.env.API_TOKEN + ')');\nprocess.exit(3);\n`;

export function appFiles(o: AppOptions, version = 'v1'): Record<string, string> {
  const env = o.env ?? 'dev';
  return {
    '.gitignore': 'node_modules/\ndist/\n',
    ...greetFiles('1.0.0'),
    'deploy/apps/web/package.json': `${JSON.stringify({ name: 'web', version: '1.0.0', private: true, dependencies: { greet: 'file:../../lib/greet' }, scripts: { build: 'node build.js' } }, null, 2)}\n`,
    'deploy/apps/web/build.js': BUILD_JS,
    'deploy/apps/web/src/server.js': SERVER_SRC,
    'deploy/apps/web/src/version.txt': `${version}\n`,
    'deploy/apps/idle/idle.js': 'setInterval(() => {}, 60_000);\nprocess.on("SIGINT", () => process.exit(0));\n',
    'deploy/apps/migrate/migrate.js': `require('node:fs').appendFileSync(process.env.JOB_LOG, 'ran\\n');\nprocess.exit(0);\n`,
    'deploy/base/web.yaml': [
      'apiVersion: pm2-gitops/v1',
      'kind: Task',
      'metadata: { name: web }',
      'spec:',
      '  source: [apps/web, lib/greet]',
      '  build:',
      `    install: npm ci ${NPM_FLAGS} && echo install >> "$STEPS_LOG"`,
      '    run: [npm run build, echo build >> "$STEPS_LOG"]',
      `  health: { http: { url: "http://127.0.0.1:${o.port}/" }, timeoutSeconds: 20 }`,
      '  process:',
      '    cwd: apps/web',
      '    script: dist/server.js',
      '    exec_mode: cluster',
      '    instances: 2',
      '    kill_timeout: 3000',
      `    env: { PORT: "${o.port}", STEPS_LOG: ${JSON.stringify(o.stepsLog)}, API_TOKEN: "tok-7f3a9c2e5b" }`,
      '',
    ].join('\n'),
    'deploy/base/idle.yaml': 'apiVersion: pm2-gitops/v1\nkind: Task\nmetadata: { name: idle }\nspec:\n  process: { script: apps/idle/idle.js }\n',
    'deploy/base/migrate.yaml': `apiVersion: pm2-gitops/v1\nkind: Task\nmetadata: { name: migrate }\nspec:\n  type: job\n  process:\n    script: apps/migrate/migrate.js\n    env: { JOB_LOG: ${JSON.stringify(o.jobLog)} }\n`,
    [`deploy/environments/${env}/environment.yaml`]: `apiVersion: pm2-gitops/v1\nkind: Environment\nmetadata: { name: ${env} }\nspec:\n  resources: [../../base]\n  namespace: ${env}\n  policy: { prune: true, selfHeal: true${o.policy ? `, ${o.policy}` : ''} }\n`,
  };
}

/** apps/web/package-lock.json for the work tree as it is (npm, offline). */
export function webLockfile(work: string, env: NodeJS.ProcessEnv): Record<string, string> {
  execFileSync('npm', ['install', '--package-lock-only', ...NPM_FLAGS.split(' ')], { cwd: join(work, APP_ROOT, 'apps/web'), env, stdio: 'pipe' });
  return { [`${APP_ROOT}/apps/web/package-lock.json`]: readFileSync(join(work, APP_ROOT, 'apps/web/package-lock.json'), 'utf8') };
}

/** The lines of a log file (none when it does not exist). */
export function logLines(file: string): string[] {
  return existsSync(file) ? readFileSync(file, 'utf8').split('\n').filter(Boolean) : [];
}

/** One GET; resolves to the body, or rejects. */
export function get(port: number, timeoutMs = 2000): Promise<string> {
  return new Promise((resolve, reject) => {
    const req = http.get({ host: '127.0.0.1', port, path: '/', agent: false, timeout: timeoutMs }, (res) => {
      let body = '';
      res.on('data', (d: Buffer) => { body += d.toString(); });
      res.on('end', () => (res.statusCode === 200 ? resolve(body) : reject(new Error(`HTTP ${res.statusCode}`))));
      res.on('error', reject);
    });
    req.on('timeout', () => req.destroy(new Error('timeout')));
    req.on('error', reject);
  });
}

/** Every answer of the app over `n` requests (each worker gets some). */
export async function answersOf(port: number, n = 12): Promise<Set<string>> {
  const seen = new Set<string>();
  for (let i = 0; i < n; i++) seen.add(await get(port));
  return seen;
}

/** The pids of each task's processes, by task name. */
export async function pidsByTask(pm2: IsolatedPm2): Promise<Record<string, number[]>> {
  const out: Record<string, number[]> = {};
  for (const p of await pm2.jlist()) (out[p.name] ??= []).push(p.pid);
  return out;
}

/** Steady load: `workers` loops of GETs until stopped; counts answers by body and failures. */
export function load(port: number, workers = 4): { stop(): Promise<{ ok: number; failed: number; bodies: Map<string, number>; errors: string[] }> } {
  let running = true;
  const bodies = new Map<string, number>();
  const errors: string[] = [];
  let ok = 0;
  let failed = 0;
  const loop = async (): Promise<void> => {
    while (running) {
      try {
        const body = await get(port);
        ok++;
        bodies.set(body, (bodies.get(body) ?? 0) + 1);
      } catch (err) {
        failed++;
        if (errors.length < 10) errors.push((err as Error).message);
      }
      await new Promise((r) => setTimeout(r, 5));
    }
  };
  const loops = Array.from({ length: workers }, loop);
  return {
    async stop() {
      running = false;
      await Promise.all(loops);
      return { ok, failed, bodies, errors };
    },
  };
}
