import { hostname } from 'node:os';
import { resolve } from 'node:path';
import { ValidationError } from '../domain/errors.js';
import type { RenderOptions } from '../manifest/load.js';
import { HOST_NAME, parseHostLabels, type HostIdentity } from '../render/hosts.js';

/** The flags that shape a render: `--allow-root DIR` (repeatable), `--max-instances N`, `--host NAME`, `--host-label KEY=VALUE` (repeatable). */
export interface RenderFlags {
  allowRoot?: string[];
  maxInstances?: string;
  host?: string;
  hostLabel?: string[];
}

/**
 * The host the flags name (`--host`, `--host-label`); without either,
 * `this host` (name: the hostname) when `everyHost` is false, else undefined
 * (every task). Throws ValidationError (exit 2) on a bad name or label.
 */
export function hostOf(flags: RenderFlags, opts: { everyHost?: boolean } = {}): HostIdentity | undefined {
  if (flags.host === undefined && !flags.hostLabel?.length && opts.everyHost) return undefined;
  const name = flags.host ?? hostname();
  if (!HOST_NAME.test(name)) throw new ValidationError(`--host: expected a host name of letters, digits, ".", "_" and "-" (got ${name.length} characters)`);
  const { labels, problems } = parseHostLabels(flags.hostLabel ?? []);
  if (problems.length) throw new ValidationError(problems.join('; '));
  return { name, labels };
}

/**
 * The render options the flags ask for; throws ValidationError (exit 2) on a
 * bad `--max-instances`, `--host` or `--host-label`. The state is for this
 * host unless `everyHost` is set and neither `--host` nor `--host-label` is given.
 */
export function renderOptions(flags: RenderFlags, opts: { everyHost?: boolean } = {}): RenderOptions {
  const out: { allowRoots?: string[]; maxInstances?: number; host?: HostIdentity } = {};
  if (flags.allowRoot?.length) out.allowRoots = flags.allowRoot.map((dir) => resolve(dir));
  if (flags.maxInstances !== undefined) {
    const n = Number(flags.maxInstances);
    if (!/^\d+$/.test(flags.maxInstances) || !Number.isSafeInteger(n) || n < 1) {
      throw new ValidationError(`--max-instances ${JSON.stringify(flags.maxInstances)}: expected a whole number of at least 1`);
    }
    out.maxInstances = n;
  }
  const host = hostOf(flags, opts);
  if (host) out.host = host;
  return out;
}
