/**
 * What garbage collection keeps of one task's builds (pure): the newest
 * `keep` by last use, and always those a link points at or the caller names
 * (the last good revision's); failure records only while they are not older
 * than every kept build, at most `keep` of them.
 */

/** A build folder of the store as GC sees it. */
export interface StoredBuild {
  codeDigest: string;
  /** Whether it has a record of a complete build; a folder without one is what a killed attempt left. */
  complete: boolean;
  lastUsedAt?: string;
  createdAt?: string;
}

/** A failure record of the store. */
export interface StoredFailure { codeDigest: string; at: string }

/** The decision for one task: digests of builds to keep and to remove, and of failure records to remove. */
export interface CollectionPlan {
  keep: string[];
  remove: string[];
  removeFailures: string[];
}

function newestFirst(a: StoredBuild, b: StoredBuild): number {
  const la = a.lastUsedAt ?? '';
  const lb = b.lastUsedAt ?? '';
  if (la !== lb) return la < lb ? 1 : -1;
  const ca = a.createdAt ?? '';
  const cb = b.createdAt ?? '';
  if (ca !== cb) return ca < cb ? 1 : -1;
  return a.codeDigest < b.codeDigest ? -1 : 1;
}

/** Decides what to keep and remove of one task's builds and failure records. */
export function planCollection(input: { builds: readonly StoredBuild[]; failures: readonly StoredFailure[]; protect: ReadonlySet<string>; keep: number }): CollectionPlan {
  const complete = input.builds.filter((b) => b.complete).sort(newestFirst);
  const keep: string[] = [];
  const remove = input.builds.filter((b) => !b.complete && !input.protect.has(b.codeDigest)).map((b) => b.codeDigest);
  complete.forEach((b, i) => {
    if (i < input.keep || input.protect.has(b.codeDigest)) keep.push(b.codeDigest);
    else remove.push(b.codeDigest);
  });
  const kept = complete.filter((b) => keep.includes(b.codeDigest));
  const oldestKept = kept.reduce<string | undefined>((min, b) => (min === undefined || (b.lastUsedAt ?? '') < min ? (b.lastUsedAt ?? '') : min), undefined);
  const failures = [...input.failures].sort((a, b) => (a.at < b.at ? 1 : a.at > b.at ? -1 : 0));
  const removeFailures = failures
    .filter((f, i) => i >= input.keep || (oldestKept !== undefined && f.at < oldestKept))
    .map((f) => f.codeDigest);
  return { keep, remove, removeFailures };
}
