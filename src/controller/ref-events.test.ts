import { describe, expect, it } from 'vitest';
import { isOwnRef, movesFollowedRef } from './ref-events.js';

describe('ref events', () => {
  const git = '/srv/ops.git';
  it('[first-own-refs] the status branch, its lock, the applied refs and new ref folders move no followed ref', () => {
    expect(movesFollowedRef('add', `${git}/refs/heads/pm2-gitops/status`)).toBe(false);
    expect(movesFollowedRef('change', `${git}/refs/heads/pm2-gitops/status.lock`)).toBe(false);
    expect(movesFollowedRef('add', `${git}/refs/pm2-gitops/applied/0123abcd`)).toBe(false);
    expect(movesFollowedRef('addDir', `${git}/refs/heads/pm2-gitops`)).toBe(false);
    expect(movesFollowedRef('unlinkDir', `${git}/refs/heads/feature`)).toBe(false);
    expect(isOwnRef(`${git}/refs/heads/pm2-gitops`)).toBe(false);
    expect(isOwnRef(`${git}/refs/heads/pm2-gitops/status-report`)).toBe(false);
    expect(isOwnRef(`${git}/refs/pm2-gitops/applied/0123abcd.lock`)).toBe(true);
  });

  it('[first-own-refs] a branch push, a new branch, a deleted branch and packed refs do', () => {
    expect(movesFollowedRef('change', `${git}/refs/heads/main`)).toBe(true);
    expect(movesFollowedRef('add', `${git}/refs/heads/pm2-gitops/other`)).toBe(true);
    expect(movesFollowedRef('add', `${git}/refs/heads/release/1.2`)).toBe(true);
    expect(movesFollowedRef('unlink', `${git}/refs/heads/main`)).toBe(true);
    expect(movesFollowedRef('change', `${git}/packed-refs`)).toBe(true);
  });
});
