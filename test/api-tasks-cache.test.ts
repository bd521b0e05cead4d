import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { silentLogger } from '../src/adapters/logger.js';
import { hmacKey, mintToken } from '../src/api/auth.js';
import { startApiServer, type ApiServer } from '../src/api/server.js';
import { ApiTelemetry } from '../src/api/telemetry.js';
import type { EnvironmentReport } from '../src/controller/observer.js';
import type { LiveTask } from '../src/domain/live.js';
import { processSecrets } from '../src/domain/secret-registry.js';

/** The tasks answer is kept per process-list look and report, and made again when either, or the secrets, change. */
describe('the tasks endpoint keeps its answer', () => {
  const reports = new Map<string, EnvironmentReport>();
  let live: LiveTask[] = [];
  let server: ApiServer;
  let base: string;
  let token: string;
  const key = hmacKey('k'.repeat(48));
  const report = (revision: string): EnvironmentReport => ({
    correlationId: 'c', environment: 'dev', tip: revision, outcome: 'converged', problems: [], results: [], lastActions: {}, at: '2026-12-02T00:00:00.000Z', host: 'h',
    decision: { ok: true, required: 0, granted: 0, approvers: [], reasons: [] },
    state: { environment: 'dev', namespace: 'dev', file: 'environments/dev/environment.yaml', policy: { prune: false, selfHeal: false, rollback: false, pruneLimit: '50%', approvals: { required: 0 } }, tasks: [{ name: 'web', sourceName: 'web', file: 'base/web.yaml', type: 'service', dependsOn: [], labels: {}, context: {}, process: { script: 'web.js' } }] },
  } as unknown as EnvironmentReport);
  const liveWith = (args: string): LiveTask[] => [{ name: 'web', namespace: 'dev', instances: [{ pmId: 0, pid: 10, status: 'online', restarts: 0, startedAt: 1 }], process: { script: 'web.js', args } } as unknown as LiveTask];
  const tasks = async (): Promise<string> => {
    const res = await fetch(`${base}/api/environments/dev/tasks`, { headers: { authorization: `Bearer ${token}` } });
    expect(res.status).toBe(200);
    return res.text();
  };

  beforeAll(async () => {
    token = await mintToken({ subject: 'viewer', role: 'viewer', ttlMs: 300_000, signer: { alg: 'HS256', secret: key } });
    server = await startApiServer({
      host: '127.0.0.1', port: 0, verifier: { alg: 'HS256', secret: key },
      controller: { lastResults: () => reports, requestPass: () => ({ correlationId: 'q', done: Promise.resolve() }) },
      telemetry: new ApiTelemetry({ logger: silentLogger }),
      readLive: async (rs) => new Map(rs.map((r) => [r.environment, live])),
      logger: silentLogger,
    });
    base = `http://127.0.0.1:${server.port}`;
  });
  afterAll(async () => { await server?.close(); processSecrets.register('api-tasks-cache test', []); });

  it('answers from a new look, a new report and a newly known secret', async () => {
    reports.set('dev', report('a'.repeat(40)));
    live = liveWith('--name first-look');
    expect(await tasks()).toContain('first-look');
    live = liveWith('--name second-look');
    expect(await tasks()).toContain('second-look');
    reports.set('dev', report('b'.repeat(40)));
    expect(await tasks()).toContain('b'.repeat(40));
    // A value registered as a secret after the answer was made is redacted in the next answer, same look and report.
    live = liveWith('--token tok-41c9e7b2d5');
    expect(await tasks()).toContain('tok-41c9e7b2d5');
    processSecrets.register('api-tasks-cache test', [{ values: ['tok-41c9e7b2d5'], words: [], shown: [] }]);
    expect(await tasks()).not.toContain('tok-41c9e7b2d5');
  });
});
