/**
 * Code digests against real git: a commit of the bare mirror and a working
 * tree of the same content give the same digest; only source and build
 * changes move it; manifests and ignored files never count.
 */
import { chmodSync, cpSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { readCommitCode, readWorkingTreeCode } from '../src/delivery/read-code.js';
import type { CodeTask } from '../src/delivery/types.js';
import { git, gitFixture } from './helpers/git.js';

const TASKS: CodeTask[] = [
  { name: 'web', cwd: 'apps/web', cwdDeclared: true, script: 'server.js', source: ['apps/web', 'lib/greet'], build: { install: 'npm ci', run: ['npm run build'] } },
  { name: 'worker', cwd: '.', cwdDeclared: false, script: 'apps/worker/worker.js' },
  { name: 'nap', cwd: '.', cwdDeclared: false, script: 'sleep' },
];
const MANIFESTS = ['base/web.yaml', 'apps/web/web.yaml', 'environments/dev/environment.yaml'];

const repo = gitFixture();
const stateDir = mkdtempSync(join(tmpdir(), 'pm2gt-digest-state-'));
afterAll(() => { repo.cleanup(); rmSync(stateDir, { recursive: true, force: true }); });

repo.commit('app code', {
  '.gitignore': 'node_modules/\ndist/\n*.log\n',
  'apps/web/server.js': 'console.log("v1");\n',
  'apps/web/package.json': '{ "name": "web", "version": "1.0.0" }\n',
  'apps/web/web.yaml': 'kind: Task\n',
  'apps/worker/worker.js': 'setInterval(() => {}, 1000);\n',
  'lib/greet/index.js': 'module.exports = () => "hello";\n',
  'base/web.yaml': 'kind: Task\n',
  'environments/dev/environment.yaml': 'kind: Environment\n',
  'docs/readme.md': 'docs\n',
});

type Digests = Record<string, string>;
const byTask = (s: { tasks: Array<{ task: string; codeDigest: string }> }): Digests => Object.fromEntries(s.tasks.map((t) => [t.task, t.codeDigest]));
const ofCommit = async (sha = repo.head()): Promise<Digests> => byTask(await readCommitCode({ gitDir: repo.remote, commit: sha, tasks: TASKS, manifestFiles: MANIFESTS }));
const ofTree = async (dir = repo.work): Promise<Digests> => byTask(await readWorkingTreeCode({ dir, stateDir, tasks: TASKS, manifestFiles: MANIFESTS }));

describe('code digests from git', () => {
  it('[delivery-digest] a commit of the mirror and a clean working tree of it give identical digests', async () => {
    const commit = await ofCommit();
    expect(await ofTree()).toEqual(commit);
    expect(new Set(Object.values(commit)).size).toBe(3);
  });

  it('[delivery-digest] the commit listing holds the source blobs, manifest files left out', async () => {
    const snap = await readCommitCode({ gitDir: repo.remote, commit: repo.head(), tasks: TASKS, manifestFiles: MANIFESTS });
    expect(snap.tasks[0]!.files.map((f) => f.path)).toEqual(['apps/web/package.json', 'apps/web/server.js', 'lib/greet/index.js']);
    expect(snap.tasks[1]!.files.map((f) => f.path)).toEqual(['apps/worker/worker.js']);
    expect(snap.tasks[2]!).toMatchObject({ files: [], program: true, source: { kind: 'none', reason: 'program' } });
  });

  it('[delivery-digest] a dirty working tree differs, and equals the commit once it is committed', async () => {
    const before = await ofCommit();
    writeFileSync(join(repo.work, 'apps/web/server.js'), 'console.log("v2");\n');
    writeFileSync(join(repo.work, 'lib/greet/extra.js'), 'module.exports = 1;\n');
    const dirty = await ofTree();
    expect(dirty.web).not.toBe(before.web);
    expect(dirty.worker).toBe(before.worker);
    const sha = repo.commit('v2', {});
    expect(await ofCommit(sha)).toEqual(dirty);
  });

  it('[delivery-digest] a deleted file and a mode change move the digest, the same way in a tree and a commit', async () => {
    const before = await ofCommit();
    rmSync(join(repo.work, 'lib/greet/extra.js'));
    const deleted = await ofTree();
    expect(deleted.web).not.toBe(before.web);
    expect(await ofCommit(repo.commit('drop extra', {}))).toEqual(deleted);
    chmodSync(join(repo.work, 'apps/worker/worker.js'), 0o755);
    const moded = await ofTree();
    expect(moded.worker).not.toBe(deleted.worker);
    expect(await ofCommit(repo.commit('executable', {}))).toEqual(moded);
  });

  it('[delivery-digest] editing manifests, even inside the source, or files outside it changes no digest', async () => {
    const before = await ofCommit();
    const sha = repo.commit('manifests and docs', {
      'apps/web/web.yaml': 'kind: Task\n# edited\n',
      'base/web.yaml': 'kind: Task\n# edited\n',
      'environments/dev/environment.yaml': 'kind: Environment\n# edited\n',
      'docs/readme.md': 'more docs\n',
    });
    expect(await ofCommit(sha)).toEqual(before);
    expect(await ofTree()).toEqual(before);
  });

  it('[delivery-digest] ignored files (node_modules/, dist/, logs) never count in a working tree', async () => {
    const before = await ofCommit();
    mkdirSync(join(repo.work, 'apps/web/node_modules/greet'), { recursive: true });
    writeFileSync(join(repo.work, 'apps/web/node_modules/greet/index.js'), 'x\n');
    mkdirSync(join(repo.work, 'apps/web/dist'), { recursive: true });
    writeFileSync(join(repo.work, 'apps/web/dist/server.js'), 'built\n');
    writeFileSync(join(repo.work, 'apps/worker/debug.log'), 'log\n');
    expect(await ofTree()).toEqual(before);
  });

  it('[delivery-digest] a tracked file that .gitignore matches counts in both, as git commits it', async () => {
    writeFileSync(join(repo.work, 'apps/web/keep.log'), 'tracked on purpose\n');
    git(repo.work, ['add', '-f', 'apps/web/keep.log']);
    const sha = repo.commit('force-add a log', {});
    const commit = await ofCommit(sha);
    const snap = await readCommitCode({ gitDir: repo.remote, commit: sha, tasks: TASKS, manifestFiles: MANIFESTS });
    expect(snap.tasks[0]!.files.map((f) => f.path)).toContain('apps/web/keep.log');
    expect(await ofTree()).toEqual(commit);
  });

  it('[delivery-digest] a folder that is not a git repository gives the digest of the same commit', async () => {
    const plain = mkdtempSync(join(tmpdir(), 'pm2gt-digest-plain-'));
    try {
      cpSync(repo.work, plain, { recursive: true, filter: (src) => !src.includes('/.git') || src.endsWith('.gitignore') });
      rmSync(join(plain, 'apps/web/keep.log'));
      const commit = await ofCommit();
      const without = await ofCommit(`${repo.head()}~1`);
      const tree = await ofTree(plain);
      expect(tree).toEqual({ ...commit, web: without.web });
      // Outside git only .gitignore speaks: the log is ignored, so the web digest stays that of the commit without it.
      writeFileSync(join(plain, 'apps/web/keep.log'), 'tracked on purpose\n');
      expect(await ofTree(plain)).toEqual(tree);
    } finally {
      rmSync(plain, { recursive: true, force: true });
    }
  });

  it('[delivery-digest] a second reading of an unchanged working tree gives the same digests (stat cache)', async () => {
    const first = await ofTree();
    const t0 = performance.now();
    const second = await ofTree();
    const ms = performance.now() - t0;
    expect(second).toEqual(first);
    console.log(`no-op working tree digest of ${TASKS.length} tasks: ${ms.toFixed(1)} ms`);
  });
});
