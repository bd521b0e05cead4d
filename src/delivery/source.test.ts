import { describe, expect, it } from 'vitest';
import { ValidationError } from '../domain/errors.js';
import { candidatePaths, coverPaths, isProgram, normalizeRepoPath, resolveSource, sourceProblems } from './source.js';
import type { CodeTask } from './types.js';

const task = (over: Partial<CodeTask>): CodeTask => ({ name: 'web', cwd: '.', cwdDeclared: false, script: 'apps/web/server.js', ...over });
const none = (): boolean => false;

describe('task sources', () => {
  it('[delivery-source] spec.source wins, normalised, sorted, paths inside another dropped', () => {
    const s = resolveSource(task({ source: ['lib/greet/', './apps/web', 'apps/web/src', 'apps/web-admin'], cwdDeclared: true, cwd: 'x' }), none);
    expect(s).toEqual({ kind: 'paths', paths: ['apps/web', 'apps/web-admin', 'lib/greet'] });
  });

  it('[delivery-source] a declared cwd is the source; else the script folder', () => {
    expect(resolveSource(task({ cwd: 'apps/api', cwdDeclared: true, script: 'dist/server.js' }), none)).toEqual({ kind: 'paths', paths: ['apps/api'] });
    expect(resolveSource(task({ cwd: 'deploy', script: '../apps/web/server.js' }), none)).toEqual({ kind: 'paths', paths: ['apps/web'] });
    expect(resolveSource(task({ cwd: '.', script: 'server.js' }), none)).toEqual({ kind: 'paths', paths: ['.'] });
  });

  it('[delivery-source] a program on PATH has no source; a bare name that is a file does', () => {
    expect(resolveSource(task({ script: 'sleep' }), none)).toEqual({ kind: 'none', reason: 'program' });
    expect(isProgram(task({ script: 'sleep' }), none)).toBe(true);
    const isFile = (p: string): boolean => p === 'apps/run';
    expect(resolveSource(task({ cwd: 'apps', script: 'run' }), isFile)).toEqual({ kind: 'paths', paths: ['apps'] });
    expect(isProgram(task({ script: 'server.js' }), none)).toBe(false);
    // A program run in a declared cwd (`npm start` in apps/web) has that cwd as its code.
    expect(resolveSource(task({ script: 'npm', cwd: 'apps/web', cwdDeclared: true }), none)).toEqual({ kind: 'paths', paths: ['apps/web'] });
  });

  it('[import-inline-command] an inline command has its cwd as its source, declared or not, and no script file to check', () => {
    expect(resolveSource(task({ script: 'node server.js', cwd: 'apps/web' }), none)).toEqual({ kind: 'paths', paths: ['apps/web'] });
    expect(resolveSource(task({ script: 'npm run start', cwd: 'apps/web', cwdDeclared: true }), none)).toEqual({ kind: 'paths', paths: ['apps/web'] });
    expect(resolveSource(task({ script: 'node apps/web/server.js', cwd: '.' }), none)).toEqual({ kind: 'paths', paths: ['.'] });
    expect(candidatePaths(task({ script: 'npm run start', cwd: 'apps/web' }))).toEqual(['apps/web']);
    expect(isProgram(task({ script: 'node server.js' }), () => true)).toBe(true);
    expect(resolveSource(task({ script: 'node server.js', cwd: '/opt/app', cwdDeclared: true }), none)).toEqual({ kind: 'none', reason: 'external' });
  });

  it('[delivery-source] code outside the repository is external', () => {
    expect(resolveSource(task({ cwd: '/opt/app', cwdDeclared: true, script: 'server.js' }), none)).toEqual({ kind: 'none', reason: 'external' });
  });

  it('[delivery-source] source entries outside the repository are named by pointer, never by value', () => {
    const bad = task({ source: ['apps', '../secret-folder', '/etc'], file: 'base/web.yaml' });
    const problems = sourceProblems(bad);
    expect(problems.map((p) => p.pointer)).toEqual(['/spec/source/1', '/spec/source/2']);
    expect(JSON.stringify(problems)).not.toContain('secret-folder');
    expect(() => resolveSource(bad, none)).toThrow(ValidationError);
  });

  it('lists the probe only for a bare script name, the folder otherwise', () => {
    expect(candidatePaths(task({ script: 'sleep', cwd: 'apps' }))).toEqual(['apps/sleep']);
    expect(candidatePaths(task({}))).toEqual(['apps/web']);
    expect(candidatePaths(task({ source: ['a', 'b'] }))).toEqual(['a', 'b']);
  });

  it('normalises paths and covers them', () => {
    expect(normalizeRepoPath('./a//b/')).toBe('a/b');
    expect(normalizeRepoPath('a/..')).toBe('.');
    expect(normalizeRepoPath('a/../../b')).toBeUndefined();
    expect(coverPaths(['a/b', 'a', 'a-b', 'a-b/c'])).toEqual(['a', 'a-b']);
    expect(coverPaths(['x', '.'])).toEqual(['.']);
  });
});
