/**
 * Resource resolution (pure): an Environment's `resources` entries → the
 * manifest files they name, given the set of files that were loaded.
 */
import { posix } from 'node:path';

export type ResourceResolution =
  | { kind: 'files'; files: string[] }
  | { kind: 'escape'; path: string }
  | { kind: 'missing'; path: string };

/** Resolves one resource entry, relative to the directory of the environment file. */
export function resolveResource(envFile: string, entry: string, files: readonly string[]): ResourceResolution {
  if (posix.isAbsolute(entry)) return { kind: 'escape', path: entry };
  const target = posix.normalize(posix.join(posix.dirname(envFile), entry)).replace(/\/$/, '');
  if (target === '..' || target.startsWith('../')) return { kind: 'escape', path: target };
  if (files.includes(target)) return { kind: 'files', files: [target] };
  const prefix = target === '.' ? '' : `${target}/`;
  const inside = files.filter((f) => f.startsWith(prefix)).sort();
  return inside.length ? { kind: 'files', files: inside } : { kind: 'missing', path: target };
}
