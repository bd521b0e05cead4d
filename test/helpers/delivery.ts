/**
 * A small application repository for delivery tests: `apps/web`, built by
 * `npm run build` into `dist/`, with a local `file:` dependency `lib/greet`
 * (no registry dependency, so `npm ci --offline` installs it), and the
 * helpers to read its code and prepare its builds in a temporary state dir.
 */
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readdirSync, readFileSync, readlinkSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { readCommitCode } from '../../src/delivery/read-code.js';
import { prepareBuild, type PrepareBuildInput } from '../../src/delivery/prepare.js';
import type { CodeTask, PrepareResult, TaskCode } from '../../src/delivery/types.js';
import type { GitFixture } from './git.js';

export const NPM_FLAGS = '--offline --no-audit --no-fund';

/** The files of the application at a version; `greetVersion` changes lib/greet's package.json (and so the lockfile). */
export function webAppFiles(version: string, greetVersion = '1.0.0'): Record<string, string> {
  return {
    '.gitignore': 'node_modules/\ndist/\n',
    'lib/greet/package.json': `${JSON.stringify({ name: 'greet', version: greetVersion, main: 'index.js' }, null, 2)}\n`,
    'lib/greet/index.js': 'module.exports = (who) => `hello ${who}`;\n',
    'apps/web/package.json': `${JSON.stringify({ name: 'web', version: '1.0.0', private: true, dependencies: { greet: 'file:../../lib/greet' }, scripts: { build: 'node build.js' } }, null, 2)}\n`,
    'apps/web/build.js': [
      "const fs = require('node:fs');",
      "const version = fs.readFileSync('src/version.txt', 'utf8').trim();",
      "fs.mkdirSync('dist', { recursive: true });",
      "fs.writeFileSync('dist/server.js', `const greet = require('greet');\\nconsole.log(greet('web') + ' ${version}');\\n`);",
      "console.log('built', version);",
      '',
    ].join('\n'),
    'apps/web/src/version.txt': `${version}\n`,
    'base/web.yaml': 'apiVersion: pm2-gitops/v1\nkind: Task\nmetadata: { name: web }\nspec:\n  process: { cwd: apps/web, script: dist/server.js }\n',
  };
}

/** Writes apps/web/package-lock.json in the fixture's work tree (npm, offline) and returns its content. */
export function lockfile(work: string, env: NodeJS.ProcessEnv): string {
  execFileSync('npm', ['install', '--package-lock-only', ...NPM_FLAGS.split(' ')], { cwd: join(work, 'apps/web'), env, stdio: 'pipe' });
  return readFileSync(join(work, 'apps/web/package-lock.json'), 'utf8');
}

/** A temp dir for npm's HOME and cache, and the host env steps get: node's own folder first on PATH. */
export function testHost(): { home: string; env: Record<string, string>; cleanup(): void } {
  const home = mkdtempSync(join(tmpdir(), 'pm2gt-npm-home-'));
  const env = { PATH: `${dirname(process.execPath)}:${process.env.PATH ?? '/usr/bin:/bin'}`, HOME: home, LANG: 'C' };
  return { home, env, cleanup: () => rmSync(home, { recursive: true, force: true }) };
}

/** The web task: cwd apps/web, built script, lib/greet in its source. */
export function webTask(over: Partial<CodeTask> = {}): CodeTask {
  return {
    name: 'web', cwd: 'apps/web', cwdDeclared: true, script: 'dist/server.js', source: ['apps/web', 'lib/greet'],
    build: { install: `npm ci ${NPM_FLAGS} && echo installed >> "$INSTALL_LOG"`, run: ['npm run build'] },
    file: 'base/web.yaml',
    ...over,
  };
}

/** The code of one task at the fixture's head. */
export async function codeAt(repo: GitFixture, task: CodeTask, commit = repo.head()): Promise<TaskCode> {
  const snap = await readCommitCode({ gitDir: repo.remote, commit, tasks: [task], manifestFiles: ['base/web.yaml'] });
  return snap.tasks[0]!;
}

/** prepareBuild from the fixture's remote. */
export function prepare(repo: GitFixture, stateDir: string, code: TaskCode, over: Partial<PrepareBuildInput> = {}): Promise<PrepareResult> {
  return prepareBuild({ stateDir, code, gitDir: repo.remote, ...over });
}

/** Every path under `dir` with its kind and, for files and links, content or target: a snapshot to compare before and after. */
export function treeSnapshot(dir: string): Record<string, string> {
  const out: Record<string, string> = {};
  const walk = (rel: string): void => {
    let names: string[];
    try { names = readdirSync(join(dir, rel)); } catch { return; }
    for (const name of names.sort()) {
      const path = rel ? `${rel}/${name}` : name;
      const full = join(dir, path);
      const st = statSync(full, { throwIfNoEntry: false });
      let isLink = false;
      try { readlinkSync(full); isLink = true; } catch { isLink = false; }
      if (isLink) out[path] = `-> ${readlinkSync(full)}`;
      else if (st?.isDirectory()) { out[path] = 'dir'; walk(path); }
      else out[path] = readFileSync(full, 'utf8');
    }
  };
  walk('');
  return out;
}
