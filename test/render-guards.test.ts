/**
 * The CLI's guards on what a render may lead to: paths that leave the
 * repository through symbolic links, and instance counts beyond the host.
 * Each refusal is exit 2 with the problem named; the operator's flags
 * (--allow-root, --max-instances) let through what they allow.
 */
import { mkdirSync, mkdtempSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import type { DesiredState } from '../src/domain/manifest.js';
import { cli } from './helpers/cli.js';

const made: string[] = [];
afterAll(() => { for (const dir of made) rmSync(dir, { recursive: true, force: true }); });

function tempDir(prefix: string): string {
  const dir = mkdtempSync(join(tmpdir(), prefix));
  made.push(dir);
  return dir;
}

/** A repository with one task `web` of the given process options, and environment dev. */
function repo(process: Record<string, unknown>, files: Record<string, string> = {}): string {
  const dir = tempDir('pm2gt-guard-');
  const put = (path: string, text: string): void => {
    mkdirSync(dirname(join(dir, path)), { recursive: true });
    writeFileSync(join(dir, path), text);
  };
  put('apps/server.cjs', 'setInterval(() => {}, 1 << 30);\n');
  put('base/web.yaml', `${JSON.stringify({ apiVersion: 'pm2-gitops/v1', kind: 'Task', metadata: { name: 'web' }, spec: { process: { script: 'apps/server.cjs', ...process } } })}\n`);
  put('environments/dev/environment.yaml', 'apiVersion: pm2-gitops/v1\nkind: Environment\nmetadata: { name: dev }\nspec:\n  resources: [../../base]\n  namespace: guard-dev\n  policy: { prune: true }\n');
  for (const [path, text] of Object.entries(files)) put(path, text);
  return dir;
}

const render = (dir: string, ...flags: string[]) => cli(['render', '--repo', dir, '--env', 'dev', '--json', ...flags]);

/** diff, plan and apply refuse before they connect to PM2; a PM2_HOME of their own all the same, so that no mistake reaches a real daemon. */
const isolated = (): NodeJS.ProcessEnv => ({ ...process.env, PM2_HOME: tempDir('pm2gt-guard-home-') });

describe('paths through symbolic links', () => {
  it('[symlink-escape] a script that is a link to /etc/passwd is refused (exit 2), unless /etc is an allowed root', async () => {
    const dir = repo({ script: 'apps/passwd.cjs' });
    symlinkSync('/etc/passwd', join(dir, 'apps', 'passwd.cjs'));
    const refused = await render(dir);
    expect(refused.code, refused.stderr).toBe(2);
    expect(refused.stdout).toBe('');
    expect(refused.stderr).toContain('base/web.yaml:1:');
    expect(refused.stderr).toContain('/spec/process/script: script "apps/passwd.cjs" is a symbolic link (or lies in one) that leaves the repository');
    const allowed = await render(dir, '--allow-root', '/etc');
    expect(allowed.code, allowed.stderr).toBe(0);
    expect((JSON.parse(allowed.stdout) as DesiredState).tasks[0]!.process.script).toBe('apps/passwd.cjs');
  });

  it('[symlink-escape] a cwd that is a linked folder outside the repository is refused, unless that folder is allowed', async () => {
    const outside = tempDir('pm2gt-outside-');
    writeFileSync(join(outside, 'server.cjs'), 'setInterval(() => {}, 1 << 30);\n');
    const dir = repo({ cwd: 'apps/shared', script: 'server.cjs' });
    symlinkSync(outside, join(dir, 'apps', 'shared'));
    const refused = await render(dir);
    expect(refused.code, refused.stderr).toBe(2);
    expect(refused.stderr).toContain('/spec/process/cwd: cwd "apps/shared" is a symbolic link (or lies in one) that leaves the repository');
    for (const cmd of ['plan', 'diff', 'apply', 'export']) {
      const r = await cli([cmd, '--repo', dir, '--env', 'dev'], { env: isolated() });
      expect(r.code, `${cmd}: ${r.stderr}`).toBe(2);
      expect(r.stderr).toContain('leaves the repository');
    }
    const allowed = await render(dir, '--allow-root', outside);
    expect(allowed.code, allowed.stderr).toBe(0);
  });

  it('[symlink-escape] an absolute path under an allowed root is taken as it is; outside every root it is refused', async () => {
    const dir = repo({ cwd: '/opt/tools', script: 'tool.cjs' });
    const refused = await render(dir);
    expect(refused.code).toBe(2);
    expect(refused.stderr).toContain('cwd "/opt/tools" leaves the repository; expected a path inside it, or under a folder allowed with --allow-root DIR');
    const allowed = await render(dir, '--allow-root', '/opt');
    expect(allowed.code, allowed.stderr).toBe(0);
    expect((JSON.parse(allowed.stdout) as DesiredState).tasks[0]!.process).toMatchObject({ cwd: '/opt/tools', script: 'tool.cjs' });
  });
});

describe('instances', () => {
  it('[instances-bound] 100000 or 1e308 instances are refused by render, diff, plan, apply (exit 2); --max-instances raises the bound', async () => {
    for (const instances of ['100000', '1e308']) {
      const dir = repo({}, {});
      writeFileSync(join(dir, 'base', 'web.yaml'), `apiVersion: pm2-gitops/v1\nkind: Task\nmetadata: { name: web }\nspec:\n  process: { script: apps/server.cjs, instances: ${instances} }\n`);
      for (const cmd of ['render', 'diff', 'plan', 'apply']) {
        const r = await cli([cmd, '--repo', dir, '--env', 'dev'], { env: isolated() });
        expect(r.code, `${cmd}: ${r.stderr}`).toBe(2);
        expect(r.stderr).toMatch(/base\/web\.yaml:5:\d+ \/spec\/process\/instances: \S+ instances exceed the limit of \d+ \(4 × \d+ CPUs?\); lower it, or raise the limit with --max-instances N/);
      }
      if (instances === '100000') {
        const raised = await render(dir, '--max-instances', '100000');
        expect(raised.code, raised.stderr).toBe(0);
        expect((JSON.parse(raised.stdout) as DesiredState).tasks[0]!.process.instances).toBe(100000);
      }
    }
  });

  it('[instances-bound] a --max-instances that is not a whole number is refused (exit 2)', async () => {
    const dir = repo({ instances: 'max' });
    for (const value of ['lots', '0', '-3', '2.5']) {
      const r = await render(dir, '--max-instances', value);
      expect(r.code, r.stderr).toBe(2);
      expect(r.stderr).toContain(`--max-instances "${value}": expected a whole number of at least 1`);
    }
    expect((await render(dir, '--max-instances', '3')).code).toBe(0);
    expect((await render(dir)).code).toBe(0);
  });
});
