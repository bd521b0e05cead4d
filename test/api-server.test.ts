import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { request } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { silentLogger } from '../src/adapters/logger.js';
import { startApiServer, type ApiServer } from '../src/api/server.js';
import { ApiTelemetry } from '../src/api/telemetry.js';
import type { EnvironmentReport } from '../src/controller/observer.js';
import { parsePublicKey } from '../src/report/keys.js';
import { cli } from './helpers/cli.js';

/** The server over real HTTP, with the controller's side played by a map of reports and a recorded trigger. */
describe('the API server (EdDSA tokens, readiness, event replay)', () => {
  const dir = mkdtempSync(join(tmpdir(), 'pm2gt-api-'));
  const reports = new Map<string, EnvironmentReport>();
  const passes: string[] = [];
  const telemetry = new ApiTelemetry({ logger: silentLogger });
  let server: ApiServer;
  let base: string;
  let operator: string;

  const get = async (path: string, token?: string, headers: Record<string, string> = {}): Promise<{ status: number; text: string }> => {
    const res = await fetch(`${base}${path}`, { headers: { ...(token ? { authorization: `Bearer ${token}` } : {}), ...headers } });
    return { status: res.status, text: await res.text() };
  };

  beforeAll(async () => {
    expect((await cli(['keygen', '--out', dir])).code).toBe(0);
    const minted = await cli(['token', '--subject', 'deployer', '--role', 'operator', '--ttl', '5m', '--jwt-private-key', join(dir, 'signing.key'), '--json']);
    expect(minted.code).toBe(0);
    operator = (JSON.parse(minted.stdout) as { token: string; alg: string }).token;
    expect(JSON.parse(minted.stdout)).toMatchObject({ alg: 'EdDSA', role: 'operator', subject: 'deployer' });
    server = await startApiServer({
      host: '127.0.0.1', port: 0,
      verifier: { alg: 'EdDSA', publicKey: parsePublicKey(readFileSync(join(dir, 'signing.pub'), 'utf8')) },
      controller: { lastResults: () => reports, requestPass: (reason) => { passes.push(reason); return { correlationId: 'queued-1', done: Promise.resolve() }; } },
      telemetry,
      readLive: async () => undefined,
      logger: silentLogger,
    });
    base = `http://127.0.0.1:${server.port}`;
  });

  afterAll(async () => {
    await server?.close();
    rmSync(dir, { recursive: true, force: true });
  });

  it('[api-auth] is not ready until the first pass completed', async () => {
    expect((await get('/readyz')).status).toBe(503);
    telemetry.passStarted({ correlationId: 'p-1', revision: 'r', reasons: ['start'], environments: ['dev'], at: 't' });
    expect((await get('/readyz')).status).toBe(503);
    telemetry.passFinished({ correlationId: 'p-1', revision: 'r', reasons: ['start'], durationMs: 5, at: 't' });
    expect((await get('/readyz')).status).toBe(200);
  });

  it('[api-auth] accepts an EdDSA token minted by `token --jwt-private-key` and refuses an HS256 one', async () => {
    expect((await get('/api/environments', operator)).status).toBe(200);
    const hs = await cli(['token', '--subject', 'x', '--ttl', '5m'], { env: { ...process.env, PM2_GITOPS_JWT_SECRET: 'y'.repeat(40) } });
    expect((await get('/api/environments', hs.stdout.trim())).status).toBe(401);
    const other = mkdtempSync(join(tmpdir(), 'pm2gt-api-other-'));
    await cli(['keygen', '--out', other]);
    const foreign = await cli(['token', '--subject', 'x', '--jwt-private-key', join(other, 'signing.key')]);
    rmSync(other, { recursive: true, force: true });
    expect((await get('/api/environments', foreign.stdout.trim())).status).toBe(401);
  });

  it('[api-sse] sends controller events (approval refused, builds) and replays what a reconnecting client missed', async () => {
    const refused: EnvironmentReport = {
      correlationId: 'p-2', environment: 'prod', tip: 'b'.repeat(40), outcome: 'not-approved', problems: ['commit is not signed'],
      decision: { required: 2, granted: 0, ok: false, approvers: [], reasons: ['commit bbbbbbbbbbbb is not signed'] }, results: [], lastActions: {}, at: 't',
    };
    // As the controller does: it keeps the report, then tells the observer.
    reports.set('prod', refused);
    telemetry.reported(refused);
    telemetry.build({ correlationId: 'p-2', environment: 'prod', event: { phase: 'start', task: 'web', step: 'install' }, at: 't' });
    telemetry.build({ correlationId: 'p-2', environment: 'prod', event: { phase: 'end', task: 'web', step: 'install', status: 'ok', exitCode: 0, durationMs: 1500 }, at: 't' });
    const text = await new Promise<string>((resolve, reject) => {
      let got = '';
      const req = request(`${base}/api/events`, { headers: { authorization: `Bearer ${operator}`, 'last-event-id': '0' } }, (res) => {
        res.setEncoding('utf8');
        res.on('data', (d: string) => { got += d; if (got.includes('event: build-finished')) { req.destroy(); resolve(got); } });
      });
      req.on('error', (err) => { if (!got.includes('build-finished')) reject(err); });
      req.end();
    });
    const events = text.split('\n\n').filter((f) => f.includes('data: ')).map((f) => JSON.parse(f.slice(f.indexOf('data: ') + 6)) as Record<string, any>);
    expect(events.map((e) => e.type)).toEqual(['reconcile-started', 'reconcile-finished', 'approval-refused', 'build-started', 'build-finished']);
    expect(events[2]).toMatchObject({ correlationId: 'p-2', environment: 'prod', data: { required: 2, granted: 0 } });
    expect(events[4]).toMatchObject({ data: { task: 'web', step: 'install', status: 'ok', durationMs: 1500 } });
    const metrics = await get('/metrics', operator);
    expect(metrics.text).toMatch(/^pm2_gitops_build_duration_seconds_count\{environment="prod",status="ok",step="install",task="web"\} 1$/m);
  });

  it('[api-auth] lets an operator queue a pass of a known environment only', async () => {
    const r = await fetch(`${base}/api/environments/prod/reconcile`, { method: 'POST', headers: { authorization: `Bearer ${operator}` } });
    expect(r.status).toBe(202);
    expect(await r.json()).toEqual({ queued: true, environment: 'prod', correlationId: 'queued-1' });
    expect(passes).toEqual(['reconcile requested by deployer']);
    expect((await fetch(`${base}/api/environments/prod/reconcile`, { headers: { authorization: `Bearer ${operator}` } })).status).toBe(405);
    expect((await fetch(`${base}/hooks/git`, { method: 'POST', body: '{}', headers: { 'x-gitlab-token': 'anything' } })).status).toBe(401);
  });
});
