/**
 * The import command as users meet it: the manifests it writes point their
 * `$schema` at schemas that exist (those of pm2-gitops installed in the
 * project, else those of the pm2-gitops that ran), the package ships them, a
 * missing ecosystem file is said once and plainly, and `--env` takes PM2's
 * environment names.
 */
import { afterAll, describe, expect, it } from 'vitest';
import { cpSync, existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { cli, ROOT, run } from './helpers/cli.js';

const FIXTURE = join(ROOT, 'test', 'testdata', 'ecosystems', 'aliases');
const dirs: string[] = [];
afterAll(() => { for (const d of dirs) rmSync(d, { recursive: true, force: true }); });

function project(): string {
  const dir = mkdtempSync(join(tmpdir(), 'pm2gt-impcli-'));
  dirs.push(dir);
  cpSync(FIXTURE, dir, { recursive: true });
  return dir;
}

/** The `$schema` of a written manifest, resolved from its folder. */
function schemaOf(file: string): { ref: string; target: string } {
  const ref = /^# yaml-language-server: \$schema=(.+)$/m.exec(readFileSync(file, 'utf8'))![1]!;
  return { ref, target: resolve(dirname(file), ref) };
}

describe('import on the command line', { timeout: 60_000 }, () => {
  it('[import-schema] points $schema at node_modules/pm2-gitops/schemas/ of the project, by a relative path', async () => {
    const dir = project();
    mkdirSync(join(dir, 'node_modules'));
    symlinkSync(ROOT, join(dir, 'node_modules', 'pm2-gitops'));
    const r = await cli(['import', join(dir, 'ecosystem.config.js'), '--out', join(dir, 'deploy')]);
    expect(r.code, r.stderr).toBe(0);
    expect(schemaOf(join(dir, 'deploy', 'base', 'api.yaml')).ref).toBe('../../node_modules/pm2-gitops/schemas/task.schema.json');
    const env = schemaOf(join(dir, 'deploy', 'environments', 'local-production', 'environment.yaml'));
    expect(env.ref).toBe('../../../node_modules/pm2-gitops/schemas/environment.schema.json');
    expect(existsSync(env.target)).toBe(true);
    expect(r.stderr).not.toContain('$schema');
  });

  it('[import-schema] without pm2-gitops in the project, points at the schemas of the one that ran, and says how to do better', async () => {
    const dir = project();
    const r = await cli(['import', join(dir, 'ecosystem.config.js'), '--out', join(dir, 'deploy')]);
    expect(r.code, r.stderr).toBe(0);
    expect(schemaOf(join(dir, 'deploy', 'base', 'worker.yaml')).target).toBe(join(ROOT, 'schemas', 'task.schema.json'));
    expect(r.stderr).toContain('npm install --save-dev pm2-gitops');
  });

  it('[import-schema] the package ships the schemas', async () => {
    const r = await run('npm', ['pack', '--dry-run', '--json', '--ignore-scripts'], { cwd: ROOT });
    expect(r.code, r.stderr).toBe(0);
    const files = (JSON.parse(r.stdout) as Array<{ files: Array<{ path: string }> }>)[0]!.files.map((f) => f.path);
    expect(files).toEqual(expect.arrayContaining(['schemas/task.schema.json', 'schemas/environment.schema.json']));
  });

  it('[import-missing-file] says once, plainly, that the ecosystem file does not exist (exit 2)', async () => {
    const dir = project();
    const r = await cli(['import', 'nope.js', '--out', 'deploy'], { cwd: dir });
    expect(r.code).toBe(2);
    expect(r.stderr).toBe(`pm2-gitops: ecosystem file nope.js does not exist (looked for ${join(dir, 'nope.js')})\n`);
    expect(existsSync(join(dir, 'deploy'))).toBe(false);
  });

  it('[import-missing-file] a module the file requires that is missing is named once, with the line, without the require stack', async () => {
    const dir = project();
    const file = join(dir, 'broken.config.js');
    cpSync(join(dir, 'ecosystem.config.js'), file);
    const text = readFileSync(file, 'utf8');
    writeFileSync(file, `require('dotenv-not-installed').config();\n${text}`);
    const r = await cli(['import', file, '--out', join(dir, 'deploy')]);
    expect(r.code).toBe(2);
    expect(r.stderr).toBe(`pm2-gitops: cannot read ecosystem file ${file}: Cannot find module 'dotenv-not-installed' (${file}:1)\n`);
  });

  it('[import-env-names] --env takes PM2\'s name of an environment: local_production renders and exports local-production', async () => {
    const dir = project();
    expect((await cli(['import', join(dir, 'ecosystem.config.js'), '--out', join(dir, 'deploy')])).code).toBe(0);
    const rendered = await cli(['render', '--repo', dir, '--path', 'deploy', '--env', 'local_production', '--json', '--show-env']);
    expect(rendered.code, rendered.stderr).toBe(0);
    const state = JSON.parse(rendered.stdout) as { environment: string; tasks: Array<{ name: string; process: { env?: Record<string, string> } }> };
    expect(state.environment).toBe('local-production');
    expect(state.tasks.find((t) => t.name === 'api')!.process.env).toEqual({ NODE_ENV: 'production', PORT: '27452' });
    const exported = await cli(['export', '--repo', dir, '--path', 'deploy', '--env', 'local_production', '--out', join(dir, 'exported.config.js')]);
    expect(exported.code, exported.stderr).toBe(0);
    expect(readFileSync(join(dir, 'exported.config.js'), 'utf8')).toContain('"cwd": __dirname,');
  });
});
