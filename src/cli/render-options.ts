import { resolve } from 'node:path';
import { ValidationError } from '../domain/errors.js';
import type { RenderOptions } from '../manifest/load.js';

/** The flags that shape a render: `--allow-root DIR` (repeatable) and `--max-instances N`. */
export interface RenderFlags {
  allowRoot?: string[];
  maxInstances?: string;
}

/** The render options the flags ask for; throws ValidationError (exit 2) on a bad `--max-instances`. */
export function renderOptions(flags: RenderFlags): RenderOptions {
  const out: { allowRoots?: string[]; maxInstances?: number } = {};
  if (flags.allowRoot?.length) out.allowRoots = flags.allowRoot.map((dir) => resolve(dir));
  if (flags.maxInstances !== undefined) {
    const n = Number(flags.maxInstances);
    if (!/^\d+$/.test(flags.maxInstances) || !Number.isSafeInteger(n) || n < 1) {
      throw new ValidationError(`--max-instances ${JSON.stringify(flags.maxInstances)}: expected a whole number of at least 1`);
    }
    out.maxInstances = n;
  }
  return out;
}
