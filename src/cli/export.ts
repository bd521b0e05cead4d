import { resolve } from 'node:path';
import { formatEcosystem, type EcosystemFormat } from '../ecosystem/export.js';
import { loadDesiredState } from '../manifest/load.js';
import type { CliIo, SourceOptions } from './io.js';
import { renderOptions } from './render-options.js';
import { pickEnvironment } from './environment.js';

/** `pm2-gitops export`: prints an ecosystem file equivalent to an environment (env values included: PM2 needs them). */
export async function exportCommand(opts: SourceOptions & { format: EcosystemFormat }, io: CliIo): Promise<number> {
  const env = pickEnvironment(opts);
  const repoRoot = resolve(opts.repo);
  const state = loadDesiredState({ repoRoot, path: opts.path }, env, renderOptions(opts));
  io.outRaw(formatEcosystem(state, repoRoot, opts.json ? 'json' : opts.format));
  return 0;
}
