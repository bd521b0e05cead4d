/**
 * The delivery bench's application and its surroundings: a cluster web app
 * (apps/web, built by `npm run build` into dist/, with a local `file:`
 * dependency lib/greet installed offline by `npm ci`), its manifests and an
 * ecosystem.config.js beside them, a repository that pushes to a bare remote,
 * a host env of its own (PM2_HOME, HOME for npm), and a load generator in a
 * child process that keeps GETting the app.
 */
import { execFile, execFileSync, spawn, type ChildProcess } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { promisify } from 'node:util';

export const NPM_FLAGS = '--offline --no-audit --no-fund';
const execFileAsync = promisify(execFile);

/** Where the two deliveries of the app listen and which namespace each runs in. */
export interface AppPorts { gitops: number; pm2: number; namespace: string; pm2Namespace: string }

/** The answer of a server at `version` with lib/greet at `greetVersion`. */
export function answerOf(version: string, greetVersion: string): string {
  return `hello web (greet ${greetVersion}) ${version}`;
}

const SERVER_TEMPLATE = [
  "const cluster = require('node:cluster');",
  "const http = require('node:http');",
  "const greet = require('greet');",
  'const VERSION = __VERSION__;',
  "const server = http.createServer((req, res) => { res.setHeader('connection', 'close'); res.end(`${greet('web')} ${VERSION}`); });",
  "server.listen(Number(process.env.PORT), '127.0.0.1');",
  // A graceful stop for a zero-downtime reload (the README's pattern): a cluster worker leaves through
  // disconnect(), so a connection the primary handed it just before goes to another worker instead of hanging.
  "process.on('SIGINT', () => {",
  "  if (!cluster.isWorker) return server.close(() => process.exit(0));",
  "  cluster.worker.once('disconnect', () => process.exit(0));",
  "  cluster.worker.disconnect();",
  "});",
].join('\n');

/** lib/greet's package.json at a version (a version bump is the lockfile change). */
export function greetPackage(version: string): string {
  return `${JSON.stringify({ name: 'greet', version, main: 'index.js' }, null, 2)}\n`;
}

/** Every file of the repository at its first revision: the app, its manifests and an ecosystem file. */
export function webAppFiles(ports: AppPorts): Record<string, string> {
  return {
    '.gitignore': 'node_modules/\ndist/\n',
    'lib/greet/package.json': greetPackage('1.0.0'),
    'lib/greet/index.js': "const { version } = require('./package.json');\nmodule.exports = (who) => `hello ${who} (greet ${version})`;\n",
    'apps/web/package.json': `${JSON.stringify({ name: 'web', version: '1.0.0', private: true, dependencies: { greet: 'file:../../lib/greet' }, scripts: { build: 'node build.js' } }, null, 2)}\n`,
    'apps/web/build.js': [
      "const fs = require('node:fs');",
      "const version = fs.readFileSync('src/version.txt', 'utf8').trim();",
      "fs.mkdirSync('dist', { recursive: true });",
      `fs.writeFileSync('dist/server.js', ${JSON.stringify(SERVER_TEMPLATE)}.replace('__VERSION__', JSON.stringify(version)) + '\\n');`,
      '',
    ].join('\n'),
    'apps/web/src/version.txt': 'v0\n',
    'base/web.yaml': `apiVersion: pm2-gitops/v1
kind: Task
metadata: { name: web }
spec:
  source: [apps/web, lib/greet]
  build:
    install: npm ci ${NPM_FLAGS}
    run: [npm run build]
  process:
    cwd: apps/web
    script: dist/server.js
    exec_mode: cluster
    instances: 2
    env: { PORT: "${ports.gitops}" }
`,
    'environments/dev/environment.yaml': `apiVersion: pm2-gitops/v1
kind: Environment
metadata: { name: dev }
spec:
  resources: [../../base]
  namespace: ${ports.namespace}
  policy: { prune: true, selfHeal: true }
`,
    'ecosystem.config.js': `module.exports = {
  apps: [{
    name: 'web',
    namespace: '${ports.pm2Namespace}',
    cwd: __dirname + '/apps/web',
    script: 'dist/server.js',
    exec_mode: 'cluster',
    instances: 2,
    env: { PORT: '${ports.pm2}' },
  }],
};
`,
  };
}

/** A temp dir holding PM2_HOME and npm's HOME, and an env with nothing of the caller's but PATH (node's folder first). */
export interface BenchHost { root: string; pm2Home: string; env: NodeJS.ProcessEnv; cleanup(): void }

/** Creates the host; its PM2 daemon starts on first use. */
export function benchHost(prefix: string): BenchHost {
  const root = mkdtempSync(join(tmpdir(), prefix));
  const pm2Home = join(root, 'pm2');
  const home = join(root, 'home');
  mkdirSync(pm2Home);
  mkdirSync(home);
  const env: NodeJS.ProcessEnv = {
    PATH: `${dirname(process.execPath)}:${process.env.PATH ?? '/usr/bin:/bin'}`,
    HOME: home,
    LANG: 'C',
    TMPDIR: tmpdir(),
    PM2_HOME: pm2Home,
    PM2_DISCRETE_MODE: 'true',
    PM2_SILENT: 'true',
  };
  return { root, pm2Home, env, cleanup: () => rmSync(root, { recursive: true, force: true }) };
}

/** A working clone that pushes to a bare remote, both under `root`. */
export class AppRepo {
  readonly remote: string;
  readonly work: string;

  constructor(readonly root: string, private readonly env: NodeJS.ProcessEnv) {
    this.remote = join(root, 'remote.git');
    this.work = join(root, 'work');
    mkdirSync(root, { recursive: true });
    this.git(root, ['init', '--quiet', '--bare', '--initial-branch=main', this.remote]);
    this.git(root, ['init', '--quiet', '--initial-branch=main', this.work]);
    for (const [k, v] of [['gc.auto', '0'], ['user.name', 'Dev One'], ['user.email', 'dev1@example.com'], ['commit.gpgsign', 'false']]) this.git(this.work, ['config', k!, v!]);
    this.git(this.work, ['remote', 'add', 'origin', this.remote]);
  }

  git(cwd: string, args: string[]): string {
    return execFileSync('git', args, { cwd, env: this.env, encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] }).trim();
  }

  write(files: Record<string, string>): void {
    for (const [path, content] of Object.entries(files)) {
      mkdirSync(dirname(join(this.work, path)), { recursive: true });
      writeFileSync(join(this.work, path), content);
    }
  }

  /** Rewrites apps/web/package-lock.json from apps/web/package.json and lib/greet (npm, offline). */
  lockfile(): void {
    execFileSync('npm', ['install', '--package-lock-only', ...NPM_FLAGS.split(' ')], { cwd: join(this.work, 'apps/web'), env: this.env, stdio: 'pipe' });
  }

  /** Commits everything in the clone; returns the sha (nothing pushed yet). */
  commit(message: string): string {
    this.git(this.work, ['add', '--all']);
    this.git(this.work, ['commit', '--quiet', '-m', message]);
    return this.git(this.work, ['rev-parse', 'HEAD']);
  }

  /** Pushes main; resolves to the time `git push` returned (Date.now()). */
  async push(): Promise<number> {
    await execFileAsync('git', ['push', '--quiet', 'origin', 'HEAD:refs/heads/main'], { cwd: this.work, env: this.env });
    return Date.now();
  }

  /** A file of the remote's status branch, or undefined while it has none. */
  async statusFile(path: string): Promise<string | undefined> {
    try {
      return (await execFileAsync('git', ['show', `pm2-gitops/status:${path}`], { cwd: this.remote, env: this.env })).stdout;
    } catch {
      return undefined;
    }
  }

  read(path: string): string {
    return readFileSync(join(this.work, path), 'utf8');
  }
}

/** Counts of the load generator: answers, failures by cause. */
export interface LoadStats {
  ok: number;
  failed: number;
  causes: Record<string, number>;
  /** Per answer, the time (Date.now()) it last came. */
  lastSeen: Record<string, number>;
}

/** GETs without keep-alive at a fixed rate; each distinct answer reported once, with the time it first came. */
const LOAD_CHILD = `
const http = require('node:http');
const port = Number(process.argv[1]);
const everyMs = Number(process.argv[2]);
let ok = 0, failed = 0, inFlight = 0;
const causes = {};
const seen = new Set();
const lastSeen = {};
const fail = (cause) => { failed++; causes[cause] = (causes[cause] || 0) + 1; };
function one() {
  inFlight++;
  let done = false;
  const finish = (cause, body) => {
    if (done) return;
    done = true;
    inFlight--;
    if (cause) return fail(cause);
    ok++;
    lastSeen[body] = Date.now();
    if (!seen.has(body)) { seen.add(body); process.send({ kind: 'answer', body, at: Date.now() }); }
  };
  const req = http.get({ host: '127.0.0.1', port, path: '/', agent: false }, (res) => {
    let body = '';
    res.setEncoding('utf8');
    res.on('data', (c) => { body += c; });
    res.on('end', () => finish(res.statusCode === 200 ? undefined : 'status ' + res.statusCode, body));
    res.on('error', (e) => finish(e.code || 'response error'));
  });
  req.on('error', (e) => finish(e.code || 'request error'));
  req.setTimeout(2000, () => req.destroy(Object.assign(new Error('timeout'), { code: 'timeout (2 s)' })));
}
const timer = setInterval(one, everyMs);
process.on('message', (m) => {
  if (m.kind === 'stop') {
    clearInterval(timer);
    const end = () => { if (inFlight > 0) return setTimeout(end, 20); process.send({ kind: 'stats', ok, failed, causes, lastSeen }, () => process.exit(0)); };
    end();
  }
});
`;

/** A running load generator. */
export interface Load {
  /** Resolves to the time the first answer equal to `body` came (at once when it already came). */
  firstAnswer(body: string, timeoutMs: number): Promise<number>;
  /** Stops sending, waits for the requests in flight, resolves to the totals. */
  stop(): Promise<LoadStats>;
}

/** Starts GETting http://127.0.0.1:port/ every `everyMs` ms. */
export function startLoad(port: number, everyMs: number): Load {
  const child: ChildProcess = spawn(process.execPath, ['-e', LOAD_CHILD, String(port), String(everyMs)], { stdio: ['ignore', 'inherit', 'inherit', 'ipc'] });
  const seen = new Map<string, number>();
  const waiters: Array<() => void> = [];
  let final: ((s: LoadStats) => void) | undefined;
  child.on('message', (m: { kind: string; body?: string; at?: number } & Partial<LoadStats>) => {
    if (m.kind === 'answer') { seen.set(m.body!, m.at!); for (const w of waiters.splice(0)) w(); }
    if (m.kind === 'stats' && final) final({ ok: m.ok!, failed: m.failed!, causes: m.causes!, lastSeen: m.lastSeen! });
  });
  return {
    firstAnswer(body, timeoutMs) {
      return new Promise<number>((resolve, reject) => {
        const deadline = setTimeout(() => reject(new Error(`no answer "${body}" within ${timeoutMs} ms (answers seen: ${[...seen.keys()].slice(-3).join(' | ')})`)), timeoutMs);
        const check = (): void => {
          const at = seen.get(body);
          if (at !== undefined) { clearTimeout(deadline); resolve(at); } else waiters.push(check);
        };
        check();
      });
    },
    stop() {
      return new Promise<LoadStats>((resolve) => {
        final = resolve;
        child.send({ kind: 'stop' });
      });
    },
  };
}

/** Kilobytes `du -sk` counts under `dir`. */
export function diskKb(dir: string, exclude: string[] = []): number {
  const out = execFileSync('du', ['-sk', ...exclude.map((e) => `--exclude=${e}`), dir], { encoding: 'utf8' });
  return Number(out.trim().split(/\s+/)[0]);
}
