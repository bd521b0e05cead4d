/**
 * Delivery: a cluster app (2 instances; a few-line HTTP server that answers its
 * version, built by `npm run build`, with a local `file:` dependency that
 * `npm ci --offline` installs) delivered by `pm2-gitops run` from a bare
 * remote, against the same app the PM2 way in a plain clone.
 *
 * Per push (N of each kind, alternating): a code-only change (the version the
 * server answers) and a lockfile change (a version bump of lib/greet and a new
 * lockfile). Measured from `git push` returning to the first HTTP answer of
 * the new version, with a load of keep-alive-less GETs running across all
 * pushes (failed requests: target 0). Then the disk the build store holds
 * after the 2N pushes with `--keep-builds 5`.
 *
 *   npx tsx bench/delivery.ts [--pushes N]     # N per change kind, default 10 (so 20 pushes in all)
 */
import { execFileSync, spawn, type ChildProcess } from 'node:child_process';
import { closeSync, existsSync, mkdirSync, openSync, readdirSync, readFileSync, readlinkSync, writeFileSync } from 'node:fs';
import http from 'node:http';
import { basename, join } from 'node:path';
import { daemonsOf, GITOPS_BIN, PM2_BIN, ROOT, run } from './lib/daemon.js';
import { answerOf, AppRepo, benchHost, diskKb, greetPackage, NPM_FLAGS, startLoad, webAppFiles, type AppPorts, type BenchHost, type LoadStats } from './lib/web-app.js';
import { table } from './lib/table.js';

const PUSHES = pushesFlag(process.argv.slice(2));
const LOAD_EVERY_MS = 10;
const KEEP_BUILDS = 5;
const PORTS: AppPorts = { gitops: 27200, pm2: 27201, namespace: 'bench-delivery', pm2Namespace: 'bench-delivery-pm2' };
const PUSH_TIMEOUT_MS = 120_000;

function pushesFlag(args: string[]): number {
  const at = args.indexOf('--pushes');
  if (at < 0) return 10;
  const n = Number(args[at + 1]);
  if (!Number.isInteger(n) || n < 1) throw new Error('--pushes: expected a whole number of at least 1');
  return n;
}

type Kind = 'code' | 'lockfile';

/** What one push changed and what the app answers once it runs. */
interface Push { kind: Kind; version: string; greet: string }

/** The pushes of a phase, from the app at `from`: odd pushes change code, even ones the lockfile; versions count on from `offset`. */
function pushPlan(from: Push, offset: number): Push[] {
  const plan: Push[] = [];
  let { version, greet } = from;
  for (let i = 1; i <= 2 * PUSHES; i++) {
    const kind: Kind = i % 2 === 1 ? 'code' : 'lockfile';
    if (kind === 'code') version = `v${offset + i}`;
    else greet = `1.0.${offset + i}`;
    plan.push({ kind, version, greet });
  }
  return plan;
}

/** The app as the first revision has it. */
const V0: Push = { kind: 'code', version: 'v0', greet: '1.0.0' };

/** Writes and commits one push's change in the clone (not timed); resolves to the sha. */
function change(repo: AppRepo, p: Push): string {
  if (p.kind === 'code') repo.write({ 'apps/web/src/version.txt': `${p.version}\n` });
  else {
    repo.write({ 'lib/greet/package.json': greetPackage(p.greet) });
    repo.lockfile();
  }
  return repo.commit(p.kind === 'code' ? `web ${p.version}` : `greet ${p.greet}`);
}

function get(port: number): Promise<string> {
  return new Promise((resolve, reject) => {
    const req = http.get({ host: '127.0.0.1', port, path: '/', agent: false }, (res) => {
      let body = '';
      res.setEncoding('utf8');
      res.on('data', (c: string) => { body += c; });
      res.on('end', () => resolve(body));
    });
    req.on('error', reject);
    req.setTimeout(2_000, () => req.destroy(new Error('no answer within 2 s')));
  });
}

async function until<T>(what: string, check: () => Promise<T | undefined | false>, timeoutMs: number, everyMs = 50): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    const v = await check().catch(() => undefined);
    if (v !== undefined && v !== false) return v;
    await new Promise((r) => { setTimeout(r, everyMs); });
  }
  throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
}

/** Waits until 10 answers in a row are `body` (both workers run the new code). */
async function settled(port: number, body: string): Promise<void> {
  await until(`every worker on port ${port} answering "${body}"`, async () => {
    for (let i = 0; i < 10; i++) if ((await get(port)) !== body) return false;
    return true;
  }, PUSH_TIMEOUT_MS, 100);
}

function percentile(sorted: number[], p: number): number {
  return sorted[Math.min(sorted.length - 1, Math.ceil((p / 100) * sorted.length) - 1)]!;
}

/** Median and p95 of a kind's samples. */
interface Figures { samples: number[]; median: number; p95: number }

function figures(samples: number[]): Figures {
  const sorted = [...samples].sort((a, b) => a - b);
  return { samples, median: percentile(sorted, 50), p95: percentile(sorted, 95) };
}

/** What a phase measured: push → first new answer, push → last old answer, and the load's totals. */
interface PhaseResult {
  code: Figures;
  lockfile: Figures;
  oldGone: { code: Figures; lockfile: Figures };
  load: Omit<LoadStats, 'lastSeen'>;
  deployMs?: { code: Figures; lockfile: Figures };
}

/**
 * Times the pushes of `plan`, from the app answering `initial`; `deploy` runs
 * after each push (the PM2 way's command), `after` waits until the push is
 * delivered (the controller's status says converged).
 */
async function pushes(repo: AppRepo, port: number, initial: Push, plan: Push[], step: { deploy?: () => Promise<number>; after: (sha: string, p: Push) => Promise<void> }): Promise<PhaseResult> {
  const load = startLoad(port, LOAD_EVERY_MS);
  const times: Record<Kind, number[]> = { code: [], lockfile: [] };
  const deploys: Record<Kind, number[]> = { code: [], lockfile: [] };
  const pushed: Array<{ kind: Kind; at: number; old: string }> = [];
  let before = initial;
  try {
    for (const [i, p] of plan.entries()) {
      const sha = change(repo, p);
      const pushedAt = await repo.push();
      pushed.push({ kind: p.kind, at: pushedAt, old: answerOf(before.version, before.greet) });
      const answered = load.firstAnswer(answerOf(p.version, p.greet), PUSH_TIMEOUT_MS);
      if (step.deploy) deploys[p.kind].push(await step.deploy());
      times[p.kind].push((await answered) - pushedAt);
      await step.after(sha, p);
      await settled(port, answerOf(p.version, p.greet));
      before = p;
      console.error(`  … push ${i + 1}/${plan.length} (${p.kind}): ${times[p.kind].at(-1)} ms`);
    }
  } catch (err) {
    await load.stop();
    throw err;
  }
  const { lastSeen, ...stats } = await load.stop();
  const gone: Record<Kind, number[]> = { code: [], lockfile: [] };
  for (const p of pushed) gone[p.kind].push(lastSeen[p.old]! - p.at);
  const result: PhaseResult = { code: figures(times.code), lockfile: figures(times.lockfile), oldGone: { code: figures(gone.code), lockfile: figures(gone.lockfile) }, load: stats };
  if (step.deploy) result.deployMs = { code: figures(deploys.code), lockfile: figures(deploys.lockfile) };
  return result;
}

/** A running `pm2-gitops run`, its stderr in a file. */
interface Controller { child: ChildProcess; log: string; stop(): Promise<void> }

function startController(host: BenchHost, repo: AppRepo, stateDir: string): Controller {
  const log = join(host.root, 'controller.log');
  const fd = openSync(log, 'w');
  const child = spawn(process.execPath, [GITOPS_BIN, 'run', '--repo', repo.remote, '--path', '.', '--env', 'dev', '--interval', '1s',
    '--state-dir', stateDir, '--host', 'bench', '--keep-builds', String(KEEP_BUILDS)], { env: host.env, stdio: ['ignore', 'ignore', fd] });
  closeSync(fd);
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  return {
    child,
    log,
    async stop() {
      if (child.exitCode !== null || child.signalCode !== null) return;
      child.kill('SIGTERM');
      const timer = setTimeout(() => child.kill('SIGKILL'), 15_000);
      await exited;
      clearTimeout(timer);
    },
  };
}

function converged(status: string | undefined, sha: string): boolean {
  return status !== undefined && status.includes(`| revision | \`${sha}\``) && status.includes('| result | converged |');
}

/** How the controller delivered one push: the build's steps (from its record) and the actions it logged. */
interface Delivered { install: string; buildMs: number; actions: string[] }

/** Reads what delivered `p`: the record of the build the task's link points at, and the actions logged since `logAt`. */
function deliveredNow(stateDir: string, log: string, logAt: number): { delivered: Delivered; logAt: number } {
  const digest = basename(readlinkSync(join(stateDir, 'links', PORTS.namespace, 'web')));
  const record = JSON.parse(readFileSync(join(stateDir, 'builds', 'web', `${digest}.json`), 'utf8')) as { steps: Array<{ kind: string; status: string; durationMs: number }> };
  const text = readFileSync(log, 'utf8');
  const actions: string[] = [];
  for (const line of text.slice(logAt).split('\n')) {
    const m = /"msg":"(\w+) web: (\w+)"/.exec(line);
    if (m) actions.push(`${m[1]} ${m[2]}`);
  }
  const install = record.steps.find((s) => s.kind === 'install')?.status ?? 'none';
  return { delivered: { install, buildMs: record.steps.reduce((sum, s) => sum + s.durationMs, 0), actions }, logAt: text.length };
}

/** Per change kind: installs run and reused, the build's median time, the actions taken. */
function summarize(list: Delivered[]): { installsRun: number; installsReused: number; buildMs: Figures; actions: string } {
  const counts = new Map<string, number>();
  for (const d of list) for (const a of d.actions) counts.set(a, (counts.get(a) ?? 0) + 1);
  return {
    installsRun: list.filter((d) => d.install === 'ok').length,
    installsReused: list.filter((d) => d.install === 'reused').length,
    buildMs: figures(list.map((d) => d.buildMs)),
    actions: [...counts].map(([a, n]) => `${a} x${n}`).join(', ') || 'none',
  };
}

type GitopsResult = PhaseResult & { diskKb: number; builds: number; oneBuildKb: number; delivery: Record<Kind, ReturnType<typeof summarize>> };

async function gitopsPhase(host: BenchHost, repo: AppRepo, stateDir: string): Promise<GitopsResult> {
  const ctl = startController(host, repo, stateDir);
  try {
    const first = repo.git(repo.work, ['rev-parse', 'HEAD']);
    await until('the first revision served', async () => (await get(PORTS.gitops)) === answerOf(V0.version, V0.greet), PUSH_TIMEOUT_MS, 200);
    await until('the first revision converged', async () => converged(await repo.statusFile('status/dev.md'), first), PUSH_TIMEOUT_MS, 200);
    const oneBuildKb = diskKb(join(stateDir, 'builds'));
    let logAt = readFileSync(ctl.log, 'utf8').length;
    const delivered: Record<Kind, Delivered[]> = { code: [], lockfile: [] };
    const result = await pushes(repo, PORTS.gitops, V0, pushPlan(V0, 0), {
      after: async (sha, p) => {
        await until(`revision ${sha.slice(0, 12)} converged`, async () => converged(await repo.statusFile('status/dev.md'), sha), PUSH_TIMEOUT_MS, 100);
        const now = deliveredNow(stateDir, ctl.log, logAt);
        delivered[p.kind].push(now.delivered);
        logAt = now.logAt;
      },
    });
    const builds = readdirSync(join(stateDir, 'builds', 'web'), { withFileTypes: true }).filter((e) => e.isDirectory()).length;
    return { ...result, diskKb: diskKb(join(stateDir, 'builds')), builds, oneBuildKb, delivery: { code: summarize(delivered.code), lockfile: summarize(delivered.lockfile) } };
  } catch (err) {
    const tail = existsSync(ctl.log) ? readFileSync(ctl.log, 'utf8').trimEnd().split('\n').slice(-30).join('\n') : '';
    (err as Error).message += `\n--- controller log, last 30 lines ---\n${tail}`;
    throw err;
  } finally {
    await ctl.stop();
  }
}

async function must(what: string, p: Promise<{ code: number; stderr: string; ms: number }>): Promise<number> {
  const r = await p;
  if (r.code !== 0) throw new Error(`${what} exited ${r.code}: ${r.stderr.trim().split('\n').slice(-5).join('\n')}`);
  return r.ms;
}

async function pm2Phase(host: BenchHost, repo: AppRepo): Promise<PhaseResult & { cloneKb: number }> {
  const clone = join(host.root, 'clone');
  repo.git(host.root, ['clone', '--quiet', repo.remote, clone]);
  const env = host.env;
  const pm2 = `"${process.execPath}" "${PM2_BIN}"`;
  const deployCmd = `git pull --quiet && cd apps/web && npm ci ${NPM_FLAGS} && npm run build && cd ../.. && ${pm2} reload ecosystem.config.js`;
  await must('npm ci && npm run build', run('sh', ['-c', `cd apps/web && npm ci ${NPM_FLAGS} && npm run build`], { cwd: clone, env }));
  await must('pm2 start ecosystem.config.js', run('sh', ['-c', `${pm2} start ecosystem.config.js`], { cwd: clone, env }));
  const current = pushPlan(V0, 0).at(-1)!;
  await until('the PM2 way serving', async () => (await get(PORTS.pm2)) === answerOf(current.version, current.greet), 60_000, 200);
  const result = await pushes(repo, PORTS.pm2, current, pushPlan(current, 2 * PUSHES), {
    deploy: () => must('git pull && npm ci && npm run build && pm2 reload ecosystem.config.js', run('sh', ['-c', deployCmd], { cwd: clone, env })),
    after: async () => {},
  });
  return { ...result, cloneKb: diskKb(clone, ['.git']) };
}

const causes = (s: Omit<LoadStats, 'lastSeen'>): string => Object.entries(s.causes).map(([k, v]) => `${k} ${v}`).join(', ') || 'none';

async function killDaemon(host: BenchHost): Promise<boolean> {
  await run(process.execPath, [PM2_BIN, 'kill'], { env: host.env });
  for (const pid of daemonsOf(host.pm2Home)) {
    try { process.kill(pid, 'SIGKILL'); } catch { /* already gone */ }
  }
  for (let i = 0; i < 50 && daemonsOf(host.pm2Home).length; i++) await new Promise((r) => { setTimeout(r, 100); });
  return daemonsOf(host.pm2Home).length === 0;
}

async function main(): Promise<void> {
  execFileSync(process.execPath, [join(ROOT, 'node_modules/typescript/bin/tsc'), '-p', join(ROOT, 'tsconfig.json')], { stdio: 'inherit' });
  const started = Date.now();
  const host = benchHost('pm2gt-bench-delivery-');
  let daemonGone = false;
  try {
    const repo = new AppRepo(join(host.root, 'repo'), host.env);
    repo.write(webAppFiles(PORTS));
    repo.lockfile();
    repo.commit('web v0');
    await repo.push();
    await must('pm2 ping', run(process.execPath, [PM2_BIN, 'ping'], { env: host.env }));
    console.error(`pm2-gitops run, ${2 * PUSHES} pushes …`);
    const g = await gitopsPhase(host, repo, join(host.root, 'state'));
    await must('pm2 delete all', run(process.execPath, [PM2_BIN, 'delete', 'all'], { env: host.env }));
    console.error(`the PM2 way, ${2 * PUSHES} pushes …`);
    const p = await pm2Phase(host, repo);
    const ms = (f: Figures): string => `${f.median} / ${f.p95}`;
    const installs = (k: Kind): string => `${g.delivery[k].installsRun} run, ${g.delivery[k].installsReused} reused`;
    const rows = [
      ['median / p95 ms unless said', 'pm2-gitops run', 'the PM2 way'],
      ['what runs after the push', 'controller (--interval 1s): build in a new dir, reload', 'git pull && npm ci && npm run build && pm2 reload'],
      ['code-only: push → first new answer', ms(g.code), ms(p.code)],
      ['code-only: push → last old answer', ms(g.oldGone.code), ms(p.oldGone.code)],
      ['lockfile:  push → first new answer', ms(g.lockfile), ms(p.lockfile)],
      ['lockfile:  push → last old answer', ms(g.oldGone.lockfile), ms(p.oldGone.lockfile)],
      ['code-only: build / command time', `${ms(g.delivery.code.buildMs)} (the build's steps)`, `${ms(p.deployMs!.code)} (the whole command, reload included)`],
      ['lockfile:  build / command time', `${ms(g.delivery.lockfile.buildMs)} (the build's steps)`, `${ms(p.deployMs!.lockfile)} (the whole command, reload included)`],
      ['npm ci, code-only | lockfile pushes', `${installs('code')} | ${installs('lockfile')}`, `${PUSHES} run | ${PUSHES} run`],
      ['PM2 actions, code-only | lockfile pushes', `${g.delivery.code.actions} | ${g.delivery.lockfile.actions}`, `pm2 reload x${PUSHES} | x${PUSHES} (the command)`],
      [`failed GETs (~${1000 / LOAD_EVERY_MS}/s, no keep-alive; target 0)`, `${g.load.failed} of ${g.load.ok + g.load.failed}`, `${p.load.failed} of ${p.load.ok + p.load.failed}`],
      ['  causes', causes(g.load), causes(p.load)],
      [`disk after ${2 * PUSHES} pushes`, `${g.diskKb} KB: builds/, ${g.builds} builds (--keep-builds ${KEEP_BUILDS}; one build ${g.oneBuildKb} KB)`, `${p.cloneKb} KB: the work tree (no earlier build kept)`],
    ];
    const lines = [
      `delivery: cluster app (2 instances), ${PUSHES} code-only + ${PUSHES} lockfile pushes each way, alternating; ${Math.round((Date.now() - started) / 1000)} s`,
      '',
      ...table(rows).split('\n'),
      '',
      '  push → first new answer: from `git push` returning to the first answer of the new version the load generator',
      '  got (GETs every 10 ms); → last old answer: to the last answer of the version before. The PM2 way runs its',
      '  command the moment the push returns, as a hook would; the controller finds the push by itself.',
    ];
    console.log(lines.join('\n'));
    mkdirSync(join(ROOT, '.tmp'), { recursive: true });
    writeFileSync(join(ROOT, '.tmp/delivery-bench.json'), `${JSON.stringify({ at: new Date().toISOString(), pushesPerKind: PUSHES, loadEveryMs: LOAD_EVERY_MS, keepBuilds: KEEP_BUILDS, gitops: g, pm2: p, lines }, null, 2)}\n`);
    if (g.load.failed > 0) process.exitCode = 1;
  } finally {
    daemonGone = await killDaemon(host);
    host.cleanup();
    console.log(`  PM2 daemon killed: ${daemonGone ? 'yes' : 'NO, still running'}`);
  }
}

await main();
