import { writeFileSync } from 'node:fs';
import { dirname, resolve } from 'node:path';
import { formatEcosystem, type EcosystemFormat } from '../ecosystem/export.js';
import { loadDesiredState } from '../manifest/load.js';
import type { CliIo, SourceOptions } from './io.js';
import { renderOptions } from './render-options.js';
import { pickEnvironment } from './environment.js';

/**
 * `pm2-gitops export`: an ecosystem file equivalent to an environment (env
 * values included: PM2 needs them), with paths relative to where it goes:
 * `--out FILE` (written, readable by its owner only), else printed for the
 * repository root.
 */
export async function exportCommand(opts: SourceOptions & { format: EcosystemFormat; out?: string }, io: CliIo): Promise<number> {
  const env = pickEnvironment(opts);
  const repoRoot = resolve(opts.repo);
  const state = loadDesiredState({ repoRoot, path: opts.path }, env, renderOptions(opts, { everyHost: true }));
  const file = opts.out === undefined ? undefined : resolve(opts.out);
  const text = formatEcosystem(state, { repoRoot, fileDir: file ? dirname(file) : repoRoot }, opts.json ? 'json' : opts.format);
  if (file === undefined) {
    io.outRaw(text);
    return 0;
  }
  writeFileSync(file, text, { mode: 0o600 });
  io.out(`wrote ${opts.out}\n`);
  return 0;
}
