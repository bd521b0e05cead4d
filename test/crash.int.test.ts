import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { cli } from './helpers/cli.js';
import { controllerWait, startController, type RunningController } from './helpers/controller.js';
import { git, gitFixture, type GitFixture } from './helpers/git.js';
import { isolatedPm2, type IsolatedPm2, type JlistEntry } from './helpers/pm2.js';

const STATUS = 'pm2-gitops/status';

/** A server that starts listening DELAY_MS after it starts, so its health takes that long. */
const SLOW_SERVER_CJS = `const http = require('node:http');
setTimeout(() => {
  http.createServer((req, res) => {
    res.setHeader('content-type', 'application/json');
    res.end(JSON.stringify({ pid: process.pid, greeting: process.env.GREETING || null }));
  }).listen(Number(process.env.PORT), '127.0.0.1');
}, Number(process.env.DELAY_MS || 0));
`;

type Mode = 'fork' | 'cluster';

function manifests(o: { port: number; namespace: string; mode: Mode; greeting: string; delayMs: number }): Record<string, string> {
  const shape = o.mode === 'cluster' ? '    exec_mode: cluster\n    instances: 2\n    listen_timeout: 8000\n' : '';
  return {
    'apps/slow-server.cjs': SLOW_SERVER_CJS,
    'apps/job.cjs': 'setTimeout(() => process.exit(0), 100);\n',
    'base/web.yaml': `apiVersion: pm2-gitops/v1
kind: Task
metadata: { name: web }
spec:
  dependsOn: [setup]
  health:
    http: { url: "http://127.0.0.1:${o.port}/" }
    timeoutSeconds: 30
    minUptimeSeconds: 0.2
  process:
    script: apps/slow-server.cjs
${shape}    env: { PORT: "${o.port}", GREETING: ${o.greeting}, DELAY_MS: "${o.delayMs}" }
`,
    'base/setup.yaml': `apiVersion: pm2-gitops/v1
kind: Task
metadata: { name: setup }
spec:
  type: job
  process: { script: apps/job.cjs }
`,
    'environments/dev/environment.yaml': `apiVersion: pm2-gitops/v1
kind: Environment
metadata: { name: dev }
spec:
  resources: [../../base]
  namespace: ${o.namespace}
  policy: { prune: true, selfHeal: true }
`,
  };
}

interface LogLine { msg?: string; revision?: string; task?: string; result?: string }

/**
 * Applies a first revision, pushes one whose `web` takes 2.5 s to listen, and
 * kills the controller with SIGKILL once PM2 runs the new `web` but before its
 * health passed; then starts it again with the same state dir.
 */
function crashSuite(mode: Mode, port: number, namespace: string): void {
  describe(`kill -9 of the controller in the middle of an apply (${mode} mode)`, () => {
    let pm2: IsolatedPm2;
    let repo: GitFixture;
    let ctl: RunningController;
    const waitFor = controllerWait(() => ctl, () => statusText());
    let stateDir: string;
    let keyDir: string;
    let first = '';
    let second = '';
    const instances = mode === 'cluster' ? 2 : 1;

    const statusText = (): string => git(repo.remote, ['show', `${STATUS}:status/dev.md`]);
    const evidence = (): string[] => git(repo.remote, ['ls-tree', '--name-only', `${STATUS}:evidence/dev`]).split('\n').filter(Boolean);
    const logLines = (c: RunningController): LogLine[] => c.logs().split('\n').filter((l) => l.startsWith('{')).map((l) => JSON.parse(l) as LogLine);
    const start = (): RunningController => startController({ repo: repo.remote, env: pm2.env, stateDir, args: ['--env', 'dev', '--resync', '1s', '--signing-key', join(keyDir, 'signing.key')] });
    const ours = async (): Promise<JlistEntry[]> => (await pm2.jlist()).filter((p) => p.pm2_env.namespace === namespace && typeof p.pm_id === 'number');
    const greetingOf = (p: JlistEntry): unknown => p.pm2_env.GREETING ?? p.pm2_env.env.GREETING;

    async function served(): Promise<Set<unknown>> {
      const seen = new Set<unknown>();
      for (let i = 0; i < 4 * instances; i++) seen.add(((await (await fetch(`http://127.0.0.1:${port}/`)).json()) as { greeting?: unknown }).greeting);
      return seen;
    }

    beforeAll(async () => {
      pm2 = isolatedPm2();
      repo = gitFixture();
      stateDir = mkdtempSync(join(tmpdir(), 'pm2gt-crash-state-'));
      keyDir = join(stateDir, 'keys');
      expect((await cli(['keygen', '--out', keyDir])).code).toBe(0);
      first = repo.commit('initial', manifests({ port, namespace, mode, greeting: 'one', delayMs: 0 }));
      ctl = start();
    });

    afterAll(async () => {
      if (ctl.child.exitCode === null && ctl.child.signalCode === null) await ctl.stop();
      await pm2.kill();
      repo.cleanup();
      rmSync(stateDir, { recursive: true, force: true });
    });

    it('applies the first revision', async () => {
      await waitFor('status for the first revision', () => { try { const s = statusText(); return s.includes(first) && s.includes('| result | converged |'); } catch { return false; } });
      expect(await served()).toEqual(new Set(['one']));
    });

    it('is killed while PM2 starts the new web, before its health passed', async () => {
      second = repo.commit('slow start', { 'base/web.yaml': manifests({ port, namespace, mode, greeting: 'two', delayMs: 2500 })['base/web.yaml']! });
      await waitFor('PM2 to run a web process of the new revision', async () => {
        const lines = logLines(ctl);
        return lines.some((l) => l.msg === 'applying plan' && l.revision === second) && (await ours()).some((p) => p.name === 'web' && greetingOf(p) === 'two');
      });
      await ctl.kill9();
      const lines = logLines(ctl);
      expect(lines.slice(lines.findIndex((l) => l.msg === 'applying plan' && l.revision === second)).some((l) => l.task === 'web')).toBe(false);
      expect(statusText()).not.toContain(second);
    });

    it('converges after a restart with the same state dir, without duplicates, and reports the interrupted reconcile once', async () => {
      ctl = start();
      await waitFor('status for the new revision after the restart', () => { const s = statusText(); return s.includes(second) && s.includes('| result | converged |'); }, 45_000);
      // Converged means healthy: the new web answers as soon as the status says so.
      expect((await served()).has('two')).toBe(true);

      const procs = await ours();
      expect(procs.filter((p) => p.name === 'setup')).toHaveLength(1);
      const web = procs.filter((p) => p.name === 'web');
      expect(web).toHaveLength(instances);
      expect(web.map((p) => p.pm2_env.status)).toEqual(Array(instances).fill('online'));
      expect(web.map((p) => p.pm2_env.exec_mode)).toEqual(Array(instances).fill(`${mode}_mode`));
      expect(procs).toHaveLength(instances + 1);

      const reports = evidence();
      if (reports.length !== 2) { console.log(statusText()); console.log(ctl.logs().split('\n').filter((l) => /"msg":"(dev:|reconciling|applying|[a-z]+ web)/.test(l)).slice(0, 30).join('\n')); }
      expect(reports).toHaveLength(2);
      const forSecond = reports.filter((n) => n.endsWith(`-${second.slice(0, 12)}.json`));
      expect(forSecond).toHaveLength(1);
      const report = JSON.parse(git(repo.remote, ['show', `${STATUS}:evidence/dev/${forSecond[0]!}`])) as { resumed?: { revision: string }; outcome: string; sequence: number };
      expect(report.resumed?.revision).toBe(second);
      expect(report.outcome).toBe('converged');
      expect(report.sequence).toBe(2);

      const verify = await cli(['verify', '--repo', repo.remote, '--env', 'dev', '--public-key', join(keyDir, 'signing.pub')]);
      expect(verify.stdout).toContain('dev: 2 reports, all valid');
      expect(verify.code).toBe(0);
    });

    it('reports nothing more and moves nothing on later resyncs', async () => {
      const before = (await ours()).map((p) => [p.pm_id, p.pid, p.pm2_env.restart_time]);
      const passes = (): number => logLines(ctl).filter((l) => l.msg === 'dev: converged').length;
      const seen = passes();
      await waitFor('three more passes', () => passes() >= seen + 3, 30_000);
      expect(evidence()).toHaveLength(2);
      expect((await ours()).map((p) => [p.pm_id, p.pid, p.pm2_env.restart_time])).toEqual(before);
    });

    it('runs every worker on the new revision', async () => {
      const web = (await ours()).filter((p) => p.name === 'web');
      expect(web.map(greetingOf)).toEqual(Array(instances).fill('two'));
      expect(await served()).toEqual(new Set(['two']));
      expect(await ctl.stop()).toBe(0);
    });
  });
}

crashSuite('fork', 26030, 'crash-fork');
crashSuite('cluster', 26031, 'crash-cluster');
