/**
 * Many status clones pushing to one real bare remote at once, as the hosts of
 * a fleet do: every host's files arrive, none overwrites another's, and the
 * derived summary ends up made from every host's newest file.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { StatusRepo, STATUS_BRANCH } from '../src/report/status-repo.js';
import { git, gitFixture } from './helpers/git.js';

const HOSTS = ['h1', 'h2', 'h3', 'h4'];
const WRITES = 8;

describe('status clones of a fleet', () => {
  const repo = gitFixture();
  repo.commit('initial', { 'README.md': 'x\n' });
  const root = mkdtempSync(join(tmpdir(), 'pm2gt-status-fleet-'));
  const remoteFile = (path: string): string => git(repo.remote, ['show', `${STATUS_BRANCH}:${path}`]);

  afterAll(() => {
    repo.cleanup();
    rmSync(root, { recursive: true, force: true });
  });

  it('[fleet-summary] hosts writing at once keep every report and a summary of every host\'s newest file', async () => {
    const clones = await Promise.all(HOSTS.map(async (host) => {
      const status = await StatusRepo.open({ url: repo.remote, dir: join(root, host), author: { name: 'pm2-gitops', email: `pm2-gitops@${host}` } });
      // The summary lists what each host's file says, as the working copy holds it after each rebase.
      status.derive('status/dev.md', () => `${status.list('status/dev').map((n) => `${n}: ${status.read(`status/dev/${n}`)!.trim()}`).join('\n')}\n`);
      return { host, status };
    }));
    await Promise.all(clones.map(async ({ host, status }) => {
      for (let i = 1; i <= WRITES; i++) {
        await status.write([{ path: `status/dev/${host}.md`, text: `${host} round ${i}\n` }, { path: `evidence/dev/${host}/${String(i).padStart(3, '0')}.json`, text: `{"sequence":${i}}\n` }], `${host} ${i}`);
      }
    }));
    for (const { status } of clones) await status.flush();
    for (const { host, status } of clones) {
      expect(status.pending).toBe(false);
      expect(remoteFile(`status/dev/${host}.md`)).toBe(`${host} round ${WRITES}`);
      expect(git(repo.remote, ['ls-tree', '--name-only', `${STATUS_BRANCH}:evidence/dev/${host}`]).split('\n')).toHaveLength(WRITES);
    }
    // The clone that pushed last made the summary from every host's newest file.
    expect(remoteFile('status/dev.md')).toBe(HOSTS.map((h) => `${h}.md: ${h} round ${WRITES}`).join('\n'));
    // Pushes met each other, and were rebased rather than lost.
    expect(clones.reduce((n, c) => n + c.status.rejected, 0)).toBeGreaterThan(0);
  }, 120_000);
});
