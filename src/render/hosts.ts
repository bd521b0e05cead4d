/**
 * Host targeting (pure, DESIGN section 8): a rendered desired state + one
 * host (its name and labels) → the part of the state that host runs. A Task
 * or its Environment targets hosts with `spec.hosts` (names) and
 * `spec.hostSelector` (labels, all of which must match); with neither, every
 * host. Both the Environment's and the Task's targeting must match.
 */
import type { DesiredState, DesiredTask } from '../domain/manifest.js';

/** One host of a fleet: the name it reports under and its labels (`--host`, `--host-label KEY=VALUE`). */
export interface HostIdentity {
  name: string;
  labels: Readonly<Record<string, string>>;
}

/** Which hosts something targets: named hosts and/or labels; neither means every host. */
export interface HostTargeting {
  hosts?: readonly string[];
  hostSelector?: Readonly<Record<string, string>>;
}

/** Whether `targeting` selects `host`: it is named (when names are given) and has every selected label. */
export function targetsHost(targeting: HostTargeting, host: HostIdentity): boolean {
  if (targeting.hosts && !targeting.hosts.includes(host.name)) return false;
  for (const [key, value] of Object.entries(targeting.hostSelector ?? {})) {
    if (host.labels[key] !== value) return false;
  }
  return true;
}

/**
 * The tasks of `state` that `host` runs. A task's dependencies on tasks that
 * run elsewhere are left out: `dependsOn` orders the tasks of one host, and a
 * host cannot wait for another host's processes. Never changes its input.
 */
export function selectHost(state: DesiredState, host: HostIdentity): DesiredState {
  const envTargets = targetsHost(state, host);
  const tasks = envTargets ? state.tasks.filter((t) => targetsHost(t, host)) : [];
  if (tasks.length === state.tasks.length) return state;
  const here = new Set(tasks.map((t) => t.name));
  const kept: DesiredTask[] = tasks.map((t) => (t.dependsOn.every((d) => here.has(d)) ? t : { ...t, dependsOn: t.dependsOn.filter((d) => here.has(d)) }));
  return { ...state, tasks: kept };
}

/** A host name ends up in file names (status/<env>/<host>.md): letters, digits, `.`, `_` and `-`, not starting with a dot. */
export const HOST_NAME = /^[A-Za-z0-9][A-Za-z0-9._-]{0,252}$/;

/**
 * Parses `--host-label KEY=VALUE` flags into labels; returns the problems of
 * the flags that are not of that form (named by their position, not value).
 */
export function parseHostLabels(flags: readonly string[]): { labels: Record<string, string>; problems: string[] } {
  const labels: Record<string, string> = {};
  const problems: string[] = [];
  flags.forEach((flag, i) => {
    const eq = flag.indexOf('=');
    const key = eq > 0 ? flag.slice(0, eq) : '';
    if (!/^[A-Za-z0-9][A-Za-z0-9._/-]*$/.test(key)) problems.push(`--host-label #${i + 1}: expected KEY=VALUE, e.g. role=web`);
    else labels[key] = flag.slice(eq + 1);
  });
  return { labels, problems };
}
