/**
 * Code digest cost at scale: 200 tasks, each with its own folder of 20 files
 * under apps/, a shared lib/ and manifests beside them, in a bare mirror and
 * its working clone.
 *
 * (a) Mirror: `readCommitCode` for all 200 tasks at one commit (one
 *     `git ls-tree -r` for all of them), cold and repeated.
 * (b) Working tree: `readWorkingTreeCode` for all 200 tasks, the first time
 *     (every source file hashed into the private index) and then on an
 *     unchanged tree (stat data cached: nothing hashed again), and after one
 *     file changed.
 * Checked: both ways give identical digests. Printed: median and worst of 9
 * runs. No target is asserted; a no-op reading of 200 tasks should take a few
 * tens of milliseconds.
 */
import { execFileSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { readCommitCode, readWorkingTreeCode } from '../src/delivery/read-code.js';
import type { CodeSnapshot, CodeTask } from '../src/delivery/types.js';

const TASKS = 200;
const FILES = 20;
const RUNS = 9;

function git(cwd: string, args: string[]): string {
  return execFileSync('git', args, { cwd, encoding: 'utf8' }).trim();
}

function setup(root: string): { work: string; mirror: string; tasks: CodeTask[]; manifests: string[] } {
  const work = join(root, 'work');
  mkdirSync(work);
  git(work, ['init', '--quiet', '--initial-branch=main']);
  for (const [k, v] of [['user.name', 'bench'], ['user.email', 'bench@example.com'], ['gc.auto', '0'], ['commit.gpgsign', 'false']]) git(work, ['config', k!, v!]);
  writeFileSync(join(work, '.gitignore'), 'node_modules/\ndist/\n');
  const tasks: CodeTask[] = [];
  const manifests: string[] = [];
  for (let t = 0; t < TASKS; t++) {
    const dir = join(work, 'apps', `t${t}`);
    mkdirSync(join(dir, 'src'), { recursive: true });
    for (let f = 0; f < FILES; f++) writeFileSync(join(dir, 'src', `m${f}.js`), `module.exports = ${t * FILES + f};\n`);
    writeFileSync(join(dir, 'package.json'), `{ "name": "t${t}", "version": "1.0.0" }\n`);
    writeFileSync(join(dir, 'task.yaml'), `kind: Task\nmetadata: { name: t${t} }\n`);
    manifests.push(`apps/t${t}/task.yaml`);
    tasks.push({ name: `t${t}`, cwd: `apps/t${t}`, cwdDeclared: true, script: 'src/m0.js', source: [`apps/t${t}`, 'lib'], build: { install: 'npm ci', run: ['npm run build'] } });
  }
  mkdirSync(join(work, 'lib'));
  writeFileSync(join(work, 'lib', 'shared.js'), 'module.exports = {};\n');
  git(work, ['add', '-A']);
  git(work, ['commit', '--quiet', '-m', 'bench']);
  const mirror = join(root, 'mirror.git');
  git(root, ['clone', '--quiet', '--bare', work, mirror]);
  return { work, mirror, tasks, manifests };
}

async function time(fn: () => Promise<CodeSnapshot>): Promise<{ ms: number; snap: CodeSnapshot }> {
  const t0 = performance.now();
  const snap = await fn();
  return { ms: performance.now() - t0, snap };
}

function stats(ms: number[]): string {
  const sorted = [...ms].sort((a, b) => a - b);
  return `median ${sorted[Math.floor(sorted.length / 2)]!.toFixed(1)} ms, worst ${sorted[sorted.length - 1]!.toFixed(1)} ms`;
}

const digests = (s: CodeSnapshot): string => s.tasks.map((t) => t.codeDigest).join(',');

async function main(): Promise<void> {
  const root = mkdtempSync(join(tmpdir(), 'pm2gt-bench-digest-'));
  try {
    const { work, mirror, tasks, manifests } = setup(root);
    const stateDir = join(root, 'state');
    // Files written in the second the index is written are "racily clean" to git and hashed again on every reading;
    // files an operator edits are older than that, so the bench waits that second out as they do.
    await new Promise((r) => { setTimeout(r, 1100); });
    const commit = git(work, ['rev-parse', 'HEAD']);
    const fromMirror = (): Promise<CodeSnapshot> => readCommitCode({ gitDir: mirror, commit, tasks, manifestFiles: manifests });
    const fromTree = (): Promise<CodeSnapshot> => readWorkingTreeCode({ dir: work, stateDir, tasks, manifestFiles: manifests });

    const mirrorCold = await time(fromMirror);
    const mirrorRuns: number[] = [];
    for (let i = 0; i < RUNS; i++) mirrorRuns.push((await time(fromMirror)).ms);
    const treeCold = await time(fromTree);
    const treeRuns: number[] = [];
    let last = treeCold.snap;
    for (let i = 0; i < RUNS; i++) { const r = await time(fromTree); treeRuns.push(r.ms); last = r.snap; }
    writeFileSync(join(work, 'apps', 't7', 'src', 'm3.js'), 'module.exports = "changed";\n');
    const changed = await time(fromTree);
    const moved = changed.snap.tasks.filter((t, i) => t.codeDigest !== last.tasks[i]!.codeDigest).map((t) => t.task);

    console.log(`delivery digests, ${TASKS} tasks x ${FILES + 2} files:`);
    console.log(`  (a) mirror commit, one git ls-tree: cold ${mirrorCold.ms.toFixed(1)} ms; repeated ${stats(mirrorRuns)}`);
    console.log(`  (b) working tree: first reading ${treeCold.ms.toFixed(1)} ms; unchanged ${stats(treeRuns)}; one file changed ${changed.ms.toFixed(1)} ms (digests moved: ${moved.join(', ')})`);
    console.log(`  identical digests both ways: ${digests(mirrorCold.snap) === digests(last) ? 'yes' : 'NO'}`);
    if (digests(mirrorCold.snap) !== digests(last) || moved.join() !== 't7') process.exitCode = 1;
  } finally {
    rmSync(root, { recursive: true, force: true });
  }
}

await main();
