import { describe, expect, it } from 'vitest';
import { planCollection, type StoredBuild } from './gc-plan.js';

const d = (n: number): string => String(n).repeat(64).slice(0, 64);
const build = (n: number, lastUsed: string): StoredBuild => ({ codeDigest: d(n), complete: true, lastUsedAt: lastUsed, createdAt: lastUsed });

describe('garbage collection plan', () => {
  const builds = [1, 2, 3, 4, 5, 6, 7].map((n) => build(n, `2025-01-0${n}T00:00:00.000Z`));

  it('[delivery-gc] keeps the newest by last use and removes the rest', () => {
    const plan = planCollection({ builds, failures: [], protect: new Set(), keep: 3 });
    expect(plan.keep.sort()).toEqual([d(5), d(6), d(7)]);
    expect(plan.remove.sort()).toEqual([d(1), d(2), d(3), d(4)]);
  });

  it('[delivery-gc] always keeps linked and protected builds, however old', () => {
    const plan = planCollection({ builds, failures: [], protect: new Set([d(1), d(2)]), keep: 2 });
    expect(plan.keep.sort()).toEqual([d(1), d(2), d(6), d(7)]);
    expect(plan.remove.sort()).toEqual([d(3), d(4), d(5)]);
  });

  it('[delivery-gc] removes folders a killed attempt left, and failure records older than the kept builds', () => {
    const plan = planCollection({
      builds: [...builds.slice(5), { codeDigest: d(8), complete: false }],
      failures: [{ codeDigest: d(9), at: '2025-01-01T00:00:00.000Z' }, { codeDigest: d(0), at: '2025-01-08T00:00:00.000Z' }],
      protect: new Set(), keep: 5,
    });
    expect(plan.remove).toEqual([d(8)]);
    expect(plan.removeFailures).toEqual([d(9)]);
  });

  it('keeps at most `keep` failure records', () => {
    const failures = [1, 2, 3].map((n) => ({ codeDigest: d(n), at: `2025-02-0${n}T00:00:00.000Z` }));
    expect(planCollection({ builds: [], failures, protect: new Set(), keep: 2 }).removeFailures).toEqual([d(1)]);
  });
});
