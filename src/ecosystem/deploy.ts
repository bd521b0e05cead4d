/**
 * deploy (pure): the `deploy` section of an ecosystem file → what pm2-gitops
 * keeps of each target: its `env` (merged into every app's env by
 * `pm2 start --env <target>`) and the build its `post-deploy` command amounts
 * to; every other key is reported as not carried over, by name only (values
 * such as hosts, users, keys and repository addresses are never repeated).
 */
import { isDeepStrictEqual } from 'node:util';
import type { BuildSpec } from '../domain/manifest.js';
import { buildOfPostDeploy } from './post-deploy.js';

/** What the deploy targets of an ecosystem file give the import. */
export interface DeployTargets {
  /** `deploy.<target>.env`, by target name. */
  envs: Map<string, Record<string, unknown>>;
  /** The build of `deploy.<target>["post-deploy"]`, for every target (undefined when it gives none). */
  builds: Map<string, BuildSpec | undefined>;
  notes: string[];
  warnings: string[];
}

const REMOTE = 'pm2-gitops runs on each host and pulls from git, with no SSH login: start a controller there';

/** Why a deploy option is not carried over. */
const NOT_CARRIED: Readonly<Record<string, string>> = {
  user: REMOTE, host: REMOTE, port: REMOTE, key: REMOTE, ssh_options: REMOTE, forward_agent: REMOTE,
  repo: 'give the repository to pm2-gitops run --repo on the host',
  ref: 'give the branch to pm2-gitops run --branch on the host',
  fetch: 'the controller fetches each revision itself',
  path: 'the controller keeps its checkouts and builds in its state dir (--state-dir)',
  'pre-setup': 'pm2-gitops has no setup step: prepare the host once, by hand',
  'post-setup': 'pm2-gitops has no setup step: prepare the host once, by hand',
  'pre-deploy': 'it ran in the old checkout before the update; pm2-gitops has no step there (a build step goes into post-deploy\'s place, spec.build)',
  'pre-deploy-local': 'it ran on the machine that deployed; with pm2-gitops there is none',
};

/** `deploy.production`, `deploy["eu-west"]["post-deploy"]`. */
export function deployPath(...keys: string[]): string {
  return `deploy${keys.map((k) => (/^[A-Za-z_$][\w$]*$/.test(k) ? `.${k}` : `[${JSON.stringify(k)}]`)).join('')}`;
}

/** Reads the deploy targets of an ecosystem configuration. */
export function readDeploy(config: unknown): DeployTargets {
  const out: DeployTargets = { envs: new Map(), builds: new Map(), notes: [], warnings: [] };
  const deploy = (config && typeof config === 'object' ? (config as Record<string, unknown>).deploy : undefined) as Record<string, unknown> | undefined;
  if (!deploy || typeof deploy !== 'object') return out;
  for (const [name, conf] of Object.entries(deploy)) {
    if (!conf || typeof conf !== 'object' || Array.isArray(conf)) {
      out.warnings.push(`${deployPath(name)} is not a deploy target (an object); not carried over`);
      continue;
    }
    let build: BuildSpec | undefined;
    for (const [key, value] of Object.entries(conf as Record<string, unknown>)) {
      if (key === 'env') {
        if (value && typeof value === 'object' && !Array.isArray(value)) out.envs.set(name, value as Record<string, unknown>);
        continue;
      }
      if (key === 'post-deploy') {
        const r = buildOfPostDeploy(value, deployPath(name, key));
        build = r.build;
        out.notes.push(...r.notes);
        out.warnings.push(...r.warnings);
        continue;
      }
      out.warnings.push(`${deployPath(name, key)} was not carried over: ${NOT_CARRIED[key] ?? 'it is not a pm2 deploy option pm2-gitops uses'}`);
    }
    out.builds.set(name, build);
  }
  return out;
}

/** The build every deploy target has, when they all have the same one (it then belongs in the base). */
export function sharedBuild(builds: ReadonlyMap<string, BuildSpec | undefined>): BuildSpec | undefined {
  const all = [...builds.values()];
  const first = all[0];
  if (first === undefined || !all.every((b) => b !== undefined && isDeepStrictEqual(b, first))) return undefined;
  return first;
}
