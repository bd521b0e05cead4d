import { mkdirSync, mkdtempSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { cli } from './helpers/cli.js';
import { startController, waitFor, type RunningController } from './helpers/controller.js';
import { git, gitFixture, type GitFixture } from './helpers/git.js';
import { isolatedPm2, type IsolatedPm2 } from './helpers/pm2.js';

const STATUS = 'pm2-gitops/status';
const NS = 'fleet-hosts';
const PUSHES = 20;

/** Three hosts: two web servers and one worker, each with the labels its controller is started with. */
const HOSTS = [
  { name: 'h1', labels: ['role=web', 'zone=a'], tasks: ['agent', 'web'] },
  { name: 'h2', labels: ['role=web', 'zone=b'], tasks: ['agent', 'web'] },
  { name: 'h3', labels: ['role=worker'], tasks: ['agent', 'batch'] },
] as const;

const IDLE_CJS = 'setInterval(() => {}, 1 << 30);\n';

function task(name: string, targeting: string): string {
  return `apiVersion: pm2-gitops/v1
kind: Task
metadata: { name: ${name} }
spec:
${targeting}  health: { minUptimeSeconds: 0.2, timeoutSeconds: 20 }
  process: { script: apps/idle.cjs }
`;
}

function environment(round: number): string {
  return `apiVersion: pm2-gitops/v1
kind: Environment
metadata: { name: dev }
spec:
  resources: [../../base]
  namespace: ${NS}
  env: { ROUND: "${round}" }
  policy: { prune: true, selfHeal: true }
`;
}

interface Host {
  name: string;
  tasks: readonly string[];
  pm2: IsolatedPm2;
  home: string;
  keyDir: string;
  ctl: RunningController;
}

describe('a fleet of three hosts on one repository', () => {
  let repo: GitFixture;
  let work: string;
  const hosts: Host[] = [];

  const show = (path: string): string => git(repo.remote, ['show', `${STATUS}:${path}`]);
  const tryShow = (path: string): string | undefined => { try { return show(path); } catch { return undefined; } };
  const evidenceOf = (host: string): string[] => git(repo.remote, ['ls-tree', '--name-only', `${STATUS}:evidence/dev/${host}`]).split('\n').filter(Boolean).sort();
  const managed = async (h: Host): Promise<Array<{ name: string; round: string | undefined; status: string }>> =>
    (await h.pm2.jlist()).filter((p) => p.pm2_env.namespace === NS).map((p) => ({ name: p.name, round: p.pm2_env.env?.ROUND ?? (p.pm2_env as Record<string, unknown>).ROUND as string | undefined, status: p.pm2_env.status })).sort((a, b) => a.name.localeCompare(b.name));

  beforeAll(async () => {
    repo = gitFixture();
    work = mkdtempSync(join(tmpdir(), 'pm2gt-fleet-'));
    repo.commit('three tasks for three hosts', {
      'apps/idle.cjs': IDLE_CJS,
      'base/web.yaml': task('web', '  hostSelector: { role: web }\n'),
      'base/batch.yaml': task('batch', '  hosts: [h3]\n'),
      'base/agent.yaml': task('agent', ''),
      'environments/dev/environment.yaml': environment(0),
    });
    for (const h of HOSTS) {
      const pm2 = isolatedPm2(`pm2gt-fleet-${h.name}-`);
      const home = join(work, `home-${h.name}`);
      mkdirSync(home);
      const keyDir = join(work, `keys-${h.name}`);
      expect((await cli(['keygen', '--out', keyDir])).code).toBe(0);
      const ctl = startController({
        repo: repo.remote,
        env: { ...pm2.env, HOME: home },
        args: ['--env', 'dev', '--host', h.name, ...h.labels.flatMap((l) => ['--host-label', l]), '--signing-key', join(keyDir, 'signing.key'), '--host-timeout', '8s'],
      });
      hosts.push({ name: h.name, tasks: h.tasks, pm2, home, keyDir, ctl });
    }
  });

  afterAll(async () => {
    for (const h of hosts) if (h.ctl.child.exitCode === null) await h.ctl.stop();
    for (const h of hosts) await h.pm2.kill();
    repo.cleanup();
    rmSync(work, { recursive: true, force: true });
  });

  it(`[fleet-hosts] each host runs only its tasks; after ${PUSHES} pushes made while they run, every host reports the newest revision and no report is lost`, async () => {
    const first = repo.head();
    for (const h of hosts) {
      await waitFor(`${h.name} reports the first revision`, () => tryShow(`status/dev/${h.name}.md`)?.includes(first), 60_000);
      expect((await managed(h)).map((p) => p.name)).toEqual(h.tasks);
    }

    let newest = first;
    for (let round = 1; round <= PUSHES; round++) {
      newest = repo.commit(`round ${round}`, { 'environments/dev/environment.yaml': environment(round) });
      await new Promise((r) => { setTimeout(r, 600); });
    }

    for (const h of hosts) {
      await waitFor(`${h.name} converged on the newest revision`, () => {
        const text = tryShow(`status/dev/${h.name}.md`);
        return text?.includes(`| running | \`${newest}\` |`) && text.includes('| result | converged |');
      }, 120_000, 250);
    }
    // Each daemon runs exactly its host's tasks, with the newest revision's env.
    for (const h of hosts) {
      const live = await managed(h);
      expect(live.map((p) => p.name)).toEqual(h.tasks);
      expect(live.every((p) => p.status === 'online' && p.round === String(PUSHES))).toBe(true);
    }
    await waitFor('the fleet summary shows three hosts up to date', () => tryShow('status/dev.md')?.includes('| hosts | 3: 3 up to date, 0 lagging, 0 failed, 0 lost |'), 30_000, 250);
    const summary = show('status/dev.md');
    if (process.env.FLEET_DEBUG) writeFileSync(process.env.FLEET_DEBUG, [summary, ...hosts.map((h) => `${h.name}: ${evidenceOf(h.name).length} reports`), git(repo.remote, ['rev-list', '--count', STATUS])].join('\n'));
    expect(summary).toContain(`| newest revision | \`${newest}\` |`);
    for (const h of hosts) expect(summary).toMatch(new RegExp(`\\| ${h.name} \\| up to date \\| converged \\| \`${newest.slice(0, 12)}\` \\|`));

    // No report lost: every report a controller says it wrote is on the remote, and each chain runs 1..n without a gap.
    for (const h of hosts) {
      const names = evidenceOf(h.name);
      const sequences = names.map((n) => (JSON.parse(show(`evidence/dev/${h.name}/${n}`)) as { sequence: number; host: string }).sequence);
      expect(sequences).toEqual(Array.from({ length: names.length }, (_, i) => i + 1));
      const written = h.ctl.logs().split('\n').filter((l) => l.includes('"evidence":"evidence/dev/')).map((l) => (JSON.parse(l) as { evidence: string }).evidence.split('/').pop()!);
      expect(new Set(written).size).toBe(written.length);
      expect([...written].sort()).toEqual(names);
      // The local clone holds no report the remote lacks.
      const clone = readdirSync(h.ctl.stateDir).map((d) => join(h.ctl.stateDir, d, 'status', 'evidence', 'dev', h.name)).find((d) => { try { readdirSync(d); return true; } catch { return false; } })!;
      expect(readdirSync(clone).sort()).toEqual(names);
      expect(names.length).toBeGreaterThanOrEqual(2);
    }
    // Per-host evidence never touches another host's chain or the single-host layout.
    expect(git(repo.remote, ['ls-tree', '--name-only', `${STATUS}:evidence/dev`]).split('\n').sort()).toEqual(['h1', 'h2', 'h3']);

    const keys = hosts.flatMap((h) => ['--public-key', join(h.keyDir, 'signing.pub')]);
    const all = await cli(['verify', '--repo', repo.remote, ...keys]);
    expect(all.code, all.stderr).toBe(0);
    for (const h of hosts) expect(all.stdout).toMatch(new RegExp(`^dev host ${h.name}: \\d+ reports?, all valid$`, 'm'));
    const one = await cli(['verify', '--repo', repo.remote, '--host', 'h2', '--public-key', join(hosts[1]!.keyDir, 'signing.pub')]);
    expect(one.code, one.stderr).toBe(0);
    expect(one.stdout.trim().split('\n')).toEqual([expect.stringMatching(/^dev host h2: \d+ reports?, all valid$/)]);
    // h1's key alone does not vouch for h3's chain.
    const wrongKey = await cli(['verify', '--repo', repo.remote, '--host', 'h3', '--public-key', join(hosts[0]!.keyDir, 'signing.pub')]);
    expect(wrongKey.code).toBe(5);
  }, 300_000);

  it('[fleet-targeting] status --host prints one host\'s status; render, plan and diff --host show that host\'s tasks', async () => {
    const h3 = await cli(['status', '--repo', repo.remote, '--env', 'dev', '--host', 'h3', '--json']);
    expect(h3.code).toBe(0);
    const parsed = JSON.parse(h3.stdout) as { environments: { dev: { fields: Record<string, string>; tasks: Array<{ task: string }> } } };
    expect(parsed.environments.dev.fields.host).toBe('h3');
    expect(parsed.environments.dev.tasks.map((t) => t.task)).toEqual(['agent', 'batch']);

    const names = async (args: string[]): Promise<string[]> => {
      const r = await cli(['render', '--repo', repo.work, '--env', 'dev', '--json', ...args]);
      expect(r.code, r.stderr).toBe(0);
      return (JSON.parse(r.stdout) as { tasks: Array<{ name: string }> }).tasks.map((t) => t.name);
    };
    expect(await names([])).toEqual(['agent', 'batch', 'web']);
    expect(await names(['--host', 'h1', '--host-label', 'role=web'])).toEqual(['agent', 'web']);
    expect(await names(['--host', 'h3'])).toEqual(['agent', 'batch']);
    expect(await names(['--host', 'other', '--host-label', 'role=web'])).toEqual(['agent', 'web']);

    // h2's daemon, seen as h2: nothing to do; seen as h3 (another host's tasks), web goes and batch comes.
    const h2 = hosts[1]!;
    // The controller's state dir: the same builds and code paths, so an unchanged host plans nothing.
    const stateDir = h2.ctl.stateDir;
    const same = await cli(['diff', '--repo', repo.work, '--env', 'dev', '--host', 'h2', '--host-label', 'role=web', '--state-dir', stateDir], { env: h2.pm2.env });
    expect(same.code, same.stdout + same.stderr).toBe(0);
    const other = await cli(['plan', '--repo', repo.work, '--env', 'dev', '--host', 'h3', '--json', '--state-dir', stateDir], { env: h2.pm2.env });
    expect(other.code, other.stderr).toBe(0);
    const actions = (JSON.parse(other.stdout) as { actions: Array<{ task: string; action: string }> }).actions.map((a) => `${a.action} ${a.task}`).sort();
    expect(actions).toContain('create batch');
    expect(actions).toContain('delete web');

    const bad = await cli(['render', '--repo', repo.work, '--env', 'dev', '--host-label', 'not-a-label']);
    expect(bad.code).toBe(2);
    expect(bad.stderr).toContain('--host-label #1: expected KEY=VALUE');
  }, 120_000);

  it('[fleet-lost] a host that stops reporting shows as lost in the summary, the others as up to date', async () => {
    expect(await hosts[2]!.ctl.stop()).toBe(0);
    await waitFor('h3 shown as lost', () => tryShow('status/dev.md')?.includes('| lost | h3 |'), 60_000, 500);
    const summary = show('status/dev.md');
    expect(summary).toContain('| hosts | 3: 2 up to date, 0 lagging, 0 failed, 1 lost |');
    expect(summary).toMatch(/\| h3 \| \*\*lost\*\* \(no status within the host timeout\) \|/);
    // Its own status file is left as it last wrote it.
    expect(show('status/dev/h3.md')).toContain('| result | converged |');
  }, 120_000);
});
