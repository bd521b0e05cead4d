import { describe, expect, it } from 'vitest';
import type { LiveTask } from '../domain/live.js';
import { parseStatus } from './status-parse.js';
import { buildStatus, clip, codeCell, shapeOf, STATUS_MAX_BYTES, statusRows, type StatusInput } from './status.js';

function input(over: Partial<StatusInput> = {}): StatusInput {
  return {
    environment: 'dev', namespace: 'dev', host: 'h1', outcome: 'converged', reconciledAt: '2026-01-01T00:00:00.000Z',
    tasks: [], holds: [], problems: [], badRevisions: [], ...over,
  };
}

describe('buildStatus', () => {
  it('[status-size] thousands of problems, holds and tasks stay under the cap, each list cut with how many were left out', () => {
    const problems = Array.from({ length: 50_000 }, (_, i) => `base/t${i}.yaml:3:5 /spec/process/instances: must be an integer >= 0 or "max"`);
    const holds = Array.from({ length: 20_000 }, (_, i) => ({ task: `t${i}`, reason: 'prune limit reached', blocking: true }));
    const tasks = statusRows(Array.from({ length: 5_000 }, (_, i) => ({ name: `task-${i}`, type: 'service' as const })), [], []);
    const text = buildStatus(input({ outcome: 'invalid', problems, holds, tasks }));
    expect(Buffer.byteLength(text)).toBeLessThanOrEqual(STATUS_MAX_BYTES);
    const cut = (what: string): number => Number(new RegExp(`… and (\\d+) more ${what}`).exec(text)?.[1]);
    const shownProblems = text.split('\n').filter((l) => l.startsWith('- base/')).length;
    expect(shownProblems).toBeGreaterThan(100);
    expect(shownProblems + cut('problems')).toBe(50_000);
    const shownHolds = text.split('\n').filter((l) => /^- t\d+: prune/.test(l)).length;
    expect(shownHolds + cut('held-back tasks')).toBe(20_000);
    const shownTasks = text.split('\n').filter((l) => l.startsWith('| task-')).length;
    expect(shownTasks + cut('tasks')).toBe(5_000);
  });

  it('[status-size] one giant problem line is clipped', () => {
    const text = buildStatus(input({ outcome: 'failed', reason: 'internal', message: 'x'.repeat(1_000_000), problems: ['é'.repeat(1_000_000)] }));
    expect(Buffer.byteLength(text)).toBeLessThan(10_000);
    expect(text).toContain(' …');
    expect(text).not.toContain('\uFFFD');
  });

  it('a small status is not cut', () => {
    const text = buildStatus(input({ problems: ['one', 'two'] }));
    expect(text).toContain('- one\n- two\n');
    expect(text).not.toContain('more problems');
  });

  it('names the failure reason, the message and outages of source and daemon', () => {
    const text = buildStatus(input({
      outcome: 'failed', reason: 'daemon-unreachable', message: 'the PM2 daemon is unreachable',
      conditions: { source: { since: '2026-01-01T00:00:00.000Z', reason: 'branch main was deleted', branchDeleted: true }, daemon: { since: '2026-01-01T00:00:01.000Z', reason: 'connection closed' } },
      warnings: ['state.json was unreadable; rebuilt from the status branch and PM2'],
    }));
    expect(text).toContain('| reason | daemon-unreachable |');
    expect(text).toContain('| message | the PM2 daemon is unreachable |');
    expect(text).toContain('| source | **unreachable** since 2026-01-01T00:00:00.000Z: branch main was deleted;');
    expect(text).toContain('| daemon | **unreachable** since 2026-01-01T00:00:01.000Z: connection closed;');
    expect(text).toContain('## Warnings\n\n- state.json was unreadable');
  });

  it('shows tasks as unknown, not missing, when PM2 could not be read', () => {
    const rows = statusRows([{ name: 'web', type: 'service' }], [], [], { liveKnown: false });
    expect(rows[0]!.state).toBe('unknown');
    expect(buildStatus(input({ tasks: rows }))).toContain('| web | service | ? unknown (PM2 unreachable) |');
  });
});

describe('code in the status file', () => {
  const A = 'a'.repeat(64);
  const B = 'b'.repeat(64);
  const live = (digest?: string): LiveTask[] => [{ name: 'web', namespace: 'dev', instances: [{ pmId: 0, pid: 10, status: 'online', restarts: 0, startedAt: 0, unstableRestarts: 0 }], process: {}, ...(digest ? { marker: { environment: 'dev', task: 'web', revision: 'r', envKeys: [], codeDigest: digest } } : {}) }];

  it('[delivery-status] shows the running digest, and running → desired while they differ; status --json reads both back', () => {
    const same = statusRows([{ name: 'web', type: 'service' }], live(A), [], { code: new Map([['web', { running: A, desired: A }]]) });
    const differ = statusRows([{ name: 'web', type: 'service' }], live(A), [], { code: new Map([['web', { running: A, desired: B }]]) });
    expect(buildStatus(input({ tasks: same }))).toMatch(/\| web \|.*\| `aaaaaaaaaaaa` \|\n/);
    const text = buildStatus(input({ outcome: 'failed', reason: 'build-failed', tasks: differ }));
    expect(text).toContain('| `aaaaaaaaaaaa` → `bbbbbbbbbbbb` |');
    expect(parseStatus(text).tasks[0]!.code).toEqual({ running: 'aaaaaaaaaaaa', desired: 'bbbbbbbbbbbb' });
    expect(parseStatus(text).converged).toBe(false);
    expect(parseStatus(buildStatus(input({ tasks: same }))).converged).toBe(true);
  });

  it('[delivery-status] says only the desired digest when PM2 could not be read, and mixed builds as mixed', () => {
    const unknown = statusRows([{ name: 'web', type: 'service' }], [], [], { liveKnown: false, code: new Map([['web', { running: A, desired: B }]]) });
    expect(unknown[0]!.code).toEqual({ desired: B });
    expect(codeCell({ desired: B })).toBe('– → `bbbbbbbbbbbb`');
    expect(codeCell({ running: A, desired: A, mixed: true })).toBe('mixed → `aaaaaaaaaaaa`');
    expect(parseStatus(buildStatus(input({ tasks: statusRows([{ name: 'web', type: 'service' }], live(A), [], { code: new Map([['web', { running: A, desired: A, mixed: true }]]) }) }))).tasks[0]!.code).toEqual({ desired: 'aaaaaaaaaaaa', mixed: true });
  });

  it('[delivery-status] lists build failures with task, step, exit code and output tail, read back by status --json', () => {
    const text = buildStatus(input({ outcome: 'failed', reason: 'build-failed', buildFailures: [{ task: 'web', message: 'build of task web failed at install `npm ci`: exit code 1', tail: ['npm ERR! missing: greet', 'npm ERR! see log'] }] }));
    expect(text).toContain('## Build failures');
    expect(text).toContain('- web: build of task web failed at install `npm ci`: exit code 1\n  ```\n  npm ERR! missing: greet\n');
    expect(parseStatus(text).buildFailures).toEqual([{ task: 'web', message: 'build of task web failed at install `npm ci`: exit code 1', tail: ['npm ERR! missing: greet', 'npm ERR! see log'] }]);
    expect(parseStatus(text).fields.reason).toBe('build-failed');
  });

  it('[delivery-fresh-daemon] never says a revision runs where PM2 shows none of its processes', () => {
    const rows = statusRows([{ name: 'web', type: 'service' }], [], []);
    const text = buildStatus(input({ running: 'c'.repeat(40), observed: true, tasks: rows }));
    expect(text).toContain(`| running | nothing: no process of this environment runs (last applied \`${'c'.repeat(40)}\`) |`);
    expect(buildStatus(input({ running: 'c'.repeat(40), observed: true, tasks: statusRows([{ name: 'web', type: 'service' }], live(A), []) }))).toContain(`| running | \`${'c'.repeat(40)}\` |`);
  });
});

describe('clip', () => {
  it('keeps short text and cuts long text to the byte limit', () => {
    expect(clip('short', 100)).toBe('short');
    const cut = clip('ü'.repeat(100), 21);
    expect(Buffer.byteLength(cut)).toBeLessThanOrEqual(21);
    expect(cut.endsWith(' …')).toBe(true);
  });
});

describe('shapeOf', () => {
  const job = (status: string, exitCode: number): LiveTask => ({
    name: 'j', namespace: 'dev', process: {}, instances: [{ pmId: 0, pid: 0, status, restarts: 0, startedAt: 0, unstableRestarts: 0, exitCode }],
  });
  it('[import-job-waiting-restart] a job PM2 shows waiting restart after its exit is completed (exit 0) or errored', () => {
    expect(shapeOf(job('waiting restart', 0), 'job')).toBe('completed');
    expect(shapeOf(job('waiting restart', 1), 'job')).toBe('errored');
    expect(shapeOf(job('stopped', 0), 'job')).toBe('completed');
    expect(shapeOf(job('waiting restart', 0), 'service')).toBe('starting');
  });
});
