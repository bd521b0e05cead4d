import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { cli } from './helpers/cli.js';

describe('CLI output to a pipe', () => {
  const dir = mkdtempSync(join(tmpdir(), 'pm2gt-big-'));
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  it('is written whole, beyond the 64 KiB a pipe takes at once', async () => {
    mkdirSync(join(dir, 'base'));
    mkdirSync(join(dir, 'apps'));
    mkdirSync(join(dir, 'environments', 'dev'), { recursive: true });
    writeFileSync(join(dir, 'apps', 'idle.cjs'), 'setInterval(() => {}, 1 << 30);\n');
    for (let i = 0; i < 400; i++) {
      writeFileSync(join(dir, 'base', `t${i}.yaml`), `apiVersion: pm2-gitops/v1\nkind: Task\nmetadata: { name: t${i} }\nspec:\n  process: { script: apps/idle.cjs, env: { FILLER: "${'x'.repeat(200)}" } }\n`);
    }
    writeFileSync(join(dir, 'environments', 'dev', 'environment.yaml'), 'apiVersion: pm2-gitops/v1\nkind: Environment\nmetadata: { name: dev }\nspec:\n  resources: [../../base]\n  namespace: big\n');

    const r = await cli(['render', '--repo', dir, '--env', 'dev', '--json', '--show-env']);
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout.length).toBeGreaterThan(128 * 1024);
    const state = JSON.parse(r.stdout) as { tasks: Array<{ name: string }> };
    expect(state.tasks).toHaveLength(400);
  });
});
