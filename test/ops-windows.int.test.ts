import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { waitFor } from './helpers/controller.js';
import { git, gitFixture, type GitFixture } from './helpers/git.js';
import { inProcessController, type InProcessController } from './helpers/in-process-controller.js';
import { isolatedPm2, type IsolatedPm2 } from './helpers/pm2.js';
import { tinyRepo } from './helpers/tiny-repo.js';

const WINDOW_PORT = 27810;
const RETRY_PORT = 27811;

async function greeting(port: number): Promise<string | undefined> {
  try {
    const res = await fetch(`http://127.0.0.1:${port}/`, { signal: AbortSignal.timeout(1_000) });
    return ((await res.json()) as { greeting: string }).greeting;
  } catch {
    return undefined;
  }
}

describe('sync windows and retries of a controller with an injected clock', () => {
  let pm2: IsolatedPm2;
  let repo: GitFixture;
  let ctl: InProcessController | undefined;
  /** The controller's clock: the wall clock moved by `offset`. */
  let offset = 0;
  const setClock = (iso: string): void => { offset = Date.parse(iso) - Date.now(); };
  const statusOf = (env: string): string => git(repo.remote, ['show', `pm2-gitops/status:status/${env}.md`]);
  const lastReport = (env: string) => ctl!.reports.filter((r) => r.environment === env).at(-1);

  beforeAll(() => {
    pm2 = isolatedPm2('pm2gt-ops-');
  });

  afterAll(async () => {
    await ctl?.stop();
    await pm2?.kill();
    repo?.cleanup();
  });

  it('[ops-sync-window] a push inside a deny window waits until it ends; drift is healed meanwhile (selfHeal)', async () => {
    repo = gitFixture(undefined, 'pm2gt-ops-win-');
    const policy = '    syncWindows:\n      - { kind: deny, schedule: "0 22 * * *", duration: 8h, selfHeal: true }\n';
    repo.commit('initial', tinyRepo({ env: 'night', namespace: 'ops-win', port: WINDOW_PORT, greeting: 'hello', policy }));
    setClock('2026-12-02T21:00:00Z');
    ctl = await inProcessController({ repo: repo.remote, pm2Home: pm2.home, environments: ['night'], now: () => new Date(Date.now() + offset) });
    await waitFor('the first revision to run', async () => (await greeting(WINDOW_PORT)) === 'hello', 60_000, 200);

    setClock('2026-12-02T22:30:00Z');
    const tip = repo.commit('say bonjour', tinyRepo({ env: 'night', namespace: 'ops-win', port: WINDOW_PORT, greeting: 'bonjour', policy }));
    const waiting = await waitFor('the push to wait for its window', () => { const r = lastReport('night'); return r?.tip === tip && r.outcome === 'waiting' ? r : undefined; }, 30_000);
    expect(waiting.problems).toContain(`revision ${tip} waits for its sync window: deny "0 22 * * *" for 8h until 2026-12-03T06:00:00.000Z`);
    const status = await waitFor('the status to say so', () => { const s = statusOf('night'); return s.includes('**waiting**') ? s : undefined; }, 10_000);
    expect(status).toContain(`| message | revision ${tip} waits for its sync window: deny "0 22 * * *" for 8h until 2026-12-03T06:00:00.000Z |`);
    expect(await greeting(WINDOW_PORT)).toBe('hello');

    // The running revision is still self-healed inside the window (selfHeal: true).
    const stopped = await pm2.pm2(['stop', 'web', '--namespace', 'ops-win']);
    expect(stopped.code, stopped.stderr).toBe(0);
    const healed = await waitFor('web to be healed', () => ctl!.reports.find((r) => r.healed && r.tip === tip), 30_000, 200);
    expect(healed.outcome).toBe('waiting');
    expect(healed.results.map((a) => `${a.action} ${a.task} ${a.result}`)).toEqual(['start web ok']);
    expect(await greeting(WINDOW_PORT)).toBe('hello');

    setClock('2026-12-03T06:00:30Z');
    await waitFor('the push to be applied once the window ended', () => lastReport('night')?.outcome === 'converged' && lastReport('night')?.running === tip, 30_000, 200);
    expect(await greeting(WINDOW_PORT)).toBe('bonjour');
    await waitFor('the status to say converged', () => statusOf('night').includes('| result | converged |'), 10_000);
    expect(lastReport('night')).toMatchObject({ tip, running: tip, outcome: 'converged' });
    await ctl.stop();
    ctl = undefined;
    await pm2.pm2(['delete', 'all', '--namespace', 'ops-win']);
  }, 180_000);

  it('[ops-retry] a failed apply is tried again after 1 s, then 2 s, then marked bad; the last good revision runs in between', async () => {
    repo = gitFixture(undefined, 'pm2gt-ops-retry-');
    const policy = '    retry: { limit: 2, backoff: { duration: 1s, factor: 2, maxDuration: 1m } }\n';
    const files = (greeting: string): Record<string, string> => {
      const f = tinyRepo({ env: 'shaky', namespace: 'ops-retry', port: RETRY_PORT, greeting, policy });
      f['base/web.yaml'] = f['base/web.yaml']!.replace('timeoutSeconds: 10', 'timeoutSeconds: 2');
      return f;
    };
    repo.commit('initial', files('hello'));
    offset = 0;
    ctl = await inProcessController({ repo: repo.remote, pm2Home: pm2.home, environments: ['shaky'], now: () => new Date() });
    const good = (await waitFor('the first revision to run', () => ctl!.reports.find((r) => r.outcome === 'converged'), 60_000, 200)).tip;
    expect(await greeting(RETRY_PORT)).toBe('hello');

    const broken = { ...files('broken'), 'apps/server.cjs': 'process.exit(1);\n' };
    const tip = repo.commit('a web that cannot start', broken);
    const bad = await waitFor('the retries to be used up', () => ctl!.reports.find((r) => r.tip === tip && r.problems.some((p) => p.includes('not retried until a new commit'))), 90_000, 200);
    const mine = ctl.reports.filter((r) => r.tip === tip);
    const attempts = mine.filter((r) => r.outcome === 'failed' && r.results.some((a) => a.task === 'web'));
    const attemptLines = attempts.flatMap((r) => r.problems.filter((p) => /attempt \d of 3 failed|failed 3 times/.test(p)));
    expect(attemptLines.map((p) => p.replace(/at \S+$/, 'at T'))).toEqual([
      'attempt 1 of 3 failed; the next attempt is at T',
      'attempt 2 of 3 failed; the next attempt is at T',
      `revision ${tip} failed 3 times (retry limit 2); not retried until a new commit`,
    ]);
    // The waits between attempts: at least the backoff (1 s, then 2 s).
    const times = attempts.map((r) => Date.parse(r.at));
    expect(times[1]! - times[0]!).toBeGreaterThanOrEqual(1_000);
    expect(times[2]! - times[1]!).toBeGreaterThanOrEqual(2_000);
    expect(mine.some((r) => r.outcome === 'waiting' && r.problems.some((p) => p.startsWith(`revision ${tip} failed (`) && p.includes('attempt 2 of 3 at')))).toBe(true);
    expect(bad.outcome).toBe('failed');
    await waitFor('the last good revision to serve again', async () => (await greeting(RETRY_PORT)) === 'hello', 30_000, 200);
    expect(lastReport('shaky')?.running).toBe(good);
    await waitFor('the status to list the bad revision', () => statusOf('shaky').includes(`- \`${tip}\`: revision ${tip} failed 3 times`), 10_000);

    // No more attempts: the count stays while nothing changes.
    const count = ctl.reports.filter((r) => r.tip === tip && r.results.some((a) => a.task === 'web' && a.result !== 'ok')).length;
    await new Promise((r) => { setTimeout(r, 4_000); });
    expect(ctl.reports.filter((r) => r.tip === tip && r.results.some((a) => a.task === 'web' && a.result !== 'ok')).length).toBe(count);

    const fixed = repo.commit('fixed', files('fixed'));
    await waitFor('a new commit to be applied', () => lastReport('shaky')?.running === fixed, 60_000, 200);
    expect(lastReport('shaky')).toMatchObject({ tip: fixed, outcome: 'converged' });
    expect(await greeting(RETRY_PORT)).toBe('fixed');
  }, 240_000);
});
