import { createHmac, generateKeyPairSync } from 'node:crypto';
import { request } from 'node:http';
import { connect } from 'node:net';
import { SignJWT } from 'jose';
import parsePrometheusTextFormat from 'parse-prometheus-text-format';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { cli } from './helpers/cli.js';
import { controllerWait, startController, type RunningController } from './helpers/controller.js';
import { git, gitFixture, type GitFixture } from './helpers/git.js';
import { isolatedPm2, type IsolatedPm2 } from './helpers/pm2.js';
import { tinyRepo } from './helpers/tiny-repo.js';

const WEB_PORT = 27700;
const API_PORT = 27701;
const API = `http://127.0.0.1:${API_PORT}`;
const NS = 'api-int';
const JWT_SECRET = 'jwt-secret-for-the-api-test-3c9f1a7e5b';
const WEBHOOK_SECRET = 'hook-secret-5e2d8c41';
const ENV_SECRET = 'tok-api-first-9d4e2a';

interface Answer { status: number; text: string; headers: Headers }

async function call(path: string, opts: { token?: string; method?: string; headers?: Record<string, string>; body?: string | Buffer } = {}): Promise<Answer> {
  const res = await fetch(`${API}${path}`, {
    method: opts.method ?? 'GET',
    headers: { ...(opts.token !== undefined ? { authorization: `Bearer ${opts.token}` } : {}), ...opts.headers },
    ...(opts.body !== undefined ? { body: typeof opts.body === 'string' ? opts.body : new Uint8Array(opts.body) } : {}),
  });
  return { status: res.status, text: await res.text(), headers: res.headers };
}

async function mint(role: 'viewer' | 'operator', extra: string[] = []): Promise<string> {
  const r = await cli(['token', '--subject', `${role}-user`, '--role', role, '--ttl', '10m', ...extra], { env: { ...process.env, PM2_GITOPS_JWT_SECRET: JWT_SECRET } });
  expect(r.code).toBe(0);
  return r.stdout.trim();
}

function b64(json: unknown): string {
  return Buffer.from(JSON.stringify(json)).toString('base64url');
}

interface SseEvent { id: string; event: string; data: Record<string, unknown>; receivedAt: number }

/** An open `GET /api/events` stream that collects every event. */
function openEvents(token: string): Promise<{ events: SseEvent[]; close(): void }> {
  return new Promise((resolve, reject) => {
    const events: SseEvent[] = [];
    const req = request(`${API}/api/events`, { headers: { authorization: `Bearer ${token}` } }, (res) => {
      if (res.statusCode !== 200) { reject(new Error(`events answered ${res.statusCode}`)); return; }
      let buffer = '';
      res.setEncoding('utf8');
      res.on('data', (chunk: string) => {
        buffer += chunk;
        let end: number;
        while ((end = buffer.indexOf('\n\n')) >= 0) {
          const frame = buffer.slice(0, end);
          buffer = buffer.slice(end + 2);
          const fields = Object.fromEntries(frame.split('\n').filter((l) => !l.startsWith(':')).map((l) => [l.slice(0, l.indexOf(':')), l.slice(l.indexOf(':') + 1).trimStart()]));
          if (fields.event && fields.data) events.push({ id: fields.id ?? '', event: fields.event, data: JSON.parse(fields.data) as Record<string, unknown>, receivedAt: Date.now() });
        }
      });
      resolve({ events, close: () => req.destroy() });
    });
    req.on('error', (err) => { if (!req.destroyed) reject(err); });
    req.end();
  });
}

/** The top-level keys of a JSON object's text, in order and with repeats (JSON.parse would keep only the last). */
function topLevelKeys(text: string): string[] {
  const keys: string[] = [];
  let depth = 0;
  let expectKey = false;
  for (let i = 0; i < text.length; i++) {
    const c = text[i];
    if (c === '"') {
      let j = i + 1;
      while (text[j] !== '"') j += text[j] === '\\' ? 2 : 1;
      if (depth === 1 && expectKey) { keys.push(text.slice(i + 1, j)); expectKey = false; }
      i = j;
    } else if (c === '{' || c === '[') {
      depth++;
      if (depth === 1) expectKey = true;
    } else if (c === '}' || c === ']') depth--;
    else if (c === ',' && depth === 1) expectKey = true;
  }
  return keys;
}

function githubSignature(body: string, secret: string): string {
  return `sha256=${createHmac('sha256', secret).update(body).digest('hex')}`;
}

describe('the HTTP API of a running controller', () => {
  let pm2: IsolatedPm2;
  let repo: GitFixture;
  let ctl: RunningController;
  let viewer: string;
  let operator: string;
  const statusText = (): string => git(repo.remote, ['show', 'pm2-gitops/status:status/dev.md']);
  const waitFor = controllerWait(() => ctl, statusText);

  beforeAll(async () => {
    pm2 = isolatedPm2();
    repo = gitFixture();
    repo.commit('initial', tinyRepo({ env: 'dev', namespace: NS, port: WEB_PORT, greeting: 'hello', secret: ENV_SECRET }));
    // A file:// URL is not watched: only the webhook (or the hour-long interval) makes the controller fetch.
    ctl = startController({
      repo: `file://${repo.remote}`,
      env: { ...pm2.env, PM2_GITOPS_JWT_SECRET: JWT_SECRET, PM2_GITOPS_WEBHOOK_SECRET: WEBHOOK_SECRET },
      args: ['--env', 'dev', '--listen', `127.0.0.1:${API_PORT}`, '--interval', '1h', '--resync', '1h'],
    });
    viewer = await mint('viewer');
    operator = await mint('operator');
    await waitFor('the API to be ready', async () => (await call('/readyz').catch(() => ({ status: 0 }))).status === 200, 60_000, 200);
  }, 90_000);

  afterAll(async () => {
    if (ctl && ctl.child.exitCode === null) await ctl.stop();
    await pm2?.kill();
    repo?.cleanup();
  });

  it('[api-auth] answers /healthz and /readyz without a token, once the first reconcile completed', async () => {
    expect((await call('/healthz')).status).toBe(200);
    const ready = await call('/readyz');
    expect(ready.status).toBe(200);
    expect(JSON.parse(ready.text)).toEqual({ status: 'ready' });
  });

  it('[api-auth] refuses missing, garbage, alg none, wrongly signed, other-algorithm and expired tokens with a bare 401', async () => {
    const now = Math.floor(Date.now() / 1000);
    const none = `${b64({ alg: 'none', typ: 'JWT' })}.${b64({ sub: 'mallory', role: 'operator', exp: now + 600 })}.`;
    const wrongKey = await new SignJWT({ role: 'operator' }).setProtectedHeader({ alg: 'HS256' }).setSubject('mallory').setExpirationTime(now + 600)
      .sign(new TextEncoder().encode('another-secret-of-enough-length-0000000'));
    const { privateKey } = generateKeyPairSync('ed25519');
    const otherAlg = await new SignJWT({ role: 'operator' }).setProtectedHeader({ alg: 'EdDSA' }).setSubject('mallory').setExpirationTime(now + 600).sign(privateKey);
    const secret = new TextEncoder().encode(JWT_SECRET);
    const expired = await new SignJWT({ role: 'operator' }).setProtectedHeader({ alg: 'HS256' }).setSubject('alice').setIssuedAt(now - 7200).setExpirationTime(now - 3600).sign(secret);
    const noExp = await new SignJWT({ role: 'operator' }).setProtectedHeader({ alg: 'HS256' }).setSubject('alice').sign(secret);
    const badRole = await new SignJWT({ role: 'admin' }).setProtectedHeader({ alg: 'HS256' }).setSubject('alice').setExpirationTime(now + 600).sign(secret);
    const cases: Array<[string, Record<string, string>]> = [
      ['missing', {}],
      ['garbage', { authorization: 'Bearer not-a-jwt' }],
      ['not bearer', { authorization: `Basic ${Buffer.from('a:b').toString('base64')}` }],
      ['alg none', { authorization: `Bearer ${none}` }],
      ['wrong key', { authorization: `Bearer ${wrongKey}` }],
      ['EdDSA where HS256 is pinned', { authorization: `Bearer ${otherAlg}` }],
      ['expired', { authorization: `Bearer ${expired}` }],
      ['no exp', { authorization: `Bearer ${noExp}` }],
      ['unknown role', { authorization: `Bearer ${badRole}` }],
    ];
    for (const path of ['/api/environments', '/metrics', '/api/environments/dev/tasks']) {
      for (const [what, headers] of cases) {
        const r = await call(path, { headers });
        expect({ what, path, status: r.status, body: r.text }).toEqual({ what, path, status: 401, body: '{"error":"unauthorized"}' });
        expect(r.headers.get('www-authenticate')).toBe('Bearer');
      }
    }
    const post = await call('/api/environments/dev/reconcile', { method: 'POST', headers: { authorization: `Bearer ${none}` } });
    expect(post.status).toBe(401);
  });

  it('[api-auth] lets a viewer read but not trigger (403), and an operator trigger a pass whose correlation id is in the logs', async () => {
    expect((await call('/api/environments', { token: viewer })).status).toBe(200);
    const refused = await call('/api/environments/dev/reconcile', { method: 'POST', token: viewer });
    expect(refused.status).toBe(403);
    expect(refused.text).toBe('{"error":"forbidden"}');
    const accepted = await call('/api/environments/dev/reconcile', { method: 'POST', token: operator });
    expect(accepted.status).toBe(202);
    const { correlationId } = JSON.parse(accepted.text) as { correlationId: string };
    expect(correlationId).toMatch(/^[0-9a-f-]{36}$/);
    const lines = (): Array<Record<string, unknown>> => ctl.logs().split('\n').filter((l) => l.startsWith('{')).map((l) => JSON.parse(l) as Record<string, unknown>);
    await waitFor('the triggered pass to reconcile', () => lines().some((l) => l.correlationId === correlationId && l.msg === 'dev: converged'));
    const request = lines().find((l) => l.msg === 'http request' && l.correlationId === correlationId)!;
    expect(request).toMatchObject({ method: 'POST', path: '/api/environments/dev/reconcile', status: 202, subject: 'operator-user', role: 'operator' });
    expect(lines().some((l) => l.correlationId === correlationId && l.msg === 'reconciling')).toBe(true);
    expect((await call('/api/environments/nope/reconcile', { method: 'POST', token: operator })).status).toBe(404);
  });

  it('[api-tasks] lists the environment and its tasks: desired, live, code digest, last action and shape, never an env value', async () => {
    const envs = JSON.parse((await call('/api/environments', { token: viewer })).text) as { environments: Array<Record<string, unknown>> };
    expect(envs.environments.map((e) => e.name)).toEqual(['dev']);
    expect(envs.environments[0]).toMatchObject({ namespace: NS, outcome: 'converged', tip: repo.head(), tasks: 2 });
    const r = await call('/api/environments/dev/tasks', { token: viewer });
    expect(r.status).toBe(200);
    expect(r.text).not.toContain(ENV_SECRET);
    const body = JSON.parse(r.text) as { revision: string; observedNow: boolean; tasks: Array<Record<string, any>> };
    expect(body.revision).toBe(repo.head());
    expect(body.observedNow).toBe(true);
    expect(body.tasks.map((t) => t.name)).toEqual(['setup', 'web']);
    const web = body.tasks.find((t) => t.name === 'web')!;
    const jlist = (await pm2.jlist()).find((p) => p.name === 'web' && p.pm2_env.namespace === NS)!;
    expect(web).toMatchObject({ type: 'service', state: 'online', shape: '○ online' });
    expect(web.live.instances).toEqual([expect.objectContaining({ pmId: jlist.pm_id, pid: jlist.pid, status: 'online' })]);
    expect(web.desired.process.script).toBe('apps/server.cjs');
    expect(web.desired.process.env.SECRET_TOKEN).toMatch(/^sha256:[0-9a-f]{12}$/);
    expect(web.desired.process.env.PORT).toMatch(/^sha256:/);
    expect(web.code.desired).toMatch(/^[0-9a-f]{16,}/);
    expect(web.code.running).toBe(web.code.desired);
    expect(web.lastAction.action).toBe('create (ok)');
    expect(body.tasks.find((t) => t.name === 'setup')).toMatchObject({ type: 'job', state: 'completed', shape: '□ completed' });
    expect((await call('/api/environments/nope/tasks', { token: viewer })).status).toBe(404);
  });

  it('[api-metrics] serves Prometheus text that a parser reads: reconciles, actions, durations, processes by state, CPU and memory', async () => {
    const r = await call('/metrics', { token: viewer });
    expect(r.status).toBe(200);
    expect(r.headers.get('content-type')).toContain('text/plain; version=0.0.4');
    const families = parsePrometheusTextFormat(r.text);
    const byName = new Map(families.map((f) => [f.name, f]));
    for (const f of families) expect(f.name.startsWith('pm2_gitops_')).toBe(true);
    const metric = (name: string, labels: Record<string, string>): any => byName.get(name)?.metrics.find((m: any) => Object.entries(labels).every(([k, v]) => m.labels?.[k] === v));
    expect(byName.get('pm2_gitops_reconcile_duration_seconds')?.type).toBe('HISTOGRAM');
    expect(byName.get('pm2_gitops_build_duration_seconds')?.type).toBe('HISTOGRAM');
    expect(byName.get('pm2_gitops_reconciles_total')?.type).toBe('COUNTER');
    expect(byName.get('pm2_gitops_managed_processes')?.type).toBe('GAUGE');
    // The parser folds the series of a labelled histogram into one; its count is read from the sample line.
    expect(Object.keys(byName.get('pm2_gitops_reconcile_duration_seconds')!.metrics[0]!.buckets ?? {})).toContain('+Inf');
    const count = /^pm2_gitops_reconcile_duration_seconds_count\{environment="dev"\} (\d+)$/m.exec(r.text);
    expect(Number(count?.[1])).toBeGreaterThanOrEqual(1);
    expect(Number(metric('pm2_gitops_reconciles_total', { environment: 'dev', result: 'converged' }).value)).toBeGreaterThanOrEqual(1);
    expect(Number(metric('pm2_gitops_actions_total', { environment: 'dev', action: 'create', result: 'ok' }).value)).toBe(2);
    expect(metric('pm2_gitops_drifted_tasks', { environment: 'dev' })).toBeDefined();
    const last = Number(metric('pm2_gitops_last_successful_reconcile_timestamp_seconds', { environment: 'dev' }).value);
    expect(Math.abs(Date.now() / 1000 - last)).toBeLessThan(600);
    expect(Number(metric('pm2_gitops_managed_processes', { environment: 'dev', state: 'online' }).value)).toBe(1);
    expect(Number(metric('pm2_gitops_managed_processes', { environment: 'dev', state: 'completed' }).value)).toBe(1);
    const web = (await pm2.jlist()).find((p) => p.name === 'web' && p.pm2_env.namespace === NS)!;
    expect(Number(metric('pm2_gitops_process_memory_bytes', { environment: 'dev', task: 'web', pm_id: String(web.pm_id) }).value)).toBeGreaterThan(1_000_000);
    expect(metric('pm2_gitops_process_cpu_percent', { environment: 'dev', task: 'web' })).toBeDefined();
    expect(Number(metric('pm2_gitops_ready', {}).value)).toBe(1);
    expect(r.text).not.toContain(ENV_SECRET);
  });

  it('[api-sse] streams a process exit within 1 s of pm2 stop, with the correlation id of the pass that heals it', async () => {
    const stream = await openEvents(viewer);
    try {
      const web = (await pm2.jlist()).find((p) => p.name === 'web' && p.pm2_env.namespace === NS)!;
      await new Promise((r) => { setTimeout(r, 200); });
      expect((await pm2.pm2(['stop', String(web.pm_id)])).code).toBe(0);
      // `pm2 stop` returns once PM2 saw the process exit: the event is on the stream within 1 s of that.
      const stopReturned = Date.now();
      const exit = await waitFor('the exit event', () => stream.events.find((e) => e.event === 'process' && (e.data.data as any).name === 'web' && ['exit', 'stop'].includes((e.data.data as any).event)), 1_000, 10);
      expect(exit.receivedAt - stopReturned).toBeLessThan(1000);
      expect(exit.data).toMatchObject({ type: 'process', environment: 'dev' });
      const id = exit.data.correlationId as string;
      expect(id).toMatch(/^[0-9a-f-]{36}$/);
      const stoppedState = await waitFor('a task-state event for web', () => stream.events.find((e) => e.event === 'task-state' && (e.data.data as any).task === 'web' && (e.data.data as any).to !== 'online'), 5_000, 20);
      expect((stoppedState.data.data as any).from).toBe('online');
      const started = await waitFor('the healing pass', () => stream.events.find((e) => e.event === 'reconcile-started' && e.data.correlationId === id), 15_000, 50);
      expect((started.data.data as any).reasons.join(' ')).toMatch(/process web (exit|stop)/);
      const finished = await waitFor('the healing pass to finish', () => stream.events.find((e) => e.event === 'reconcile-finished' && e.data.correlationId === id), 30_000, 50);
      expect((finished.data.data as any).environments).toEqual([expect.objectContaining({ environment: 'dev', outcome: 'converged' })]);
      await waitFor('web online again', () => stream.events.find((e) => e.event === 'task-state' && (e.data.data as any).task === 'web' && (e.data.data as any).to === 'online'), 10_000, 50);
      // The heal restarted web: its evidence report carries the same correlation id.
      const files = git(repo.remote, ['ls-tree', '--name-only', 'pm2-gitops/status:evidence/dev']).split('\n');
      const reports = files.map((f) => JSON.parse(git(repo.remote, ['show', `pm2-gitops/status:evidence/dev/${f}`])) as Record<string, unknown>);
      expect(reports.some((rep) => rep.correlationId === id)).toBe(true);
      expect(JSON.stringify(stream.events)).not.toContain(ENV_SECRET);
    } finally {
      stream.close();
    }
  });

  it('[api-webhook] a GitHub-signed call fetches and applies the pushed commit at once; GitLab\'s token works too', async () => {
    const sha = repo.commit('greet differently', { 'base/web.yaml': repo.read('base/web.yaml').replace('GREETING: hello', 'GREETING: salut') });
    // Nothing watches this remote and the interval is an hour: without the webhook the push waits.
    await new Promise((r) => { setTimeout(r, 1500); });
    expect(((await (await fetch(`http://127.0.0.1:${WEB_PORT}/`)).json()) as { greeting: string }).greeting).toBe('hello');
    const body = JSON.stringify({ ref: 'refs/heads/main', after: sha });
    const r = await call('/hooks/git', { method: 'POST', body, headers: { 'content-type': 'application/json', 'x-github-event': 'push', 'x-hub-signature-256': githubSignature(body, WEBHOOK_SECRET) } });
    expect(r.status).toBe(202);
    await waitFor('the pushed greeting', async () => {
      const res = await fetch(`http://127.0.0.1:${WEB_PORT}/`).catch(() => undefined);
      return res && ((await res.json()) as { greeting: string }).greeting === 'salut';
    }, 30_000, 200);
    const envs = JSON.parse((await call('/api/environments', { token: viewer })).text) as { environments: Array<{ tip: string }> };
    await waitFor('the environment at the pushed tip', async () => (JSON.parse((await call('/api/environments', { token: viewer })).text) as typeof envs).environments[0]!.tip === sha);
    const gitlab = await call('/hooks/git', { method: 'POST', body: '{}', headers: { 'x-gitlab-token': WEBHOOK_SECRET, 'x-gitlab-event': 'Push Hook' } });
    expect(gitlab.status).toBe(202);
  });

  it('[api-webhook] refuses bad signatures (401), bodies over 1 MiB (413) and cuts off a client that stalls', async () => {
    const body = '{"ref":"refs/heads/main"}';
    const bad: Array<Record<string, string>> = [
      {},
      { 'x-hub-signature-256': githubSignature(body, 'not-the-secret') },
      { 'x-hub-signature-256': githubSignature(`${body} `, WEBHOOK_SECRET) },
      { 'x-hub-signature-256': 'sha1=abc' },
      { 'x-gitlab-token': 'not-the-secret' },
    ];
    for (const headers of bad) expect((await call('/hooks/git', { method: 'POST', body, headers })).status).toBe(401);
    const big = Buffer.alloc(1024 * 1024 + 1, 'a');
    const tooBig = await call('/hooks/git', { method: 'POST', body: big, headers: { 'x-hub-signature-256': githubSignature(big.toString(), WEBHOOK_SECRET) } });
    expect(tooBig.status).toBe(413);
    // Headers sent, the body promised and never sent: the server answers 408 and closes.
    const started = Date.now();
    const answer = await new Promise<string>((resolve) => {
      let text = '';
      const socket = connect(API_PORT, '127.0.0.1', () => {
        socket.write(`POST /hooks/git HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Length: 100\r\nX-Gitlab-Token: ${WEBHOOK_SECRET}\r\n\r\n{"a":`);
      });
      socket.setEncoding('utf8');
      socket.on('data', (d: string) => { text += d; });
      socket.on('close', () => resolve(text));
      socket.on('error', () => resolve(text));
    });
    expect(Date.now() - started).toBeLessThan(12_000);
    expect(answer.split('\r\n')[0]).toMatch(/^HTTP\/1\.1 408/);
  }, 30_000);

  it('[api-auth] never writes a token or a secret to its log, and no log line names a key twice', async () => {
    const logs = ctl.logs();
    expect(logs).toContain('"msg":"http request"');
    for (const secret of [JWT_SECRET, WEBHOOK_SECRET, ENV_SECRET, viewer, operator, viewer.split('.')[2]!]) expect(logs).not.toContain(secret);
    const lines = logs.split('\n').filter((l) => l.startsWith('{'));
    expect(lines.length).toBeGreaterThan(20);
    const twice = lines.map((l) => [l, topLevelKeys(l)] as const).filter(([, keys]) => new Set(keys).size !== keys.length).map(([l]) => l.slice(0, 200));
    expect(twice).toEqual([]);
  });
});
