/**
 * Environment names (pure). An Environment is named by lowercase letters,
 * digits and dashes; PM2 names its environments by the `env_<name>` blocks of
 * an ecosystem file (`env_local_production`, used as `--env local_production`).
 * Import names the Environment of such a block by this mapping, and every
 * `--env` goes through it too, so that PM2's name keeps working.
 */

/** The Environment name of a PM2 environment name: lowercase, each run of other characters one dash (`local_production` → `local-production`). */
export function environmentNameOf(pm2Name: string): string {
  return pm2Name.toLowerCase().replace(/[^a-z0-9-]+/g, '-');
}
