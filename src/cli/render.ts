import { resolve } from 'node:path';
import { stringify } from 'yaml';
import type { DesiredState, DesiredTask } from '../domain/manifest.js';
import { redactEnv } from '../diff/redact.js';
import { loadDesiredState } from '../manifest/load.js';
import type { CliIo, SourceOptions } from './io.js';
import { pickEnvironment } from './environment.js';
import { renderOptions } from './render-options.js';

/** The state with every env map (`env`, `env_*`) of every task replaced by SHA-256 prefixes. */
function withoutEnvValues(state: DesiredState): DesiredState {
  const redactTask = (task: DesiredTask): DesiredTask => {
    const process: Record<string, unknown> = {};
    for (const [key, value] of Object.entries(task.process)) {
      process[key] = /^env(_.+)?$/.test(key) && value && typeof value === 'object' ? redactEnv(value as Record<string, unknown>) : value;
    }
    return { ...task, process: process as DesiredTask['process'] };
  };
  return { ...state, tasks: state.tasks.map(redactTask) };
}

/**
 * `pm2-gitops render`: prints the rendered desired state of one environment.
 * Env values are shown as SHA-256 prefixes (rendered output often ends up in
 * CI logs); `--show-env` prints them as they are.
 */
export async function renderCommand(opts: SourceOptions & { showEnv?: boolean }, io: CliIo): Promise<number> {
  const env = pickEnvironment(opts);
  const loaded = loadDesiredState({ repoRoot: resolve(opts.repo), path: opts.path }, env, renderOptions(opts, { everyHost: true }));
  const state = opts.showEnv ? loaded : withoutEnvValues(loaded);
  const text = opts.json ? `${JSON.stringify(state, null, 2)}\n` : stringify(state, { lineWidth: 0 });
  if (opts.showEnv) io.outRaw(text);
  else io.out(text);
  return 0;
}
