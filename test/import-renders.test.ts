/**
 * Import output always renders: every ecosystem file of the fixtures under
 * test/testdata/ecosystems (each fixture folder's own *.config.js/.cjs/.mjs,
 * *.json other than package files, *.yml/*.yaml) is imported, and every
 * Environment it wrote renders without a diagnostic (with --allow-root for the
 * paths import said lie outside the file's folder).
 */
import { afterAll, describe, expect, it } from 'vitest';
import { cpSync, mkdtempSync, readdirSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { cli, ROOT } from './helpers/cli.js';

const FIXTURES = join(ROOT, 'test', 'testdata', 'ecosystems');
const ECOSYSTEM = /(\.config\.(c|m)?js|\.json|\.ya?ml)$/;
const NOT_ECOSYSTEM = new Set(['package.json', 'package-lock.json', 'tsconfig.json']);

/** Every ecosystem file of the fixtures, as [fixture folder, file name]. */
function ecosystemFiles(): Array<[string, string]> {
  const out: Array<[string, string]> = [];
  for (const fixture of readdirSync(FIXTURES).sort()) {
    const dir = join(FIXTURES, fixture);
    if (!statSync(dir).isDirectory()) continue;
    for (const file of readdirSync(dir).sort()) {
      if (ECOSYSTEM.test(file) && !NOT_ECOSYSTEM.has(file) && statSync(join(dir, file)).isFile()) out.push([fixture, file]);
    }
  }
  return out;
}

const work: string[] = [];
afterAll(() => { for (const d of work) rmSync(d, { recursive: true, force: true }); });

interface Imported { written: string[]; warnings: string[] }

describe('import output renders', { timeout: 60_000 }, () => {
  const files = ecosystemFiles();

  it('[import-renders] finds the fixtures', () => {
    expect(files.length).toBeGreaterThanOrEqual(10);
  });

  it.each(files)('[import-renders] %s/%s: imported, every Environment it wrote renders', async (fixture, file) => {
    const dir = mkdtempSync(join(tmpdir(), `pm2gt-imp-${fixture}-`));
    work.push(dir);
    cpSync(join(FIXTURES, fixture), dir, { recursive: true });
    const imported = await cli(['import', join(dir, file), '--out', join(dir, 'deploy'), '--json']);
    expect(imported.code, imported.stderr).toBe(0);
    const { written, warnings } = JSON.parse(imported.stdout) as Imported;
    const environments = written.filter((w) => w.startsWith('environments/')).map((w) => dirname(w).slice('environments/'.length));
    expect(environments.length).toBeGreaterThanOrEqual(1);
    // The folders import said render takes only under --allow-root.
    const allowRoots = warnings.flatMap((w) => [...w.matchAll(/--allow-root (\/\S+?)[),]?(?:\s|$)/g)].map((m) => m[1]!));
    for (const env of environments) {
      const rendered = await cli(['render', '--repo', dir, '--path', 'deploy', '--env', env, '--json', ...allowRoots.flatMap((r) => ['--allow-root', r])]);
      expect(rendered.code, `${fixture}/${file} --env ${env}:\n${rendered.stderr}`).toBe(0);
      const state = JSON.parse(rendered.stdout) as { tasks: unknown[] };
      expect(state.tasks.length).toBeGreaterThanOrEqual(1);
    }
  });
});
