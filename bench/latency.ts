/**
 * Push-to-action latency of the controller on a local repository (watched
 * refs): 20 pushes, each changing one env value; for each, the time from the
 * end of `git push` to the start of the first PM2 action of that revision, and
 * to the changed service being healthy again, read from the evidence report.
 * Target: median and p95 push-to-action under 1 s.
 */
import { execFileSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { startController, waitFor } from '../test/helpers/controller.js';
import { git, gitFixture } from '../test/helpers/git.js';
import { isolatedPm2 } from '../test/helpers/pm2.js';
import { tinyRepo } from '../test/helpers/tiny-repo.js';

const PUSHES = 20;
const PORT = 26100;

function percentile(sorted: number[], p: number): number {
  return sorted[Math.min(sorted.length - 1, Math.ceil((p / 100) * sorted.length) - 1)]!;
}

interface Timing { first: number; webHealthy: number }

function evidenceFor(remote: string, sha: string): Timing | undefined {
  let names: string[];
  try { names = git(remote, ['ls-tree', '--name-only', 'pm2-gitops/status:evidence/bench']).split('\n'); } catch { return undefined; }
  const name = names.find((n) => n.endsWith(`-${sha.slice(0, 12)}.json`));
  if (!name) return undefined;
  const report = JSON.parse(git(remote, ['show', `pm2-gitops/status:evidence/bench/${name}`])) as { actions: Array<{ task: string; startedAt: string; durationMs: number }> };
  const web = report.actions.find((a) => a.task === 'web');
  if (!web || report.actions.length === 0) return undefined;
  return { first: Math.min(...report.actions.map((a) => Date.parse(a.startedAt))), webHealthy: Date.parse(web.startedAt) + web.durationMs };
}

async function main(): Promise<void> {
  execFileSync(process.execPath, ['node_modules/typescript/bin/tsc', '-p', 'tsconfig.json'], { stdio: 'inherit' });
  const pm2 = isolatedPm2('pm2gt-lat-');
  const repo = gitFixture(undefined, 'pm2gt-lat-git-');
  const stateDir = mkdtempSync(join(tmpdir(), 'pm2gt-lat-state-'));
  let ctl;
  try {
    repo.commit('initial', tinyRepo({ env: 'bench', namespace: 'bench-latency', port: PORT, greeting: 'g0' }));
    ctl = startController({ repo: repo.remote, env: pm2.env, stateDir, args: ['--env', 'bench', '--interval', '30s'] });
    const first = repo.head();
    await waitFor('the first revision', () => git(repo.remote, ['show', 'pm2-gitops/status:status/bench.md']).includes(first), 60_000);
    const toAction: number[] = [];
    const toHealthy: number[] = [];
    for (let i = 1; i <= PUSHES; i++) {
      const sha = repo.commit(`greeting ${i}`, { 'base/web.yaml': repo.read('base/web.yaml').replace(/GREETING: g\d+/, `GREETING: g${i}`) });
      const pushedAt = Date.now();
      const action = await waitFor(`evidence for push ${i}`, () => evidenceFor(repo.remote, sha), 60_000, 20);
      toAction.push(action.first - pushedAt);
      toHealthy.push(action.webHealthy - pushedAt);
    }
    const a = [...toAction].sort((x, y) => x - y);
    const h = [...toHealthy].sort((x, y) => x - y);
    console.log(`push-to-action latency over ${PUSHES} pushes (local repository, refs watched; fetch interval 30s):`);
    console.log(`  push → first action   : median ${percentile(a, 50)} ms, p95 ${percentile(a, 95)} ms, min ${a[0]} ms, max ${a[a.length - 1]} ms   (target: under 1000 ms)`);
    console.log(`  push → task healthy   : median ${percentile(h, 50)} ms, p95 ${percentile(h, 95)} ms   (the revision's job runs first, then the service restarts and passes its HTTP check)`);
  } finally {
    if (ctl && ctl.child.exitCode === null) await ctl.stop();
    await pm2.kill();
    repo.cleanup();
    rmSync(stateDir, { recursive: true, force: true });
  }
}

await main();
