/**
 * A commit that breaks one environment of two, reconciled by one controller:
 * the broken one reports its failure and keeps running (and healing) its last
 * good revision, the other converges on the same commit.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { controllerWait, startController, type RunningController } from './helpers/controller.js';
import { git, gitFixture, type GitFixture } from './helpers/git.js';
import { isolatedPm2, type IsolatedPm2, type JlistEntry } from './helpers/pm2.js';

const PORT = { a: 24220, b: 24221 };
const STATUS = 'pm2-gitops/status';

const SERVER_CJS = `require('node:http').createServer((q, s) => s.end(JSON.stringify({ pid: process.pid, greeting: process.env.GREETING }))).listen(Number(process.env.PORT), '127.0.0.1');\n`;

function web(greeting: string): string {
  return `apiVersion: pm2-gitops/v1
kind: Task
metadata: { name: web }
spec:
  health: { minUptimeSeconds: 0.2, timeoutSeconds: 10 }
  process:
    script: apps/server.cjs
    env: { GREETING: ${greeting} }
`;
}

function environment(env: 'a' | 'b', extra = ''): string {
  return `apiVersion: pm2-gitops/v1
kind: Environment
metadata: { name: ${env} }
spec:
  resources: [../../base]
  namespace: bcr-${env}
  policy: { prune: true, selfHeal: true }
  patches:
    - target: { name: web }
      merge: { spec: { process: { env: { PORT: "${PORT[env]}" }${extra} } } }
`;
}

async function greeting(env: 'a' | 'b'): Promise<unknown> {
  return ((await (await fetch(`http://127.0.0.1:${PORT[env]}/`)).json()) as { greeting?: unknown }).greeting;
}

interface Report { outcome: string; reason?: string; actions: unknown[]; problems: string[] }

describe('a commit that breaks one environment', () => {
  let pm2: IsolatedPm2;
  let repo: GitFixture;
  let ctl: RunningController;
  let first = '';
  let broken = '';
  const status = (env: string): string => git(repo.remote, ['show', `${STATUS}:status/${env}.md`]);
  const waitFor = controllerWait(() => ctl, () => `${status('a')}\n${status('b')}`);
  const webOf = async (env: 'a' | 'b'): Promise<JlistEntry | undefined> => (await pm2.jlist()).find((p) => p.name === 'web' && p.pm2_env.namespace === `bcr-${env}`);
  const reports = (env: string, sha: string): Report[] => git(repo.remote, ['ls-tree', '--name-only', `${STATUS}:evidence/${env}`]).split('\n')
    .filter((n) => n.endsWith(`-${sha.slice(0, 12)}.json`))
    .map((n) => JSON.parse(git(repo.remote, ['show', `${STATUS}:evidence/${env}/${n}`])) as Report);

  beforeAll(() => {
    pm2 = isolatedPm2();
    repo = gitFixture();
    first = repo.commit('initial', { 'apps/server.cjs': SERVER_CJS, 'base/web.yaml': web('one'), 'environments/a/environment.yaml': environment('a'), 'environments/b/environment.yaml': environment('b') });
    ctl = startController({ repo: repo.remote, env: pm2.env, args: ['--resync', '1s'] });
  });

  afterAll(async () => {
    if (ctl.child.exitCode === null) await ctl.stop();
    await pm2.kill();
    repo.cleanup();
  });

  it('applies the first revision to both environments', async () => {
    await waitFor('both environments converged', () => {
      try { return ['a', 'b'].every((e) => status(e).includes(first) && status(e).includes('| result | converged |')); } catch { return false; }
    });
    expect(await greeting('a')).toBe('one');
    expect(await greeting('b')).toBe('one');
  });

  it('[broken-commit-reported] an interpreter PM2 rejects fails env a (reported with its reason) while env b converges on the same commit', async () => {
    const before = await webOf('a');
    broken = repo.commit('greet twice; a runs on an interpreter this host lacks', {
      'base/web.yaml': web('two'),
      'environments/a/environment.yaml': environment('a', ', exec_interpreter: nonexistent-interp'),
    });
    await waitFor('b converged on the new commit', () => status('b').includes(broken) && status('b').includes('| result | converged |'));
    expect(await greeting('b')).toBe('two');

    const a = await waitFor('a to report the failure', () => { const s = status('a'); return s.includes(broken) && s.includes('| reason |') ? s : undefined; });
    expect(a).toContain('| result | **failed** (the last good state keeps running) |');
    expect(a).toContain('| reason | pm2-rejected |');
    expect(a).toMatch(/\| message \| .*Interpreter nonexistent-interp is NOT AVAILABLE/);
    expect(a).toContain(`| running | \`${first}\` |`);
    expect(a).not.toMatch(/\n\s+at /);
    // The last good revision keeps running, untouched.
    expect(await greeting('a')).toBe('one');
    const after = await webOf('a');
    expect([after?.pid, after?.pm2_env.restart_time]).toEqual([before?.pid, before?.pm2_env.restart_time]);
    const failed = reports('a', broken);
    expect(failed.map((r) => [r.outcome, r.reason])).toEqual([['failed', 'pm2-rejected']]);
  });

  it('[broken-commit-reported] the broken environment keeps self-healing its last good revision', async () => {
    const stopped = await webOf('a');
    expect((await pm2.pm2(['stop', String(stopped!.pm_id)])).code).toBe(0);
    const healed = await waitFor('a web online again', async () => {
      const p = await webOf('a');
      return p?.pm2_env.status === 'online' && p.pid !== stopped!.pid ? p : undefined;
    }, 20_000, 200);
    expect(healed.pm_id).toBe(stopped!.pm_id);
    expect(await waitFor('a to answer again', async () => { try { return await greeting('a'); } catch { return undefined; } })).toBe('one');
    // Later passes change nothing and report the same failure only once.
    const seen = ctl.logs().length;
    await waitFor('two more passes', () => (ctl.logs().slice(seen).match(/"msg":"a: failed"/g) ?? []).length >= 2, 20_000);
    const failures = reports('a', broken).filter((r) => r.actions.length === 0);
    expect(failures).toHaveLength(1);
    expect(status('b')).toContain('| result | converged |');
  });

  it('[broken-commit-reported] the next good commit applies to the broken environment again', async () => {
    const fixed = repo.commit('a back on node', { 'environments/a/environment.yaml': environment('a') });
    await waitFor('a converged on the fix', () => status('a').includes(fixed) && status('a').includes('| result | converged |'));
    expect(await greeting('a')).toBe('two');
    expect(status('a')).not.toContain('| reason |');
  });

  it('[broken-commit-reported] manifests the parser cannot read (an unresolved alias, a !!binary tag) in env a\'s files are reported there; env b converges and both keep healing', async () => {
    const bad = repo.commit('an alias without its anchor, and binary data', {
      'environments/a/environment.yaml': environment('a').replace('namespace: bcr-a', 'namespace: *missing'),
      'environments/a/notes.yaml': 'apiVersion: pm2-gitops/v1\nkind: Task\nmetadata: { name: notes }\nspec:\n  process: { script: !!binary aGVsbG8= }\n',
    });
    const reported = (env: string): string | undefined => { const s = status(env); return s.includes(bad) ? s : undefined; };
    const a = await waitFor('a to report the commit', () => reported('a'));
    expect(a).not.toContain('| result | converged |');
    expect(a).toContain('environments/a/environment.yaml');
    expect(a).not.toMatch(/\n\s+at /);
    expect(await waitFor('b to report the commit', () => reported('b'))).toContain('| result | converged |');
    expect(await greeting('a')).toBe('two');
    const stopped = await webOf('b');
    expect((await pm2.pm2(['stop', String(stopped!.pm_id)])).code).toBe(0);
    await waitFor('b web online again', async () => { const p = await webOf('b'); return p?.pm2_env.status === 'online' && p.pid !== stopped!.pid; }, 20_000, 200);
  });
});
