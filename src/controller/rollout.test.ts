import { describe, expect, it } from 'vitest';
import { decideRollout, resolveWaves, type PeerReport } from './rollout.js';
import { peerReport } from './rollout-gate.js';

const R = 'a'.repeat(40);
const OLD = 'b'.repeat(40);

const peer = (host: string, p: Partial<PeerReport> = {}): PeerReport => ({ host, converged: true, result: 'converged', bad: [], lost: false, revision: OLD, running: OLD, ...p });
const healthy = (host: string): PeerReport => peer(host, { revision: R, running: R });

describe('resolveWaves', () => {
  it('puts named hosts in their waves, "*" for the rest, and unnamed hosts last without "*"', () => {
    const hosts = ['web-2', 'canary-1', 'web-1', 'db-1', 'db-2'];
    expect(resolveWaves({ waves: [['canary-1'], ['web-1', 'web-2'], ['*']] }, hosts)).toEqual([['canary-1'], ['web-1', 'web-2'], ['db-1', 'db-2']]);
    expect(resolveWaves({ waves: [['canary-1'], ['web-1']] }, hosts)).toEqual([['canary-1'], ['web-1'], ['db-1', 'db-2', 'web-2']]);
    expect(resolveWaves({ waves: [['*'], ['canary-1']] }, hosts)).toEqual([['db-1', 'db-2', 'web-1', 'web-2'], ['canary-1']]);
  });

  it('takes maxUnavailable hosts at a time in name order', () => {
    expect(resolveWaves({ maxUnavailable: 2 }, ['c', 'a', 'e', 'b', 'd'])).toEqual([['a', 'b'], ['c', 'd'], ['e']]);
    expect(resolveWaves({ maxUnavailable: 1 }, ['h2', 'h1'])).toEqual([['h1'], ['h2']]);
  });

  it('leaves out a "*" wave with no host left', () => {
    expect(resolveWaves({ waves: [['h1'], ['*']] }, ['h1'])).toEqual([['h1']]);
  });
});

describe('decideRollout', () => {
  const waves = { waves: [['h1'], ['h2', 'h3']] };

  it('[fleet-rollout-rules] lets the first wave apply at once', () => {
    const d = decideRollout({ rollout: waves, self: 'h1', tip: R, peers: [peer('h2'), peer('h3')] });
    expect(d).toMatchObject({ verdict: 'go', wave: 1, waves: 2 });
  });

  it('holds a later wave until every host of the earlier waves runs the revision healthy', () => {
    const pending = decideRollout({ rollout: waves, self: 'h2', tip: R, peers: [peer('h1', { revision: R }), peer('h3')] });
    expect(pending.verdict).toBe('wait');
    expect(pending.text).toBe(`wave 2 of 2: waits for wave 1 (h1) to report revision \`${R.slice(0, 12)}\` healthy`);
    const unhealthy = decideRollout({ rollout: waves, self: 'h2', tip: R, peers: [peer('h1', { revision: R, running: R, converged: false, result: 'waiting' }), peer('h3')] });
    expect(unhealthy.verdict).toBe('wait');
    expect(decideRollout({ rollout: waves, self: 'h2', tip: R, peers: [healthy('h1'), peer('h3')] }).verdict).toBe('go');
  });

  it('waits for a named host that never reported', () => {
    const d = decideRollout({ rollout: waves, self: 'h2', tip: R, peers: [peer('h3')] });
    expect(d.verdict).toBe('wait');
    expect(d.text).toContain('wave 1 (h1)');
  });

  it('stops later waves when the revision failed or was rolled back in an earlier wave', () => {
    const rolledBack = decideRollout({ rollout: waves, self: 'h3', tip: R, peers: [peer('h1', { revision: R, running: OLD, result: 'rolled back to the last good revision', converged: false, bad: [R] }), peer('h2')] });
    expect(rolledBack.verdict).toBe('stopped');
    expect(rolledBack.text).toBe(`wave 2 of 2: stopped, revision \`${R.slice(0, 12)}\` failed in wave 1 on h1 (rolled back to the last good revision); this host keeps its revision`);
    const failed = decideRollout({ rollout: waves, self: 'h3', tip: R, peers: [peer('h1', { revision: R, running: OLD, result: 'failed (the last good state keeps running)', converged: false }), peer('h2')] });
    expect(failed.verdict).toBe('stopped');
    // A revision marked bad stays stopped after the host moved on to report another tip.
    const marked = decideRollout({ rollout: waves, self: 'h3', tip: R, peers: [peer('h1', { bad: [R] }), peer('h2')] });
    expect(marked.verdict).toBe('stopped');
  });

  it('does not wait for a lost host when others of its wave vouch for the revision, and says so', () => {
    const rollout = { waves: [['h1', 'h4'], ['h2']] };
    const d = decideRollout({ rollout, self: 'h2', tip: R, peers: [healthy('h1'), peer('h4', { lost: true })] });
    expect(d.verdict).toBe('go');
    expect(d.text).toContain('lost, not waited for: h4');
    const allLost = decideRollout({ rollout, self: 'h2', tip: R, peers: [peer('h1', { lost: true }), peer('h4', { lost: true })] });
    expect(allLost.verdict).toBe('wait');
    expect(allLost.text).toContain('every host lost');
  });

  it('with maxUnavailable: 1, hosts go one at a time in name order', () => {
    const rollout = { maxUnavailable: 1 };
    expect(decideRollout({ rollout, self: 'a', tip: R, peers: [peer('b'), peer('c')] }).verdict).toBe('go');
    expect(decideRollout({ rollout, self: 'c', tip: R, peers: [healthy('a'), peer('b', { revision: R })] }).verdict).toBe('wait');
    expect(decideRollout({ rollout, self: 'c', tip: R, peers: [healthy('a'), healthy('b')] }).verdict).toBe('go');
  });
});

describe('peerReport', () => {
  const status = (result: string, running: string, extra = ''): string => [
    '# prod', '', '| | |', '| --- | --- |', `| result | ${result} |`, `| revision | \`${R}\` deploy |`, `| running | \`${running}\` |`,
    '| reconciled | 2026-12-02T10:00:00.000Z |', '', '## Tasks', '', '| task | type | state | pids | restarts | up since | last action | health | code |',
    '| --- | --- | --- | --- | --- | --- | --- | --- | --- |', '| web | service | ● online | 1 | 0 | – | – | – | `0123456789ab` |', extra, '',
  ].join('\n');

  it('reads revision, running, result, bad revisions and whether the host is lost', () => {
    const now = new Date('2026-12-02T10:05:00.000Z');
    expect(peerReport('h1', status('converged', R), now, 600_000)).toEqual({ host: 'h1', revision: R, running: R, converged: true, result: 'converged', bad: [], lost: false });
    const back = peerReport('h1', status('**rolled back** to the last good revision', OLD, `\n## Bad revisions (not retried until a new commit)\n\n- \`${R}\`: health failed`), now, 60_000);
    expect(back).toMatchObject({ running: OLD, converged: false, result: 'rolled back to the last good revision', bad: [R], lost: true });
  });
});
