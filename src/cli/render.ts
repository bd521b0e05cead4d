import { resolve } from 'node:path';
import { stringify } from 'yaml';
import { loadDesiredState } from '../manifest/load.js';
import type { CliIo, SourceOptions } from './io.js';
import { renderOptions } from './render-options.js';
import { pickEnvironment } from './environment.js';

/** `pm2-gitops render`: prints the rendered desired state of one environment. */
export async function renderCommand(opts: SourceOptions, io: CliIo): Promise<number> {
  const env = pickEnvironment(opts);
  const state = loadDesiredState({ repoRoot: resolve(opts.repo), path: opts.path }, env, renderOptions(opts));
  io.out(opts.json ? `${JSON.stringify(state, null, 2)}\n` : stringify(state, { lineWidth: 0 }));
  return 0;
}
