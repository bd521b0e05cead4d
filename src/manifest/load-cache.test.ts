import * as fs from 'node:fs';
import { mkdirSync, mkdtempSync, renameSync, rmSync, statSync, utimesSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { ValidationError } from '../domain/errors.js';
import { loadDesiredState } from './load.js';

/**
 * Every path read whole for parsing (the loader takes its size with fstatSync
 * first), and every path any bytes were read from, in order; the real
 * functions still do the work.
 */
const reads = vi.hoisted(() => ({ whole: [] as string[], any: [] as string[], opened: new Map<number, string>() }));

vi.mock('node:fs', async (importOriginal) => {
  const real = await importOriginal<typeof fs>();
  const openSync = ((path: fs.PathLike, ...rest: unknown[]) => {
    const fd = (real.openSync as (p: fs.PathLike, ...r: unknown[]) => number)(path, ...rest);
    reads.opened.set(fd, String(path));
    return fd;
  }) as typeof fs.openSync;
  const fstatSync = ((fd: number, ...rest: unknown[]) => {
    reads.whole.push(reads.opened.get(fd) ?? '');
    return (real.fstatSync as (f: number, ...r: unknown[]) => unknown)(fd, ...rest);
  }) as typeof fs.fstatSync;
  const readSync = ((fd: number, ...rest: unknown[]) => {
    reads.any.push(reads.opened.get(fd) ?? '');
    return (real.readSync as (f: number, ...r: unknown[]) => number)(fd, ...rest);
  }) as typeof fs.readSync;
  const patched = { openSync, fstatSync, readSync };
  return { ...real, default: { ...real, ...patched }, ...patched };
});

const ENVIRONMENT = `apiVersion: pm2-gitops/v1
kind: Environment
metadata: { name: dev }
spec: { resources: [../../base], namespace: dev }
`;

/** A task whose PORT is the only thing that changes: every version of its file has the same size. */
const task = (name: string, port: number) => `apiVersion: pm2-gitops/v1
kind: Task
metadata: { name: ${name} }
spec:
  process: { script: apps/server.js, env: { PORT: "${port}" } }
`;

let root: string;
const file = (name: string) => join(root, `deploy/base/${name}.yaml`);

/** PORT of every task, by task name. */
function ports(): Record<string, string> {
  const state = loadDesiredState({ repoRoot: root, path: 'deploy' }, 'dev');
  return Object.fromEntries(state.tasks.map((t) => [t.name, t.process.env!.PORT!]));
}

/** The ValidationError the render of environment dev throws. */
function refusal(): ValidationError {
  try {
    loadDesiredState({ repoRoot: root, path: 'deploy' }, 'dev');
  } catch (error) {
    if (error instanceof ValidationError) return error;
    throw error;
  }
  throw new Error('environment dev rendered');
}

const readsOf = (name: string) => reads.whole.filter((p) => p === file(name)).length;

beforeEach(() => {
  root = mkdtempSync(join(tmpdir(), 'pm2gt-load-cache-'));
  mkdirSync(join(root, 'deploy/environments/dev'), { recursive: true });
  mkdirSync(join(root, 'deploy/base'), { recursive: true });
  mkdirSync(join(root, 'deploy/apps'), { recursive: true });
  writeFileSync(join(root, 'deploy/apps/server.js'), '');
  writeFileSync(join(root, 'deploy/environments/dev/environment.yaml'), ENVIRONMENT);
  reads.whole.length = 0;
  reads.any.length = 0;
});

afterEach(() => rmSync(root, { recursive: true, force: true }));

describe('loadDesiredState kept files', () => {
  it('does not read and decode an unchanged file again, and sees every change of content at once', () => {
    const restored = 1_700_000_000; // whole seconds: set back exactly
    writeFileSync(file('edited'), task('edited', 4001));
    writeFileSync(file('touched'), task('touched', 5001));
    utimesSync(file('touched'), restored, restored);
    writeFileSync(file('replaced'), task('replaced', 6001));
    writeFileSync(file('resized'), task('resized', 7001));
    const first = { edited: '4001', replaced: '6001', resized: '7001', touched: '5001' };
    expect(ports()).toEqual(first);
    expect(ports()).toEqual(first);
    expect(ports()).toEqual(first);
    // The first render read each file; the next two found the same bytes and kept the parse.
    expect(['edited', 'touched', 'replaced', 'resized'].map(readsOf)).toEqual([1, 1, 1, 1]);

    // Same size, written in place right after the last render (likely within the same timestamp tick).
    writeFileSync(file('edited'), task('edited', 4002));
    expect(statSync(file('edited')).size).toBe(task('edited', 4001).length);
    // Same size, modification time put back as `rsync -t` or `tar` do.
    writeFileSync(file('touched'), task('touched', 5002));
    utimesSync(file('touched'), restored, restored);
    expect(statSync(file('touched')).mtimeMs).toBe(restored * 1000);
    // Same size, another file renamed over it.
    writeFileSync(join(root, 'deploy/replaced.tmp'), task('replaced', 6002));
    renameSync(join(root, 'deploy/replaced.tmp'), file('replaced'));
    // Longer, with the old content as its start: a second document appended.
    writeFileSync(file('resized'), `${task('resized', 7001)}---\n${task('appended', 7100)}`);

    expect(ports()).toEqual({ appended: '7100', edited: '4002', replaced: '6002', resized: '7001', touched: '5002' });
    expect(['edited', 'touched', 'replaced', 'resized'].map(readsOf)).toEqual([2, 2, 2, 2]);
    // Shorter again: cut back to its start.
    writeFileSync(file('resized'), task('resized', 7001));
    expect(ports()).toEqual({ edited: '4002', replaced: '6002', resized: '7001', touched: '5002' });
    expect(readsOf('resized')).toBe(3);
  });

  it('[invalid-utf8] refuses a file that is not valid UTF-8 every time, naming its line, and renders it once fixed', () => {
    const invalid = (port: number) => Buffer.concat([Buffer.from('# caf'), Buffer.from([0xe9, 0xff, 0x0a]), Buffer.from(task('latin', port))]);
    writeFileSync(file('latin'), invalid(8001));
    for (let i = 0; i < 2; i++) {
      const error = refusal();
      expect(error.diagnostics).toEqual([expect.objectContaining({ file: 'deploy/base/latin.yaml', line: 1, column: 6, pointer: '' })]);
      expect(error.diagnostics[0]!.message).toMatch(/^not UTF-8 text: invalid UTF-8 byte sequence at line 1, column 6/);
    }
    // Kept as its bytes: the unchanged file is not read whole again.
    expect(readsOf('latin')).toBe(1);
    writeFileSync(file('latin'), invalid(8002));
    expect(refusal().diagnostics).toHaveLength(1);
    writeFileSync(file('latin'), task('latin', 8003));
    expect(ports()).toEqual({ latin: '8003' });
  });

  it('sees manifest files added, removed and renamed between renders, and a directory in place of a file', () => {
    const tasks = () => loadDesiredState({ repoRoot: root, path: 'deploy' }, 'dev').tasks.map((t) => `${t.name} ${t.file}`);
    writeFileSync(file('a'), task('a', 1));
    expect(tasks()).toEqual(['a deploy/base/a.yaml']);
    expect(tasks()).toEqual(['a deploy/base/a.yaml']);

    writeFileSync(file('b'), task('b', 2));
    mkdirSync(join(root, 'deploy/base/sub'));
    writeFileSync(join(root, 'deploy/base/sub/c.yml'), task('c', 3));
    expect(tasks()).toEqual(['a deploy/base/a.yaml', 'b deploy/base/b.yaml', 'c deploy/base/sub/c.yml']);

    rmSync(file('b'));
    renameSync(file('a'), file('z'));
    expect(tasks()).toEqual(['a deploy/base/z.yaml', 'c deploy/base/sub/c.yml']);

    // A folder where there was a manifest file of the same name, and a plain file where there was a folder.
    rmSync(file('z'));
    mkdirSync(file('z'));
    writeFileSync(join(file('z'), 'd.yaml'), task('d', 4));
    rmSync(join(root, 'deploy/base/sub'), { recursive: true });
    writeFileSync(join(root, 'deploy/base/sub'), task('sub', 5));
    expect(tasks()).toEqual(['d deploy/base/z.yaml/d.yaml']);

    // Hidden and node_modules entries stay out, however they change.
    writeFileSync(join(root, 'deploy/base/.hidden.yaml'), task('hidden', 6));
    mkdirSync(join(root, 'deploy/base/node_modules'));
    writeFileSync(join(root, 'deploy/base/node_modules/m.yaml'), task('m', 7));
    expect(tasks()).toEqual(['d deploy/base/z.yaml/d.yaml']);
  });

  it('checks a manifest file larger than the reused working buffer the same way', () => {
    const padding = `# ${'x'.repeat(900 * 1024)}\n`;
    writeFileSync(file('large'), padding + task('large', 9001));
    expect(ports()).toEqual({ large: '9001' });
    expect(ports()).toEqual({ large: '9001' });
    expect(readsOf('large')).toBe(1);
    writeFileSync(file('large'), padding + task('large', 9002));
    expect(ports()).toEqual({ large: '9002' });
    expect(readsOf('large')).toBe(2);
  });

  it('[file-size] refuses a file over 1 MiB from its size alone, before reading any of it', () => {
    const size = 100 * 1024 * 1024;
    const fd = fs.openSync(file('huge'), 'w');
    fs.ftruncateSync(fd, size); // a sparse file: 100 MB on no disk space
    fs.closeSync(fd);
    writeFileSync(file('small'), task('small', 9100));
    const error = refusal();
    expect(error.diagnostics).toEqual([{
      file: 'deploy/base/huge.yaml', line: 1, column: 1, pointer: '',
      message: `file is too large: ${size} bytes, the limit is 1048576 bytes (1 MiB) per manifest file; split it into several files`,
    }]);
    expect(reads.any.filter((p) => p === file('huge'))).toEqual([]);
    rmSync(file('huge'));
    expect(ports()).toEqual({ small: '9100' });
  });
});
