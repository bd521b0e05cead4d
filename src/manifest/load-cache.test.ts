import * as fs from 'node:fs';
import { mkdirSync, mkdtempSync, renameSync, rmSync, statSync, utimesSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { loadDesiredState } from './load.js';

/** Every path the manifest loader reads, in order (the real readFileSync still does the reading). */
const reads = vi.hoisted(() => [] as string[]);

vi.mock('node:fs', async (importOriginal) => {
  const real = await importOriginal<typeof fs>();
  const readFileSync = ((path: fs.PathOrFileDescriptor, options?: unknown) => {
    reads.push(String(path));
    return (real.readFileSync as (p: fs.PathOrFileDescriptor, o?: unknown) => unknown)(path, options);
  }) as typeof fs.readFileSync;
  return { ...real, default: { ...real, readFileSync }, readFileSync };
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

const readsOf = (name: string) => reads.filter((p) => p === file(name)).length;

/** Waits until none of the files has changed for longer than the loader's settling time, so their stamps are trusted. */
async function settle(names: string[]): Promise<void> {
  const changed = () => Math.max(...names.flatMap((n) => [statSync(file(n)).mtimeMs, statSync(file(n)).ctimeMs]));
  while (Date.now() - changed() <= 2_100) await new Promise((r) => setTimeout(r, 100));
}

beforeEach(() => {
  root = mkdtempSync(join(tmpdir(), 'pm2gt-load-cache-'));
  mkdirSync(join(root, 'deploy/environments/dev'), { recursive: true });
  mkdirSync(join(root, 'deploy/base'), { recursive: true });
  mkdirSync(join(root, 'deploy/apps'), { recursive: true });
  writeFileSync(join(root, 'deploy/apps/server.js'), '');
  writeFileSync(join(root, 'deploy/environments/dev/environment.yaml'), ENVIRONMENT);
  reads.length = 0;
});

afterEach(() => rmSync(root, { recursive: true, force: true }));

describe('loadDesiredState file stamps', () => {
  it('reads a file written just now on every render, so a change of the same size right after is seen', () => {
    writeFileSync(file('api'), task('api', 3001));
    expect(ports()).toEqual({ api: '3001' });
    writeFileSync(file('api'), task('api', 3002)); // same size, and likely within the same timestamp tick
    expect(ports()).toEqual({ api: '3002' });
    expect(ports()).toEqual({ api: '3002' });
    expect(readsOf('api')).toBe(3);
  });

  it('skips reading settled, unchanged files, and reads a file again once it changes with the same size', async () => {
    const restored = 1_700_000_000; // whole seconds: set back exactly
    writeFileSync(file('edited'), task('edited', 4001));
    writeFileSync(file('touched'), task('touched', 5001));
    utimesSync(file('touched'), restored, restored);
    writeFileSync(file('replaced'), task('replaced', 6001));
    await settle(['edited', 'touched', 'replaced']);
    const first = { edited: '4001', replaced: '6001', touched: '5001' };
    expect(ports()).toEqual(first);
    expect(ports()).toEqual(first);
    expect(ports()).toEqual(first);
    // The first render read each file and trusted its stamp; the next two read none.
    expect(['edited', 'touched', 'replaced'].map(readsOf)).toEqual([1, 1, 1]);

    // Same size, written in place.
    writeFileSync(file('edited'), task('edited', 4002));
    expect(statSync(file('edited')).size).toBe(task('edited', 4001).length);
    // Same size, modification time put back as `rsync -t` or `tar` do; the status-change time still moves.
    writeFileSync(file('touched'), task('touched', 5002));
    utimesSync(file('touched'), restored, restored);
    expect(statSync(file('touched')).mtimeMs).toBe(restored * 1000);
    // Same size, another file renamed over it.
    writeFileSync(join(root, 'deploy/replaced.tmp'), task('replaced', 6002));
    renameSync(join(root, 'deploy/replaced.tmp'), file('replaced'));

    expect(ports()).toEqual({ edited: '4002', replaced: '6002', touched: '5002' });
    expect(['edited', 'touched', 'replaced'].map(readsOf)).toEqual([2, 2, 2]);
  });
});
