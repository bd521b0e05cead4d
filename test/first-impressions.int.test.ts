/**
 * A controller's first minutes as a new user sees them: its log lines carry
 * each key once, and its own pushes (the status branch, the applied refs)
 * never start another pass.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { controllerWait, startController, type RunningController } from './helpers/controller.js';
import { git, gitFixture, type GitFixture } from './helpers/git.js';
import { duplicateKeys } from './helpers/json-keys.js';
import { isolatedPm2, type IsolatedPm2 } from './helpers/pm2.js';
import { tinyRepo } from './helpers/tiny-repo.js';

const PORT = 27550;
const NS = 'first-impressions';

interface LogLine { msg: string; reason?: string; reasons?: string[]; environment?: string; revision?: string }

function statusText(repo: string): string {
  return git(repo, ['show', 'pm2-gitops/status:status/dev.md']);
}

const lines = (ctl: RunningController): string[] => ctl.logs().split('\n').filter((l) => l.startsWith('{'));
const parsed = (ctl: RunningController): LogLine[] => lines(ctl).map((l) => JSON.parse(l) as LogLine);
const passes = (ctl: RunningController): LogLine[] => parsed(ctl).filter((l) => l.msg === 'reconciling');
const sleep = (ms: number): Promise<void> => new Promise((r) => { setTimeout(r, ms); });

describe('a controller after its start', () => {
  let pm2: IsolatedPm2;
  let repo: GitFixture;
  let ctl: RunningController;
  const waitFor = controllerWait(() => ctl, () => statusText(repo.remote));

  beforeAll(() => {
    pm2 = isolatedPm2();
    repo = gitFixture();
    repo.commit('initial', tinyRepo({ env: 'dev', namespace: NS, port: PORT, greeting: 'hello', secret: 'tok-first-impr-51c2' }));
    ctl = startController({ repo: repo.remote, env: pm2.env, args: ['--env', 'dev'] });
  });

  afterAll(async () => {
    if (ctl.child.exitCode === null) await ctl.stop();
    await pm2.kill();
    repo.cleanup();
  });

  it('[first-own-refs] runs exactly one pass after its start when no commit comes: its own status branch and applied refs trigger none', async () => {
    const head = repo.head();
    await waitFor('status for the first revision', () => { try { return statusText(repo.remote).includes(head); } catch { return false; } });
    await waitFor('the applied ref', () => git(repo.remote, ['for-each-ref', '--format=%(refname)', 'refs/pm2-gitops/applied/']).includes(head));
    // Longer than the watcher and a few fetch intervals (1 s) take to notice a ref change.
    await sleep(4_000);
    expect(passes(ctl).map((p) => p.reasons)).toEqual([['start']]);
    const queued = parsed(ctl).filter((l) => l.msg === 'reconcile queued').map((l) => l.reason);
    expect(queued).toEqual(['start']);
  });

  it('[first-own-refs] a pushed commit is still seen by the watcher, and only the branch it follows counts as a ref change', async () => {
    const sha = repo.commit('greet differently', { 'base/web.yaml': repo.read('base/web.yaml').replace('GREETING: hello', 'GREETING: salut') });
    await waitFor('status for the new revision', () => statusText(repo.remote).includes(sha));
    await waitFor('the applied ref of the new revision', () => git(repo.remote, ['for-each-ref', '--format=%(refname)', 'refs/pm2-gitops/applied/']).includes(sha));
    await sleep(3_000);
    const changes = parsed(ctl).filter((l) => l.msg === 'repository ref changed') as Array<LogLine & { event: string; path: string }>;
    // Git may show its lock file of main too; nothing else is news.
    expect(changes.length).toBeGreaterThan(0);
    for (const c of changes) expect(c.path.slice(repo.remote.length)).toMatch(/^\/refs\/heads\/main(\.lock)?$/);
    expect(passes(ctl).some((p) => p.revision === sha)).toBe(true);
  });

  it('[first-log-keys] no log line carries a key twice', async () => {
    await waitFor('the outcome of a pass in the log', () => lines(ctl).some((l) => l.includes('"msg":"dev: converged"')));
    const text = lines(ctl);
    expect(text.length).toBeGreaterThan(5);
    // The reconcile's own lines name the environment, once.
    const applying = text.filter((l) => l.includes('"msg":"applying plan"'));
    expect(applying.length).toBeGreaterThan(0);
    for (const l of applying) expect((JSON.parse(l) as LogLine).environment).toBe('dev');
    expect(text.map((l) => [duplicateKeys(l), l]).filter(([d]) => d!.length)).toEqual([]);
  });
});
