/**
 * The status clone against a real bare remote: commits kept while the remote
 * is away are pushed once it is back, and a damaged clone is repaired or
 * cloned again, saying what could not be recovered.
 */
import { mkdtempSync, readFileSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { StatusRepo, STATUS_BRANCH } from '../src/report/status-repo.js';
import { git, gitFixture } from './helpers/git.js';

const author = { name: 'pm2-gitops', email: 'pm2-gitops@test' };

describe('the status clone', () => {
  const repo = gitFixture();
  repo.commit('initial', { 'README.md': 'x\n' });
  const dirs: string[] = [];
  const fresh = (): string => { const d = mkdtempSync(join(tmpdir(), 'pm2gt-status-')); dirs.push(d); return join(d, 'status'); };
  const remoteFile = (path: string): string => git(repo.remote, ['show', `${STATUS_BRANCH}:${path}`]);

  afterAll(() => {
    repo.cleanup();
    for (const d of dirs) rmSync(d, { recursive: true, force: true });
  });

  it('[source-unreachable] keeps commits while the remote is away and pushes them when it is back', async () => {
    const status = await StatusRepo.open({ url: repo.remote, dir: fresh(), author });
    await status.write([{ path: 'status/dev.md', text: 'one\n' }], 'one');
    expect(remoteFile('status/dev.md')).toBe('one');
    renameSync(repo.remote, `${repo.remote}.away`);
    try {
      expect(await status.write([{ path: 'status/dev.md', text: 'two\n' }], 'two')).toBe(true);
      expect(await status.write([{ path: 'evidence/dev/2.json', text: '{}\n' }], 'three')).toBe(true);
      expect(status.pending).toBe(true);
      await status.flush();
      expect(status.pending).toBe(true);
    } finally {
      renameSync(`${repo.remote}.away`, repo.remote);
    }
    await status.flush();
    expect(status.pending).toBe(false);
    expect(remoteFile('status/dev.md')).toBe('two');
    expect(git(repo.remote, ['log', '--format=%s', STATUS_BRANCH]).split('\n').slice(0, 3)).toEqual(['three', 'two', 'one']);
  });

  it('[corrupt-state] a truncated index is rebuilt from the last commit, files left uncommitted are kept', async () => {
    const dir = fresh();
    const status = await StatusRepo.open({ url: repo.remote, dir, author });
    await status.write([{ path: 'status/idx.md', text: 'committed\n' }], 'idx');
    const index = join(dir, '.git', 'index');
    writeFileSync(index, readFileSync(index).subarray(0, 20));
    writeFileSync(join(dir, 'status', 'idx.md'), 'left by a crash\n');
    const reopened = await StatusRepo.open({ url: repo.remote, dir, author });
    expect(reopened.repairs).toEqual(["the status clone's git index was damaged and has been rebuilt from its last commit; nothing was lost"]);
    expect(remoteFile('status/idx.md')).toBe('left by a crash');
  });

  it('[corrupt-state] a clone git cannot read is cloned again, naming unpushed commits that are lost', async () => {
    const dir = fresh();
    const status = await StatusRepo.open({ url: repo.remote, dir, author });
    await status.write([{ path: 'status/gone.md', text: 'pushed\n' }], 'pushed');
    renameSync(repo.remote, `${repo.remote}.away`);
    try {
      await status.write([{ path: 'status/gone.md', text: 'never pushed\n' }], 'never pushed');
    } finally {
      renameSync(`${repo.remote}.away`, repo.remote);
    }
    const head = git(dir, ['rev-parse', 'HEAD']);
    rmSync(join(dir, '.git', 'objects'), { recursive: true, force: true });
    const reopened = await StatusRepo.open({ url: repo.remote, dir, author });
    expect(reopened.repairs).toHaveLength(1);
    expect(reopened.repairs[0]).toContain(`its commits up to ${head.slice(0, 12)} had not been pushed and could not be recovered`);
    expect(reopened.read('status/gone.md')).toBe('pushed\n');
  });
});
