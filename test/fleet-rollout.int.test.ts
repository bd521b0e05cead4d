/**
 * Progressive rollout over three hosts on one machine (three controllers,
 * each with its own PM2_HOME, HOME and state dir; one bare repository):
 * waves [[h1], [h2, h3]]. A revision whose health check fails stops after h1,
 * which rolls it back; h2 and h3 keep the previous revision and processes.
 * A good revision then reaches all three in wave order.
 */
import { mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import http from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { cli } from './helpers/cli.js';
import { startController, waitFor, type RunningController } from './helpers/controller.js';
import { git, gitFixture, type GitFixture } from './helpers/git.js';
import { isolatedPm2, type IsolatedPm2 } from './helpers/pm2.js';

const STATUS = 'pm2-gitops/status';
const NS = 'fleet-rollout';
const HOSTS = [{ name: 'h1', port: 26341 }, { name: 'h2', port: 26342 }, { name: 'h3', port: 26343 }] as const;

/** The app at a version: answers its version; /health fails when the version is unhealthy. */
function app(version: string, healthy: boolean): string {
  return `const http = require('node:http');
http.createServer((req, res) => {
  if (req.url === '/health' && ${!healthy}) res.statusCode = 500;
  res.end('${version}');
}).listen(Number(process.env.PORT), '127.0.0.1');
process.on('SIGINT', () => process.exit(0));
`;
}

/** One task per host (each on its own port, as three machines would share one). */
function task(host: string, port: number): string {
  return `apiVersion: pm2-gitops/v1
kind: Task
metadata: { name: web-${host} }
spec:
  hosts: [${host}]
  health: { http: { url: "http://127.0.0.1:${port}/health" }, minUptimeSeconds: 0.5, timeoutSeconds: 5 }
  process: { script: apps/web.cjs, env: { PORT: "${port}" } }
`;
}

const ENVIRONMENT = `apiVersion: pm2-gitops/v1
kind: Environment
metadata: { name: prod }
spec:
  resources: [../../base]
  namespace: ${NS}
  rollout: { waves: [[h1], [h2, h3]] }
  policy: { prune: true, selfHeal: true, rollback: true }
`;

function answer(port: number): Promise<string> {
  return new Promise((resolve, reject) => {
    const req = http.get({ host: '127.0.0.1', port, path: '/', agent: false, timeout: 3000 }, (res) => {
      let body = '';
      res.on('data', (d: Buffer) => { body += d.toString(); });
      res.on('end', () => resolve(body));
    });
    req.on('timeout', () => req.destroy(new Error('timeout')));
    req.on('error', reject);
  });
}

interface Host { name: string; port: number; pm2: IsolatedPm2; ctl: RunningController }
interface Evidence { timestamp: string; outcome: string; provenance: { revision: string }; actions: Array<{ task: string; action: string; startedAt: string }> }

describe('a progressive rollout in waves [[h1], [h2, h3]]', () => {
  let repo: GitFixture;
  let work: string;
  const hosts: Host[] = [];

  const show = (path: string): string => git(repo.remote, ['show', `${STATUS}:${path}`]);
  const tryShow = (path: string): string | undefined => { try { return show(path); } catch { return undefined; } };
  const statusOf = (h: string): string => tryShow(`status/prod/${h}.md`) ?? '';
  const evidence = (h: string): Evidence[] => git(repo.remote, ['ls-tree', '--name-only', `${STATUS}:evidence/prod/${h}`]).split('\n').filter(Boolean).sort()
    .map((n) => JSON.parse(show(`evidence/prod/${h}/${n}`)) as Evidence);
  /** When the host first started an action for `revision`. */
  const appliedAt = (h: string, revision: string): number => Math.min(...evidence(h).filter((e) => e.provenance.revision === revision).flatMap((e) => e.actions.map((a) => Date.parse(a.startedAt))));
  /** When the host first reported `revision` converged. */
  const convergedAt = (h: string, revision: string): number => Math.min(...evidence(h).filter((e) => e.provenance.revision === revision && e.outcome === 'converged').map((e) => Date.parse(e.timestamp)));
  const runs = (h: string, revision: string): boolean => statusOf(h).includes(`| running | \`${revision}\` |`) && statusOf(h).includes('| result | converged |');
  const pids = async (h: Host): Promise<number[]> => (await h.pm2.jlist()).filter((p) => p.pm2_env.namespace === NS).map((p) => p.pid);

  beforeAll(async () => {
    repo = gitFixture();
    work = mkdtempSync(join(tmpdir(), 'pm2gt-rollout-'));
    repo.commit('v1', {
      'apps/web.cjs': app('v1', true),
      ...Object.fromEntries(HOSTS.map((h) => [`base/web-${h.name}.yaml`, task(h.name, h.port)])),
      'environments/prod/environment.yaml': ENVIRONMENT,
    });
    for (const h of HOSTS) {
      const pm2 = isolatedPm2(`pm2gt-rollout-${h.name}-`);
      const home = join(work, `home-${h.name}`);
      mkdirSync(home);
      const ctl = startController({ repo: repo.remote, env: { ...pm2.env, HOME: home }, args: ['--env', 'prod', '--host', h.name, '--host-timeout', '60s'] });
      hosts.push({ ...h, pm2, ctl });
    }
  });

  afterAll(async () => {
    for (const h of hosts) if (h.ctl.child.exitCode === null) await h.ctl.stop();
    for (const h of hosts) await h.pm2.kill();
    repo.cleanup();
    rmSync(work, { recursive: true, force: true });
  });

  it('[fleet-rollout] a failing revision stops after h1 (rolled back there), h2 and h3 keep theirs; a good one reaches all three in wave order', async () => {
    const v1 = repo.head();
    for (const h of hosts) await waitFor(`${h.name} runs v1`, () => runs(h.name, v1), 90_000, 250);
    // Even the first revision went in waves: h2 and h3 started only once h1 reported it healthy.
    for (const h of ['h2', 'h3']) expect(appliedAt(h, v1)).toBeGreaterThanOrEqual(convergedAt('h1', v1));
    for (const h of hosts) expect(await answer(h.port)).toBe('v1');
    const before = await Promise.all(hosts.map(pids));

    const v2 = repo.commit('v2: fails its health check', { 'apps/web.cjs': app('v2', false) });
    await waitFor('h1 rolled v2 back', () => statusOf('h1').includes('| result | **rolled back** to the last good revision |') && statusOf('h1').includes(`\`${v2}\``), 90_000, 250);
    await waitFor('the summary says where the rollout stopped', () => tryShow('status/prod.md')?.includes(`| rollout | stopped at wave 1: revision ${v2.slice(0, 12)} failed on h1 (rolled back to the last good revision); held back: h2, h3 |`), 30_000, 250);
    // Held back by the rollout is behind, not failed; h1, where v2 failed, is failed.
    expect(show('status/prod.md')).toContain('| hosts | 3: 0 up to date, 2 lagging, 1 failed, 0 lost |');
    for (const h of ['h2', 'h3']) {
      const text = statusOf(h);
      expect(text).toContain('| result | **waiting**');
      expect(text).toContain(`| running | \`${v1}\` |`);
      expect(text).toContain(`| rollout | wave 2 of 2: stopped, revision \`${v2.slice(0, 12)}\` failed in wave 1 on h1 (rolled back to the last good revision); this host keeps its revision |`);
      expect(evidence(h).some((e) => e.provenance.revision === v2 && e.actions.length > 0)).toBe(false);
    }
    expect(await answer(HOSTS[0].port)).toBe('v1');
    // h2 and h3 never touched their processes: same pids, old code.
    expect(await pids(hosts[1]!)).toEqual(before[1]);
    expect(await pids(hosts[2]!)).toEqual(before[2]);
    for (const h of hosts.slice(1)) expect(await answer(h.port)).toBe('v1');

    const v3 = repo.commit('v3: healthy', { 'apps/web.cjs': app('v3', true) });
    for (const h of hosts) await waitFor(`${h.name} runs v3`, () => runs(h.name, v3), 90_000, 250);
    for (const h of ['h2', 'h3']) expect(appliedAt(h, v3)).toBeGreaterThanOrEqual(convergedAt('h1', v3));
    for (const h of hosts) expect(await answer(h.port)).toBe('v3');
    await waitFor('the summary shows the rollout done', () => tryShow('status/prod.md')?.includes('| rollout | no host held back |'), 30_000, 250);
  }, 300_000);

  it('[fleet-rollout-rules] a host named in two waves is invalid: exit 2 at its JSON path, nothing runs differently', async () => {
    const before = await Promise.all(hosts.map(pids));
    const broken = ENVIRONMENT.replace('rollout: { waves: [[h1], [h2, h3]] }', 'rollout: { waves: [[h1], [h2, h1]] }');
    const bad = repo.commit('a host in two waves', { 'environments/prod/environment.yaml': broken });
    const r = await cli(['render', '--repo', repo.work, '--env', 'prod']);
    expect(r.code).toBe(2);
    expect(r.stderr).toContain('environments/prod/environment.yaml');
    expect(r.stderr).toContain('/spec/rollout/waves/1/1');
    expect(r.stderr).toContain('must name a host that no earlier wave names');
    for (const h of hosts) await waitFor(`${h.name} reports the invalid revision`, () => statusOf(h.name).includes(`\`${bad}\``) && statusOf(h.name).includes('| result | **invalid manifests**'), 60_000, 250);
    expect(await Promise.all(hosts.map(pids))).toEqual(before);
  });
});
