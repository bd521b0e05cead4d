/**
 * Renders one revision of one environment for the controller (I/O: reads the
 * verified release folder). Never throws: manifest problems come back as
 * problems, anything else as a failure of this environment.
 */
import { join } from 'node:path';
import { formatDiagnostic, omittedLine } from '../domain/diagnostic.js';
import { ValidationError } from '../domain/errors.js';
import type { DesiredState } from '../domain/manifest.js';
import { loadDesiredState } from '../manifest/load.js';
import type { ControllerContext } from './environment.js';
import { describeFailure, type Failure } from './failure.js';

/** A rendered revision, or why it could not be rendered (`failure`: not a manifest problem). */
export interface Attempt { state?: DesiredState; problems: string[]; failure?: Failure }

/** Renders a revision from its (verified) release; never throws. */
export async function renderRevision(ctx: ControllerContext, env: string, revision: string): Promise<Attempt> {
  try {
    const release = await ctx.source.release(revision);
    return { state: loadDesiredState({ repoRoot: release, path: ctx.path }, env, ctx.renderOptions), problems: [] };
  } catch (err) {
    if (err instanceof ValidationError) {
      if (!err.diagnostics.length) return { problems: [err.message] };
      // The error lists at most its first problems; the rest are counted, so the status file stays small.
      const problems = err.diagnostics.map((d) => formatDiagnostic({ ...d, file: join(ctx.path === '.' ? '' : ctx.path, d.file) }));
      return { problems: err.omitted > 0 ? [...problems, omittedLine(err.omitted)] : problems };
    }
    const failure = describeFailure(err);
    ctx.logger.error({ err, environment: env, revision }, `${env}: revision ${revision} cannot be rendered`);
    return { problems: [`revision ${revision} cannot be rendered: ${failure.message}`], failure };
  }
}
