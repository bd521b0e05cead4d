import { createServer, type Server } from 'node:http';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { cli } from './helpers/cli.js';
import { controllerWait, startController, type RunningController } from './helpers/controller.js';
import { git, gitFixture, type GitFixture } from './helpers/git.js';
import { isolatedPm2, type IsolatedPm2 } from './helpers/pm2.js';
import { tinyRepo } from './helpers/tiny-repo.js';

const WEB_PORT = 27820;
const API_PORT = 27821;
const SINK_PORT = 27822;
const NS = 'ops-ctl';
const JWT_SECRET = 'jwt-secret-for-the-ops-test-7a1c93e0d2';
const ENV_SECRET = 'tok-ops-secret-61b7c2';

interface Received { body: Record<string, unknown>; text: string; at: number; status: number }

async function greeting(): Promise<string | undefined> {
  try {
    const res = await fetch(`http://127.0.0.1:${WEB_PORT}/`, { signal: AbortSignal.timeout(1_000) });
    return ((await res.json()) as { greeting: string }).greeting;
  } catch {
    return undefined;
  }
}

async function api(path: string, token: string, method = 'POST'): Promise<{ status: number; body: Record<string, unknown> }> {
  const res = await fetch(`http://127.0.0.1:${API_PORT}${path}`, { method, headers: { authorization: `Bearer ${token}` } });
  return { status: res.status, body: (await res.json()) as Record<string, unknown> };
}

async function mint(role: 'viewer' | 'operator'): Promise<string> {
  const r = await cli(['token', '--subject', `${role}-user`, '--role', role, '--ttl', '10m'], { env: { ...process.env, PM2_GITOPS_JWT_SECRET: JWT_SECRET } });
  expect(r.code).toBe(0);
  return r.stdout.trim();
}

describe('operations controls of a running controller', () => {
  let pm2: IsolatedPm2;
  let repo: GitFixture;
  let ctl: RunningController;
  let sink: Server;
  const received: Received[] = [];
  /** The sink answers 500 to its first two posts, then 200. */
  let failFirst = 2;
  const files = (greeting: string): Record<string, string> => tinyRepo({ env: 'dev', namespace: NS, port: WEB_PORT, greeting, secret: ENV_SECRET });
  const statusText = (): string => git(repo.remote, ['show', 'pm2-gitops/status:status/dev.md']);
  const waitFor = controllerWait(() => ctl, statusText);

  beforeAll(async () => {
    sink = createServer((req, res) => {
      let text = '';
      req.on('data', (d: Buffer) => { text += d.toString(); });
      req.on('end', () => {
        const status = failFirst-- > 0 ? 500 : 200;
        received.push({ body: JSON.parse(text) as Record<string, unknown>, text, at: Date.now(), status });
        res.writeHead(status).end();
      });
    });
    await new Promise<void>((resolve) => { sink.listen(SINK_PORT, '127.0.0.1', resolve); });
    pm2 = isolatedPm2('pm2gt-opsctl-');
    repo = gitFixture(undefined, 'pm2gt-opsctl-');
    repo.commit('initial', files('hello'));
    ctl = startController({
      repo: repo.remote,
      env: { ...pm2.env, PM2_GITOPS_JWT_SECRET: JWT_SECRET },
      args: ['--env', 'dev', '--host', 'ops-host', '--listen', `127.0.0.1:${API_PORT}`, '--notify', `http://127.0.0.1:${SINK_PORT}/hooks/T000/B000/secretpath`],
    });
    await waitFor('the first revision to converge', () => { try { return statusText().includes('| result | converged |'); } catch { return false; } }, 60_000, 200);
    expect(await greeting()).toBe('hello');
  }, 90_000);

  afterAll(async () => {
    if (ctl && ctl.child.exitCode === null) await ctl.stop();
    await pm2?.kill();
    repo?.cleanup();
    await new Promise((resolve) => { sink?.close(resolve); });
  });

  it('[ops-suspend] a push is not applied and drift not healed while suspended (CLI); it is applied on resume (API)', async () => {
    const s = await cli(['suspend', '--repo', repo.remote, '--env', 'dev', '--by', 'alice', '--reason', 'db migration', '--json']);
    expect(s.code, s.stderr).toBe(0);
    const record = JSON.parse(s.stdout) as { suspended: boolean; by: string; at: string };
    expect(record).toMatchObject({ environment: 'dev', suspended: true, by: 'alice', reason: 'db migration', reported: true });
    expect(git(repo.remote, ['log', '-1', '--format=%an: %s', 'pm2-gitops/status', '--', 'suspensions/dev.json'])).toBe('alice: dev: suspended by alice');
    await waitFor('the status to say suspended', () => statusText().includes(`| suspended | by alice at ${record.at}: db migration |`), 30_000);
    expect(statusText()).toContain('| result | **suspended**: observed and reported, nothing is changed until it is resumed |');

    const tip = repo.commit('say bonjour', files('bonjour'));
    await waitFor('the push to be observed', () => statusText().includes(`| revision | \`${tip}\``), 30_000);
    expect(statusText()).toContain(`revision ${tip} is not applied while the environment is suspended`);
    expect(await greeting()).toBe('hello');

    expect((await pm2.pm2(['stop', 'web', '--namespace', NS])).code).toBe(0);
    await waitFor('the stopped web to be reported', () => statusText().includes('| web | service | □ stopped |'), 30_000);
    await new Promise((r) => { setTimeout(r, 2_500); });
    expect((await pm2.jlist()).find((p) => p.name === 'web')?.pm2_env.status).toBe('stopped');

    const viewer = await mint('viewer');
    const operator = await mint('operator');
    expect((await api('/api/environments/dev/resume', viewer)).status).toBe(403);
    expect((await api('/api/environments/nope/resume', operator)).status).toBe(404);
    expect((await api('/api/environments/dev/resume', operator, 'GET')).status).toBe(405);
    const resumed = await api('/api/environments/dev/resume', operator);
    expect(resumed).toMatchObject({ status: 202, body: { environment: 'dev', suspended: false, by: 'operator-user' } });
    await waitFor('the push to be applied on resume', async () => (await greeting()) === 'bonjour', 60_000, 200);
    await waitFor('the status to drop the suspension', () => statusText().includes('| result | converged |') && !statusText().includes('| suspended |'), 30_000);

    // Suspended through the API: the token's subject is who; resumed with the CLI.
    const suspended = await api('/api/environments/dev/suspend', operator);
    expect(suspended).toMatchObject({ status: 202, body: { suspended: true, by: 'operator-user' } });
    await waitFor('the status to name the operator', () => statusText().includes(`| suspended | by operator-user at ${suspended.body.at as string} |`), 30_000);
    const envs = await api('/api/environments', viewer, 'GET');
    expect((envs.body.environments as Array<Record<string, unknown>>)[0]).toMatchObject({ outcome: 'suspended', suspended: { by: 'operator-user' } });
    expect((await cli(['resume', '--repo', repo.remote, '--env', 'dev', '--by', 'bob'])).code).toBe(0);
    await waitFor('the CLI resume to be seen', () => !statusText().includes('| suspended |') && statusText().includes('| result | converged |'), 30_000);
    expect(git(repo.remote, ['log', '--format=%s', 'pm2-gitops/status', '--', 'suspensions/dev.json']).split('\n')).toEqual([
      'dev: resumed by bob', 'dev: suspended by operator-user', 'dev: resumed by operator-user', 'dev: suspended by alice',
    ]);
  }, 240_000);

  it('[ops-notify] healed drift and a failed reconcile reach a local sink, retried after its 500s, with no secret', async () => {
    const before = received.length;
    expect((await pm2.pm2(['stop', 'web', '--namespace', NS])).code).toBe(0);
    await waitFor('a drift-healed notification', () => received.slice(before).some((r) => r.body.event === 'drift-healed' && r.status === 200), 30_000);
    const bad = repo.commit('an invalid manifest', { 'base/web.yaml': 'apiVersion: pm2-gitops/v1\nkind: Task\nmetadata: { name: web }\nspec: { process: { instances: many } }\n' });
    const failed = await waitFor('a reconcile-failed notification', () => received.find((r) => r.body.event === 'reconcile-failed' && r.status === 200), 30_000);
    expect(failed.body).toMatchObject({ environment: 'dev', revision: bad, outcome: 'invalid', host: 'ops-host' });
    expect(typeof failed.body.correlationId).toBe('string');
    expect(failed.body.text).toMatch(/^:x: dev on ops-host: reconcile of [0-9a-f]{12} found invalid manifests/);

    // The first notification was refused twice (500) and tried again after about 1 s, then 2 s.
    const first = received.filter((r) => r.text === received[0]!.text);
    expect(first.map((r) => r.status)).toEqual([500, 500, 200]);
    expect(first[1]!.at - first[0]!.at).toBeGreaterThanOrEqual(900);
    expect(first[2]!.at - first[1]!.at).toBeGreaterThanOrEqual(1_900);
    const healed = received.find((r) => r.body.event === 'drift-healed')!.body;
    expect(healed).toMatchObject({ environment: 'dev', task: 'web', outcome: 'converged', host: 'ops-host' });
    expect(healed.text).toContain('healed drift of web (start web ok)');
    for (const r of received) expect(r.text).not.toContain(ENV_SECRET);
    // The URL's path is a secret too: never in the controller's log.
    expect(ctl.logs()).not.toContain('secretpath');
  }, 120_000);
});
