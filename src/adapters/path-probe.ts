/**
 * The file system facts render asks for (I/O): real paths, with every
 * symbolic link resolved, and whether a path exists. Answers are kept for
 * the probe's life (one render), as many tasks share a cwd or a script.
 */
import { realpathSync } from 'node:fs';
import { basename, dirname, isAbsolute, join, resolve, sep } from 'node:path';
import type { PathProbe } from '../validate/paths.js';

function toPosix(path: string): string {
  return sep === '/' ? path : path.split(sep).join('/');
}

/**
 * The real path of `full` as far as it exists, the rest appended as written:
 * a path that does not exist yet still cannot hide a link that leaves.
 */
function realPathOf(full: string): { real: string; exists: boolean } {
  try {
    return { real: realpathSync.native(full), exists: true };
  } catch {
    // Missing (or a dangling link): resolve the nearest folder that exists.
  }
  const rest: string[] = [];
  let dir = full;
  for (;;) {
    const parent = dirname(dir);
    if (parent === dir) return { real: full, exists: false };
    rest.unshift(basename(dir));
    dir = parent;
    try {
      return { real: join(realpathSync.native(dir), ...rest), exists: false };
    } catch {
      // keep going up
    }
  }
}

/** A probe for paths relative to the repository at `root` (absolute paths are taken as they are). */
export function createPathProbe(root: string): PathProbe {
  const answers = new Map<string, { real: string; exists: boolean }>();
  return {
    resolve(path) {
      let answer = answers.get(path);
      if (!answer) {
        const found = realPathOf(isAbsolute(path) ? path : resolve(root, ...path.split('/')));
        answer = { real: toPosix(found.real), exists: found.exists };
        answers.set(path, answer);
      }
      return answer;
    },
  };
}
