/**
 * The build store with a real app: `npm ci --offline` of a local `file:`
 * dependency, a build step that writes dist/, the built script run with node;
 * reuse of complete builds and of installs; concurrent prepares.
 */
import { execFileSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, realpathSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { readWorkingTreeCode } from '../src/delivery/read-code.js';
import type { Build, BuildEvent, PrepareResult } from '../src/delivery/types.js';
import { codeAt, lockfile, prepare, testHost, treeSnapshot, webAppFiles, webTask } from './helpers/delivery.js';
import { gitFixture } from './helpers/git.js';

const host = testHost();
const repo = gitFixture(undefined, 'pm2gt-deliver-');
const stateDir = mkdtempSync(join(tmpdir(), 'pm2gt-deliver-state-'));
const logDir = mkdtempSync(join(tmpdir(), 'pm2gt-deliver-log-'));
const installLog = join(logDir, 'installs.log');
const env = { INSTALL_LOG: installLog };
afterAll(() => { repo.cleanup(); rmSync(stateDir, { recursive: true, force: true }); rmSync(logDir, { recursive: true, force: true }); host.cleanup(); });

function installs(): number {
  return existsSync(installLog) ? readFileSync(installLog, 'utf8').split('\n').filter(Boolean).length : 0;
}

function ready(result: PrepareResult): Build {
  if (result.kind !== 'ready') throw new Error(`expected a build, got: ${result.failure.message}\n${result.failure.tail.join('\n')}`);
  return result.build;
}

/** Runs the built script with node; resolves to what it printed. */
function runBuilt(build: Build): string {
  return execFileSync(process.execPath, ['dist/server.js'], { cwd: join(build.dir, 'apps/web'), encoding: 'utf8' }).trim();
}

let first: Build;

beforeAll(() => {
  repo.commit('web v1', webAppFiles('v1'));
  repo.commit('lockfile', { 'apps/web/package-lock.json': lockfile(repo.work, host.env) });
});

describe('the build store with a real app', () => {
  it('[delivery-build] installs a file: dependency offline with npm ci, runs the build step, and the built script runs', async () => {
    const code = await codeAt(repo, webTask());
    const events: BuildEvent[] = [];
    const result = await prepare(repo, stateDir, code, { env, hostEnv: host.env, revision: repo.head(), onProgress: (e) => events.push(e) });
    first = ready(result);
    expect(result).toMatchObject({ reused: false });
    expect(first.dir).toBe(join(stateDir, 'builds', 'web', code.codeDigest));
    expect(first.record.steps.map((s) => [s.kind, s.status])).toEqual([['export', 'ok'], ['install', 'ok'], ['run', 'ok'], ['check', 'ok']]);
    expect(first.record.installed).toEqual(['apps/web/node_modules']);
    expect(runBuilt(first)).toBe('hello web v1');
    // npm links the file: dependency; the link resolves inside the build, to the build's own copy of lib/greet.
    expect(realpathSync(join(first.dir, 'apps/web/node_modules/greet'))).toBe(realpathSync(join(first.dir, 'lib/greet')));
    expect(existsSync(join(first.dir, 'base/web.yaml'))).toBe(false);
    expect(events.filter((e) => e.phase === 'start').map((e) => e.step)).toEqual(['export', 'install', 'run', 'check']);
    expect(installs()).toBe(1);
  });

  it('[delivery-reuse] a second prepare of the same digest runs no step', async () => {
    const code = await codeAt(repo, webTask());
    const before = treeSnapshot(first.dir);
    const events: BuildEvent[] = [];
    const again = await prepare(repo, stateDir, code, { env, hostEnv: host.env, onProgress: (e) => events.push(e), now: () => new Date('2030-01-01T00:00:00Z') });
    const build = ready(again);
    expect(again).toMatchObject({ reused: true });
    expect(events).toEqual([]);
    expect(build.record.steps).toEqual(first.record.steps);
    expect(build.record.createdAt).toBe(first.record.createdAt);
    expect(build.record.lastUsedAt).toBe('2030-01-01T00:00:00.000Z');
    expect(treeSnapshot(first.dir)).toEqual(before);
    expect(installs()).toBe(1);
  });

  it('[delivery-reuse] a code-only change runs the build steps again but reuses the install (no npm ci)', async () => {
    repo.commit('web v2', { 'apps/web/src/version.txt': 'v2\n' });
    const code = await codeAt(repo, webTask());
    expect(code.codeDigest).not.toBe(first.codeDigest);
    expect(code.installKey).toBe(first.record.installKey);
    const build = ready(await prepare(repo, stateDir, code, { env, hostEnv: host.env }));
    expect(build.record.steps.map((s) => [s.kind, s.status])).toEqual([['export', 'ok'], ['install', 'reused'], ['run', 'ok'], ['check', 'ok']]);
    expect(build.record.steps[1]!.reusedFrom).toBe(first.codeDigest);
    expect(installs()).toBe(1);
    expect(runBuilt(build)).toBe('hello web v2');
    // The copy is a copy: the first build still runs its own code.
    expect(runBuilt(first)).toBe('hello web v1');
  });

  it('[delivery-reuse] a lockfile change installs again, exactly once', async () => {
    repo.commit('greet 1.0.1', { 'lib/greet/package.json': webAppFiles('v2', '1.0.1')['lib/greet/package.json']! });
    repo.commit('lockfile for greet 1.0.1', { 'apps/web/package-lock.json': lockfile(repo.work, host.env) });
    const code = await codeAt(repo, webTask());
    expect(code.installKey).not.toBe(first.record.installKey);
    const build = ready(await prepare(repo, stateDir, code, { env, hostEnv: host.env }));
    expect(build.record.steps[1]).toMatchObject({ kind: 'install', status: 'ok', exitCode: 0 });
    expect(installs()).toBe(2);
    ready(await prepare(repo, stateDir, code, { env, hostEnv: host.env }));
    repo.commit('web v3', { 'apps/web/src/version.txt': 'v3\n' });
    const v3 = ready(await prepare(repo, stateDir, await codeAt(repo, webTask()), { env, hostEnv: host.env }));
    expect(v3.record.steps[1]).toMatchObject({ status: 'reused', reusedFrom: code.codeDigest });
    expect(installs()).toBe(2);
    expect(runBuilt(v3)).toBe('hello web v3');
  });

  it('[delivery-build] a working tree of the same content prepares nothing new: its digest is the commit\'s', async () => {
    const head = await codeAt(repo, webTask());
    const snap = await readWorkingTreeCode({ dir: repo.work, stateDir, tasks: [webTask()], manifestFiles: ['base/web.yaml'] });
    expect(snap.tasks[0]!.codeDigest).toBe(head.codeDigest);
    const result = await prepare(repo, stateDir, snap.tasks[0]!, { gitDir: snap.gitDir, env, hostEnv: host.env });
    expect(result).toMatchObject({ kind: 'ready', reused: true });
  });

  it('[delivery-build] a dirty working tree is built from the tree as it is, not from HEAD', async () => {
    const snap = await readWorkingTreeCode({ dir: repo.work, stateDir, tasks: [webTask()], manifestFiles: ['base/web.yaml'] });
    writeFileSync(join(repo.work, 'apps/web/src/version.txt'), 'local\n');
    const dirty = await readWorkingTreeCode({ dir: repo.work, stateDir, tasks: [webTask()], manifestFiles: ['base/web.yaml'] });
    expect(dirty.tasks[0]!.codeDigest).not.toBe(snap.tasks[0]!.codeDigest);
    const build = ready(await prepare(repo, stateDir, dirty.tasks[0]!, { gitDir: dirty.gitDir, env, hostEnv: host.env }));
    expect(runBuilt(build)).toBe('hello web local');
    execFileSync('git', ['checkout', '--', 'apps/web/src/version.txt'], { cwd: repo.work });
  });

  it('[delivery-build-failure] a file: dependency outside spec.source fails the install, naming the folder to add', async () => {
    const task = webTask({ name: 'web-alone', source: ['apps/web'] });
    const code = await codeAt(repo, task);
    const result = await prepare(repo, stateDir, code, { env, hostEnv: host.env });
    expect(result.kind).toBe('failed');
    if (result.kind !== 'failed') return;
    expect(result.failure).toMatchObject({ task: 'web-alone', step: 'install' });
    expect(result.failure.message).toContain('apps/web/node_modules/greet links to lib/greet, which is not part of the build; add lib/greet to spec.source');
    expect(existsSync(join(stateDir, 'builds', 'web-alone'))).toBe(false);
  });

  it('[delivery-concurrency] two prepares of one digest build once; builds of two tasks run side by side', async () => {
    repo.commit('web v4', { 'apps/web/src/version.txt': 'v4\n' });
    const code = await codeAt(repo, webTask());
    const other = await codeAt(repo, webTask({ name: 'web-copy' }));
    const count = installs();
    const [a, b, c] = await Promise.all([
      prepare(repo, stateDir, code, { env, hostEnv: host.env }),
      prepare(repo, stateDir, code, { env, hostEnv: host.env }),
      prepare(repo, stateDir, other, { env, hostEnv: host.env }),
    ]);
    expect([a, b].map((r) => (r.kind === 'ready' ? r.reused : 'failed')).sort()).toEqual([false, true]);
    expect(ready(a).dir).toBe(ready(b).dir);
    expect(runBuilt(ready(c))).toBe('hello web v4');
    // web-copy has no build of its own with this install key yet: it installs; web reuses its earlier install.
    expect(installs()).toBe(count + 1);
  });
});
