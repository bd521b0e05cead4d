/**
 * The dashboard in a real browser: Debian's headless Chromium driven by
 * playwright-core, against a controller (`run --listen`) that delivers the
 * bundled example to a PM2 daemon of its own. The page asks for a token
 * once, lists the example's tasks with their shapes, and shows a `pm2 stop`
 * live (then the controller's self-heal); screenshots go to test/artifacts/.
 */
import { execFileSync } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { chromium, type BrowserContext, type Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { cli, ROOT } from './helpers/cli.js';
import { controllerWait, startController, type RunningController } from './helpers/controller.js';
import { git, gitFixture, type GitFixture } from './helpers/git.js';
import { isolatedPm2, type IsolatedPm2 } from './helpers/pm2.js';

const API_PORT = 27850;
const EXAMPLE_API_PORT = 27851;
const EXAMPLE_WEB_PORT = 27852;
const BASE = `http://127.0.0.1:${API_PORT}`;
const JWT_SECRET = 'jwt-secret-of-the-dashboard-test-7d1e9c';
const CHROMIUM = '/usr/bin/chromium';
const ARTIFACTS = join(ROOT, 'test', 'artifacts');

/** The committed files of manifests/ at HEAD, with the dev ports moved into this file's range. */
function committedExample(): Record<string, string> {
  const paths = execFileSync('git', ['ls-tree', '-r', '-z', '--name-only', 'HEAD', 'manifests/'], { cwd: ROOT, encoding: 'utf8' }).split('\0').filter(Boolean);
  const files: Record<string, string> = {};
  for (const path of paths) {
    const text = execFileSync('git', ['show', `HEAD:${path}`], { cwd: ROOT, encoding: 'utf8' });
    const rel = path.slice('manifests/'.length);
    files[rel] = rel.endsWith('.yaml') ? text.replace(/\b3100\b/g, String(EXAMPLE_API_PORT)).replace(/\b3101\b/g, String(EXAMPLE_WEB_PORT)) : text;
  }
  return files;
}

async function mint(role: 'viewer' | 'operator'): Promise<string> {
  const r = await cli(['token', '--subject', `${role}-on-call`, '--role', role, '--ttl', '30m'], { env: { ...process.env, PM2_GITOPS_JWT_SECRET: JWT_SECRET } });
  expect(r.code, r.stderr).toBe(0);
  return r.stdout.trim();
}

/** Every request the page made, with whether it carried a bearer token and the URL it used. */
interface Seen { url: string; bearer: boolean }

describe('the dashboard of a running controller, in headless Chromium', () => {
  let pm2: IsolatedPm2;
  let repo: GitFixture;
  let ctl: RunningController;
  let home: string;
  let profile: string;
  let browser: BrowserContext;
  let operator: string;
  let viewer: string;
  const seen: Seen[] = [];
  const problems: string[] = [];
  const statusText = (): string => git(repo.remote, ['show', 'pm2-gitops/status:status/dev.md']);
  const waitFor = controllerWait(() => ctl, statusText);

  async function openPage(): Promise<Page> {
    const page = await browser.newPage();
    page.on('request', (r) => { seen.push({ url: r.url(), bearer: /^Bearer /.test(r.headers().authorization ?? '') }); });
    page.on('console', (m) => { if (m.type() === 'error') problems.push(m.text()); });
    page.on('pageerror', (e) => problems.push(e.message));
    return page;
  }

  /** Waits until the text of one element of `selector` matches `pattern`; resolves to that text. */
  async function textMatches(page: Page, selector: string, pattern: RegExp, timeoutMs = 10_000): Promise<string> {
    return waitFor(`${selector} to match ${pattern}`, async () => (await page.locator(selector).allInnerTexts()).find((t) => pattern.test(t)), timeoutMs, 100);
  }

  async function signIn(page: Page, token: string): Promise<void> {
    await page.goto(BASE);
    await page.locator('#token').fill(token);
    await page.locator('#login-form button[type=submit]').click();
    await page.locator('#task-rows tr').first().waitFor({ timeout: 15_000 });
  }

  beforeAll(async () => {
    if (!existsSync(CHROMIUM)) throw new Error(`${CHROMIUM} is missing: apt-get install -y chromium (.ci/run does it)`);
    const seed = mkdtempSync(join(tmpdir(), 'pm2gt-dash-seed-'));
    for (const [path, text] of Object.entries(committedExample())) {
      mkdirSync(dirname(join(seed, path)), { recursive: true });
      writeFileSync(join(seed, path), text);
    }
    repo = gitFixture(seed, 'pm2gt-dash-');
    rmSync(seed, { recursive: true, force: true });
    repo.commit('the example', {});
    pm2 = isolatedPm2('pm2gt-dash-pm2-');
    home = mkdtempSync(join(tmpdir(), 'pm2gt-dash-home-'));
    ctl = startController({
      repo: `file://${repo.remote}`,
      env: { ...pm2.env, HOME: home, npm_config_cache: join(home, '.npm'), PM2_GITOPS_JWT_SECRET: JWT_SECRET },
      args: ['--env', 'dev', '--listen', `127.0.0.1:${API_PORT}`, '--interval', '1h', '--resync', '1h'],
    });
    [operator, viewer] = await Promise.all([mint('operator'), mint('viewer')]);
    await waitFor('the controller to be ready', async () => (await fetch(`${BASE}/readyz`).catch(() => undefined))?.status === 200, 120_000, 250);
    profile = mkdtempSync(join(tmpdir(), 'pm2gt-dash-chromium-'));
    browser = await chromium.launchPersistentContext(profile, {
      executablePath: CHROMIUM,
      headless: true,
      viewport: { width: 1440, height: 860 },
      args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run', '--disable-background-networking', '--disable-component-update', '--disable-sync'],
    });
    mkdirSync(ARTIFACTS, { recursive: true });
  }, 180_000);

  afterAll(async () => {
    await browser?.close();
    if (ctl && ctl.child.exitCode === null) await ctl.stop();
    await pm2?.kill();
    repo?.cleanup();
    for (const dir of [home, profile]) if (dir) rmSync(dir, { recursive: true, force: true });
  });

  it('[api-dashboard] serves the page and its files with a strict CSP, without a token and without data', async () => {
    const page = await fetch(`${BASE}/`);
    expect(page.status).toBe(200);
    expect(page.headers.get('content-type')).toMatch(/^text\/html/);
    const csp = page.headers.get('content-security-policy') ?? '';
    for (const rule of ["default-src 'none'", "script-src 'self'", "style-src 'self'", "connect-src 'self'", "frame-ancestors 'none'"]) expect(csp).toContain(rule);
    expect(csp).not.toContain('unsafe');
    expect(page.headers.get('x-content-type-options')).toBe('nosniff');
    const html = await page.text();
    expect(html).not.toMatch(/<script(?![^>]*\bsrc=)[^>]*>/);
    expect(html).not.toContain(' style=');
    const js = await fetch(`${BASE}/dashboard/app.js`);
    expect(js.headers.get('content-type')).toMatch(/^text\/javascript/);
    const etag = js.headers.get('etag')!;
    expect((await fetch(`${BASE}/dashboard/app.js`, { headers: { 'if-none-match': etag } })).status).toBe(304);
    expect((await fetch(`${BASE}/dashboard/nothing.js`)).status).toBe(401);
    expect((await fetch(`${BASE}/api/environments`)).status).toBe(401);
  });

  it('[api-dashboard] asks for the token once, lists the example\'s tasks with their shapes and shows a pm2 stop live, then the heal', async () => {
    const page = await openPage();
    await signIn(page, operator);
    const rows = page.locator('#task-rows tr');
    await waitFor('the four tasks, web and worker online', async () => {
      const states = await rows.evaluateAll((trs) => trs.map((tr) => `${(tr as HTMLElement).dataset.task}=${(tr as HTMLElement).dataset.state}`));
      return states.join(' ') === 'api=online migrate=completed web=online worker=online' && states;
    }, 15_000, 200);
    expect(await page.locator('tr[data-task=worker] svg.shape.s-online').count()).toBe(1);
    expect(await page.locator('tr[data-task=migrate] svg.shape.s-completed').count()).toBe(1);
    expect(await page.locator('tr[data-task=web] td').nth(7).innerText()).toMatch(/^[0-9a-f]{12}$/);
    expect(await page.locator('#who-text').innerText()).toContain('operator-on-call');

    // Asked once: a reload keeps the tab's token.
    await page.reload();
    await rows.first().waitFor({ timeout: 15_000 });
    expect(await page.locator('#login').isHidden()).toBe(true);
    expect(await page.evaluate(() => sessionStorage.length)).toBe(1);
    await page.locator('#conn[data-state=live]').waitFor({ timeout: 10_000 });

    // Every shape the worker's row takes, in order, as the DOM shows it.
    await page.evaluate(() => {
      const states: string[] = [];
      (window as unknown as { workerStates: string[] }).workerStates = states;
      const note = (): void => {
        const s = document.querySelector<HTMLElement>('tr[data-task=worker]')?.dataset.state;
        if (s && states[states.length - 1] !== s) states.push(s);
      };
      note();
      new MutationObserver(note).observe(document.getElementById('task-rows')!, { childList: true, subtree: true, attributes: true });
    });
    const stop = await pm2.pm2(['stop', 'worker']);
    expect(stop.code, stop.stderr).toBe(0);
    const stoppedAt = Date.now();
    await page.waitForFunction(() => (window as unknown as { workerStates: string[] }).workerStates.includes('stopped'), undefined, { timeout: 5_000 });
    // Well before the page's 10 s poll: the event stream brought it.
    expect(Date.now() - stoppedAt).toBeLessThan(5_000);
    await page.screenshot({ path: join(ARTIFACTS, 'dashboard-stopped.png') });
    await textMatches(page, '#events li.ev-task-state', /worker.*stopped/);

    // The environment self-heals: the controller starts the worker again, and the row shows it.
    await page.waitForFunction(() => {
      const s = (window as unknown as { workerStates: string[] }).workerStates;
      return s.lastIndexOf('online') > s.indexOf('stopped');
    }, undefined, { timeout: 30_000 });
    const worker = (await pm2.jlist()).find((p) => p.name === 'worker')!;
    expect(worker.pm2_env.status).toBe('online');
    await textMatches(page, 'tr[data-task=worker] td:nth-child(4)', /^1\/1$/);
    await page.screenshot({ path: join(ARTIFACTS, 'dashboard.png') });

    // The task view: its processes, the last difference (the stopped process) and what was done.
    await page.locator('tr[data-task=worker]').click();
    const drawer = page.locator('#drawer');
    await drawer.waitFor({ state: 'visible' });
    await textMatches(page, '#drawer .d-section', /Last difference from git[\s\S]*was stopped/i).catch(async (err: Error) => {
      err.message += `\n--- task view ---\n${await drawer.innerText()}`;
      throw err;
    });
    await textMatches(page, '#drawer .actions', /start ok/);
    expect(await drawer.locator('.mini tbody tr').count()).toBe(1);
    await page.keyboard.press('Escape');
    await drawer.waitFor({ state: 'hidden' });

    // web is built: its task view has the install and build steps with their output's tail.
    await page.locator('tr[data-task=web]').click();
    await drawer.locator('details.step').first().waitFor();
    expect(await drawer.locator('details.step summary strong').allInnerTexts()).toEqual(expect.arrayContaining(['install', 'run']));
    await drawer.locator('details.step').filter({ hasText: 'run' }).locator('summary').click();
    await textMatches(page, '#drawer details.step[open] pre.tail', /\S/);
    await page.screenshot({ path: join(ARTIFACTS, 'dashboard-task.png') });
    await page.locator('#drawer-close').click();

    // The token went in headers only: never in a URL; every API call and the event stream carried it.
    expect(seen.filter((s) => s.url.includes(operator.split('.')[2]!))).toEqual([]);
    const api = seen.filter((s) => new URL(s.url).pathname.startsWith('/api/'));
    expect(api.some((s) => new URL(s.url).pathname === '/api/events')).toBe(true);
    expect(api.filter((s) => !s.bearer)).toEqual([]);
    expect(problems).toEqual([]);
    await page.close();
  }, 90_000);

  it('[api-dashboard] an operator\'s Reconcile, Suspend and Resume act and show the answer; a viewer\'s buttons are off', async () => {
    const page = await openPage();
    await signIn(page, operator);
    await page.locator('button[data-action=reconcile]').click();
    const toast = await textMatches(page, '#toast', /reconcile dev: queued \(pass [0-9a-f]{8}\)/);
    const pass = /pass ([0-9a-f]{8})/.exec(toast)![1]!;
    // The environment is reported by the pass the button queued.
    await waitFor('the pass the button queued', async () => {
      const r = await fetch(`${BASE}/api/environments`, { headers: { authorization: `Bearer ${viewer}` } });
      const body = await r.json() as { environments: Array<{ name: string; correlationId: string }> };
      return body.environments.find((e) => e.name === 'dev')?.correlationId.startsWith(pass);
    }, 20_000, 200);

    // Suspend (after its confirmation), then Resume: the environment shows who suspended it, then not.
    page.on('dialog', (d) => { void d.accept(); });
    await page.locator('button[data-action=suspend]').click();
    await textMatches(page, '#toast', /suspend dev: queued/);
    await textMatches(page, '#env-head .badge', /suspended by operator-on-call/, 20_000);
    await textMatches(page, '#env-list', /suspended/);
    expect(await page.locator('button[data-action=suspend]').count()).toBe(0);
    await page.locator('button[data-action=resume]').click();
    await textMatches(page, '#toast', /resume dev: queued/);
    await waitFor('the suspended badge to go', async () => (await page.locator('#env-head .badge').allInnerTexts()).every((t) => !t.includes('suspended')), 20_000, 200);
    await page.locator('button[data-action=suspend]').waitFor();
    await page.close();

    const other = await openPage();
    await signIn(other, viewer);
    for (const verb of ['reconcile', 'suspend', 'resume']) expect(await other.locator(`button[data-action=${verb}]`).first().isDisabled()).toBe(true);
    await other.locator('#signout').click();
    await other.locator('#login').waitFor({ state: 'visible' });
    expect(await other.evaluate(() => sessionStorage.length)).toBe(0);
    expect(problems).toEqual([]);
    await other.close();
  }, 60_000);
});
