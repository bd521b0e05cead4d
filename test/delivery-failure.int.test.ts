/**
 * Build failures: a failing install or build step, a missing script and a
 * hanging step change nothing in builds/ or links/, and their report names
 * the task, the step, the exit code and the output tail, without secrets.
 */
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { redactValue } from '../src/diff/redact.js';
import { formatBuildFailure } from '../src/delivery/failure.js';
import { linkPath } from '../src/delivery/layout.js';
import { linkedDigest, switchLink } from '../src/delivery/links.js';
import type { BuildFailure, CodeTask, PrepareResult } from '../src/delivery/types.js';
import { codeAt, prepare, testHost, treeSnapshot, webAppFiles } from './helpers/delivery.js';
import { gitFixture } from './helpers/git.js';

const SECRET = 'planted-secret-7f3a9c';
const host = testHost();
const repo = gitFixture(undefined, 'pm2gt-deliver-fail-');
const stateDir = mkdtempSync(join(tmpdir(), 'pm2gt-deliver-fail-state-'));
const scratch = mkdtempSync(join(tmpdir(), 'pm2gt-deliver-fail-scratch-'));
const env = { API_TOKEN: SECRET, RUNS: join(scratch, 'runs.log'), PIDS: join(scratch, 'pids') };
afterAll(() => { repo.cleanup(); rmSync(stateDir, { recursive: true, force: true }); rmSync(scratch, { recursive: true, force: true }); host.cleanup(); });

/** A task of the fixture app without npm: steps are plain shell commands. */
const task = (build: CodeTask['build'], over: Partial<CodeTask> = {}): CodeTask => ({
  name: 'web', cwd: 'apps/web', cwdDeclared: true, script: 'src/version.txt', source: ['apps/web'], build, ...over,
});

function failed(result: PrepareResult): BuildFailure {
  if (result.kind !== 'failed') throw new Error('expected the build to fail');
  return result.failure;
}

/** Whether a process runs (a zombie, killed but not yet reaped by its new parent, does not). */
function alive(pid: number): boolean {
  try { process.kill(pid, 0); } catch { return false; }
  try { return readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1]?.[0] !== 'Z'; } catch { return false; }
}

let goodDigest = '';

beforeAll(async () => {
  repo.commit('web', webAppFiles('v1'));
  // A complete build, linked: the state every failure below must leave as it is.
  const code = await codeAt(repo, task({ run: ['echo ok'] }));
  const result = await prepare(repo, stateDir, code, { env, hostEnv: host.env });
  if (result.kind !== 'ready') throw new Error(result.failure.message);
  goodDigest = code.codeDigest;
  switchLink({ stateDir, env: 'dev', task: 'web', codeDigest: goodDigest });
});

/** builds/ and links/ as they are. */
function store(): { builds: Record<string, string>; links: Record<string, string> } {
  return { builds: treeSnapshot(join(stateDir, 'builds')), links: treeSnapshot(join(stateDir, 'links')) };
}

describe('build failures', () => {
  it('[delivery-build-failure] a failing install changes nothing in builds/ or links/ and reports step, exit code and tail, secret redacted', async () => {
    const before = store();
    const code = await codeAt(repo, task({ install: 'echo "installing with $API_TOKEN"; echo "npm ERR! missing" >&2; exit 3', run: ['echo never >> "$RUNS"'] }));
    const failure = failed(await prepare(repo, stateDir, code, { env, hostEnv: host.env }));
    expect(failure).toMatchObject({ task: 'web', step: 'install', exitCode: 3, timedOut: false, recorded: false });
    expect(failure.message).toBe('build of task web failed at install `echo "installing with $API_TOKEN"; echo "npm ERR! missing" >&2; exit 3`: exit code 3');
    expect(failure.tail).toEqual([`installing with ${redactValue(SECRET)}`, 'npm ERR! missing']);
    expect(store()).toEqual(before);
    expect(linkedDigest({ stateDir, env: 'dev', task: 'web' })).toBe(goodDigest);
    expect(existsSync(env.RUNS)).toBe(false);
    const record = readFileSync(join(stateDir, 'failures', 'web', `${code.codeDigest}.json`), 'utf8');
    expect(record).toContain('"status": "failed"');
    expect(record + formatBuildFailure(failure) + JSON.stringify(failure)).not.toContain(SECRET);
  });

  it('[delivery-build-failure] a failing build step names its index and command; earlier steps ran', async () => {
    const before = store();
    const code = await codeAt(repo, task({ run: ['echo first >> "$RUNS"', 'node -e "console.error(\'token\', process.env.API_TOKEN); process.exit(2)"', 'echo third >> "$RUNS"'] }));
    const failure = failed(await prepare(repo, stateDir, code, { env, hostEnv: host.env }));
    expect(failure).toMatchObject({ step: 'run', index: 1, exitCode: 2 });
    expect(failure.message).toContain('failed at run[1] `node -e');
    expect(failure.tail).toEqual([`token ${redactValue(SECRET)}`]);
    expect(readFileSync(env.RUNS, 'utf8')).toBe('first\n');
    expect(store()).toEqual(before);
    expect(JSON.stringify(failure)).not.toContain(SECRET);
  });

  it('[delivery-build-failure] a recorded failure is returned without running again, unless retried', async () => {
    const code = await codeAt(repo, task({ run: ['echo attempt >> "$RUNS"; exit 1'] }));
    rmSync(env.RUNS, { force: true });
    expect(failed(await prepare(repo, stateDir, code, { env, hostEnv: host.env })).recorded).toBe(false);
    const again = failed(await prepare(repo, stateDir, code, { env, hostEnv: host.env }));
    expect(again).toMatchObject({ recorded: true, step: 'run', exitCode: 1 });
    expect(readFileSync(env.RUNS, 'utf8')).toBe('attempt\n');
    failed(await prepare(repo, stateDir, code, { env, hostEnv: host.env, retryFailed: true }));
    expect(readFileSync(env.RUNS, 'utf8')).toBe('attempt\nattempt\n');
  });

  it('[delivery-build-failure] a script the build does not produce fails the check, nothing changes', async () => {
    const before = store();
    const code = await codeAt(repo, task({ run: ['echo built'] }, { script: 'dist/server.js' }));
    const failure = failed(await prepare(repo, stateDir, code, { env, hostEnv: host.env }));
    expect(failure).toMatchObject({ step: 'check' });
    expect(failure.message).toContain('script dist/server.js is not a file in the build (looked for apps/web/dist/server.js)');
    expect(store()).toEqual(before);
  });

  it('[delivery-build-timeout] a hanging step is killed at the build timeout, with the processes it started', async () => {
    const before = store();
    const code = await codeAt(repo, task({ run: ['sleep 300 & echo $! > "$PIDS"; echo $$ >> "$PIDS"; echo waiting; wait'], timeoutSeconds: 2 }));
    const failure = failed(await prepare(repo, stateDir, code, { env, hostEnv: host.env }));
    expect(failure).toMatchObject({ step: 'run', timedOut: true, exitCode: null });
    expect(failure.message).toContain("timed out after the build's 2 s");
    expect(failure.tail).toEqual(['waiting']);
    const pids = readFileSync(env.PIDS, 'utf8').split('\n').filter(Boolean).map(Number);
    expect(pids).toHaveLength(2);
    // SIGTERM is delivered at once, but a process may take a moment to die of it.
    for (let i = 0; i < 40 && pids.some(alive); i++) await new Promise((r) => { setTimeout(r, 50); });
    for (const pid of pids) expect(alive(pid)).toBe(false);
    expect(store()).toEqual(before);
  }, 30_000);

  it('[delivery-build-failure] an aborted build is killed and leaves nothing behind, not even a failure record', async () => {
    const before = store();
    const code = await codeAt(repo, task({ run: ['echo started; sleep 300'] }));
    const controller = new AbortController();
    const pending = prepare(repo, stateDir, code, { env, hostEnv: host.env, signal: controller.signal, onProgress: (e) => { if (e.phase === 'start' && e.step === 'run') setTimeout(() => controller.abort(), 200); } });
    const failure = failed(await pending);
    expect(failure).toMatchObject({ step: 'run', recorded: false });
    expect(failure.message).toContain('aborted');
    expect(existsSync(join(stateDir, 'failures', 'web', `${code.codeDigest}.json`))).toBe(false);
    expect(store()).toEqual(before);
  }, 30_000);

  it('[delivery-build-failure] code outside the repository is never built', async () => {
    const code = await codeAt(repo, task({ run: ['echo x'] }, { cwd: '/opt/app', source: undefined }));
    await expect(prepare(repo, stateDir, code, { env, hostEnv: host.env })).rejects.toThrow(/outside the repository/);
  });

  it('[delivery-links] the stable path still points at the last good build after every failure', () => {
    expect(linkPath(stateDir, 'dev', 'web')).toBe(join(stateDir, 'links', 'dev', 'web'));
    expect(readFileSync(join(stateDir, 'links', 'dev', 'web', 'apps/web/src/version.txt'), 'utf8')).toBe('v1\n');
  });
});
