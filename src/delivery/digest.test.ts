import { describe, expect, it } from 'vitest';
import { codeDigest, entriesWithin, installKey, normalizeBuild, selectFiles, sortListing, taskCode } from './digest.js';
import type { BlobEntry, CodeTask } from './types.js';

const blob = (path: string, oid = `${path.length}`.padStart(40, 'a'), mode = '100644'): BlobEntry => ({ mode, oid, path });
const LISTING = sortListing([
  blob('apps/web/server.js', 'a'.repeat(40)),
  blob('apps/web/package.json', 'b'.repeat(40)),
  blob('apps/web/package-lock.json', 'c'.repeat(40)),
  blob('apps/web/web.yaml', 'd'.repeat(40)),
  blob('apps/web-admin/x.js', 'e'.repeat(40)),
  blob('apps/web.js', 'f'.repeat(40)),
  blob('lib/greet/index.js', '1'.repeat(40)),
]);
const web: CodeTask = { name: 'web', cwd: 'apps/web', cwdDeclared: true, script: 'server.js', build: { install: 'npm ci', run: ['npm run build'] } };

describe('code digests', () => {
  it('selects a folder without its look-alike neighbours, and a single file', () => {
    expect(entriesWithin(LISTING, 'apps/web').map((e) => e.path)).toEqual(['apps/web/package-lock.json', 'apps/web/package.json', 'apps/web/server.js', 'apps/web/web.yaml']);
    expect(entriesWithin(LISTING, 'apps/web.js').map((e) => e.path)).toEqual(['apps/web.js']);
    expect(entriesWithin(LISTING, '.')).toHaveLength(LISTING.length);
  });

  it('[delivery-digest] manifest files never count, even inside the source', () => {
    const files = selectFiles(LISTING, ['apps/web'], new Set(['apps/web/web.yaml']));
    expect(files.map((f) => f.path)).not.toContain('apps/web/web.yaml');
    const a = taskCode(web, LISTING, new Set(['apps/web/web.yaml']));
    const edited = sortListing(LISTING.map((e) => (e.path === 'apps/web/web.yaml' ? { ...e, oid: '9'.repeat(40) } : e)));
    expect(taskCode(web, edited, new Set(['apps/web/web.yaml'])).codeDigest).toBe(a.codeDigest);
  });

  it('[delivery-digest] a changed blob, mode or build command changes the digest; a file outside the source does not', () => {
    const base = taskCode(web, LISTING, new Set());
    const withOid = (path: string, change: Partial<BlobEntry>) => sortListing(LISTING.map((e) => (e.path === path ? { ...e, ...change } : e)));
    expect(taskCode(web, withOid('apps/web/server.js', { oid: '2'.repeat(40) }), new Set()).codeDigest).not.toBe(base.codeDigest);
    expect(taskCode(web, withOid('apps/web/server.js', { mode: '100755' }), new Set()).codeDigest).not.toBe(base.codeDigest);
    expect(taskCode({ ...web, build: { install: 'npm ci', run: ['npm run build:prod'] } }, LISTING, new Set()).codeDigest).not.toBe(base.codeDigest);
    expect(taskCode({ ...web, build: { install: 'npm ci --omit=dev', run: ['npm run build'] } }, LISTING, new Set()).codeDigest).not.toBe(base.codeDigest);
    expect(taskCode(web, withOid('lib/greet/index.js', { oid: '3'.repeat(40) }), new Set()).codeDigest).toBe(base.codeDigest);
    expect(taskCode(web, withOid('apps/web-admin/x.js', { oid: '3'.repeat(40) }), new Set()).codeDigest).toBe(base.codeDigest);
    expect(base.codeDigest).toMatch(/^[0-9a-f]{64}$/);
  });

  it('[delivery-digest] the install key follows package.json, lockfiles and the install command only', () => {
    const base = taskCode(web, LISTING, new Set());
    expect(base.installKey).toMatch(/^[0-9a-f]{64}$/);
    const code = sortListing(LISTING.map((e) => (e.path === 'apps/web/server.js' ? { ...e, oid: '2'.repeat(40) } : e)));
    expect(taskCode(web, code, new Set()).installKey).toBe(base.installKey);
    const lock = sortListing(LISTING.map((e) => (e.path === 'apps/web/package-lock.json' ? { ...e, oid: '2'.repeat(40) } : e)));
    expect(taskCode(web, lock, new Set()).installKey).not.toBe(base.installKey);
    expect(taskCode({ ...web, build: { install: 'npm ci --omit=dev', run: ['npm run build'] } }, LISTING, new Set()).installKey).not.toBe(base.installKey);
    expect(taskCode({ ...web, build: { run: ['npm run build'] } }, LISTING, new Set()).installKey).toBeUndefined();
    expect(installKey({ files: [], cwd: '.', install: 'npm ci' })).toMatch(/^[0-9a-f]{64}$/);
  });

  it('[delivery-digest] a program on PATH has a digest of its build inputs only, the same everywhere', () => {
    const sleep: CodeTask = { name: 'nap', cwd: '.', cwdDeclared: false, script: 'sleep' };
    const a = taskCode(sleep, LISTING, new Set());
    expect(a.files).toEqual([]);
    expect(a.program).toBe(true);
    expect(taskCode(sleep, [], new Set()).codeDigest).toBe(a.codeDigest);
    // A fixed value: the canonical description must never drift between versions or machines.
    expect(codeDigest({ files: [], cwd: '.', build: normalizeBuild(undefined) })).toBe(a.codeDigest);
    expect(a.codeDigest).toBe('a6428bb914bd50453401c988745307aef2dfdf77d1033436070b6c7ff07a0efd');
  });

  it('normalises spec.build', () => {
    expect(normalizeBuild({ run: 'make' })).toEqual({ run: ['make'], timeoutSeconds: 600 });
    expect(normalizeBuild({ install: '  ', timeoutSeconds: 5 })).toEqual({ run: [], timeoutSeconds: 5 });
  });
});
