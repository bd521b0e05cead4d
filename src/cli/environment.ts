import { resolve } from 'node:path';
import { ValidationError } from '../domain/errors.js';
import { readManifestFiles } from '../manifest/load.js';
import { findEnvironments } from '../render/render.js';
import type { SourceOptions } from './io.js';

/** The environment a command works on: `--env`, or the only one there is. */
export function pickEnvironment(opts: SourceOptions): string {
  if (opts.env) return opts.env;
  const names = [...new Set(findEnvironments(readManifestFiles({ repoRoot: resolve(opts.repo), path: opts.path })).map((e) => e.name))];
  if (names.length === 1) return names[0]!;
  throw new ValidationError(names.length
    ? `--env is required: this repository has environments ${names.join(', ')}`
    : `no Environment manifest found under ${resolve(opts.repo, opts.path ?? '.')}`);
}
