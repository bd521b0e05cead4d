import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { controllerWait, startController, type RunningController } from './helpers/controller.js';
import { git, gitFixture, type GitFixture } from './helpers/git.js';
import { isolatedPm2, type IsolatedPm2 } from './helpers/pm2.js';
import { tinyRepo } from './helpers/tiny-repo.js';

const PORT = 26040;
const NS = 'rb-gitops';
const STATUS = 'pm2-gitops/status';
const BROKEN_CJS = `throw new Error('this release cannot start');\n`;

interface LogLine { msg?: string; revision?: string; reasons?: string[]; actions?: number }

async function greeting(): Promise<unknown> {
  const res = await fetch(`http://127.0.0.1:${PORT}/`);
  return ((await res.json()) as { greeting?: unknown }).greeting;
}

describe('rollback (policy.rollback)', () => {
  let pm2: IsolatedPm2;
  let repo: GitFixture;
  let ctl: RunningController;
  const waitFor = controllerWait(() => ctl, () => statusText());
  let good = '';
  let bad = '';

  const statusText = (): string => git(repo.remote, ['show', `${STATUS}:status/dev.md`]);
  const evidenceOf = (sha: string): string[] => git(repo.remote, ['ls-tree', '--name-only', `${STATUS}:evidence/dev`]).split('\n').filter((n) => n.endsWith(`-${sha.slice(0, 12)}.json`));
  const logLines = (from = 0): LogLine[] => ctl.logs().slice(from).split('\n').filter((l) => l.startsWith('{')).map((l) => JSON.parse(l) as LogLine);

  async function namespace(): Promise<Array<[string, number, number, number]>> {
    return (await pm2.jlist()).filter((p) => p.pm2_env.namespace === NS)
      .map((p): [string, number, number, number] => [p.name, p.pm_id, p.pid, p.pm2_env.restart_time])
      .sort((a, b) => a[1] - b[1]);
  }

  beforeAll(() => {
    pm2 = isolatedPm2();
    repo = gitFixture();
    good = repo.commit('initial', { ...tinyRepo({ env: 'dev', namespace: NS, port: PORT, greeting: 'good-1', policy: '    rollback: true\n' }), 'apps/broken.cjs': BROKEN_CJS });
    ctl = startController({ repo: repo.remote, env: pm2.env, args: ['--env', 'dev', '--resync', '1s'] });
  });

  afterAll(async () => {
    if (ctl.child.exitCode === null) await ctl.stop();
    await pm2.kill();
    repo.cleanup();
  });

  it('applies the first revision', async () => {
    await waitFor('status for the first revision', () => { try { return statusText().includes(good) && statusText().includes('| result | converged |'); } catch { return false; } });
    expect(await greeting()).toBe('good-1');
  });

  it('returns to the last good revision when a pushed service fails health, and marks the bad revision', async () => {
    const web = repo.read('base/web.yaml');
    bad = repo.commit('a release that cannot start', { 'base/web.yaml': web.replace('apps/server.cjs', 'apps/broken.cjs').replace('GREETING: good-1', 'GREETING: bad') });
    const status = await waitFor('status for the bad revision', () => { const s = statusText(); return s.includes(bad) ? s : undefined; }, 45_000);
    expect(status).toContain('| result | **rolled back** to the last good revision |');
    expect(status).toContain(`| running | \`${good}\` |`);
    expect(status).toContain(`Rolled back from \`${bad}\` to \`${good}\`: web: `);
    expect(status).toContain('## Bad revisions (not retried until a new commit)');
    expect(status).toMatch(new RegExp(`- \`${bad}\`: web: errored in PM2`));

    expect(await greeting()).toBe('good-1');
    const webProc = (await pm2.jlist()).find((p) => p.name === 'web' && p.pm2_env.namespace === NS)!;
    expect(webProc.pm2_env.status).toBe('online');
    expect(String(webProc.pm2_env.pm_exec_path)).toMatch(/apps\/server\.cjs$/);

    const [file] = evidenceOf(bad);
    const report = JSON.parse(git(repo.remote, ['show', `${STATUS}:evidence/dev/${file!}`])) as { outcome: string; rollback: { from: string; to: string }; actions: Array<{ task: string; action: string; result: string }> };
    expect(report.outcome).toBe('rolled-back');
    expect(report.rollback).toMatchObject({ from: bad, to: good });
    const webActions = report.actions.filter((a) => a.task === 'web').map((a) => a.result);
    expect(webActions).toEqual(['failed', 'ok']);
  });

  it('does not retry the bad revision on later resyncs', async () => {
    const before = await namespace();
    const offset = ctl.logs().length;
    await waitFor('three resync passes', () => logLines(offset).filter((l) => l.msg === 'reconciling' && l.reasons?.includes('interval')).length >= 3 && logLines(offset).filter((l) => l.msg === 'dev: rolled-back').length >= 3, 30_000);
    const later = logLines(offset);
    expect(later.filter((l) => l.msg === 'applying plan' && l.revision === bad)).toEqual([]);
    expect(later.filter((l) => l.msg === 'applying plan' && (l.actions ?? 0) > 0)).toEqual([]);
    expect(await namespace()).toEqual(before);
    expect(await greeting()).toBe('good-1');
    const status = statusText();
    expect(status).toContain('| result | **rolled back** to the last good revision |');
    expect(status).toContain(`Rolled back from \`${bad}\` to \`${good}\``);
    expect(evidenceOf(bad)).toHaveLength(1);
  });

  it('applies the next commit normally', async () => {
    const web = repo.read('base/web.yaml');
    const fixed = repo.commit('fix the release', { 'base/web.yaml': web.replace('apps/broken.cjs', 'apps/server.cjs').replace('GREETING: bad', 'GREETING: good-2') });
    const status = await waitFor('status for the fix', () => { const s = statusText(); return s.includes(fixed) && s.includes('| result | converged |') ? s : undefined; });
    expect(status).toContain(`| running | \`${fixed}\` |`);
    expect(status).not.toContain('## Rollback');
    expect(status).toContain(`- \`${bad}\`: web: errored in PM2`);
    expect(await greeting()).toBe('good-2');
    expect(evidenceOf(fixed)).toHaveLength(1);
  });
});
