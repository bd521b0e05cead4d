/**
 * Desired state (pure): parsed manifest files → the rendered state of one
 * environment, or the ValidationError (exit 2) that lists every problem.
 */
import { ValidationError } from '../domain/errors.js';
import type { DesiredState } from '../domain/manifest.js';
import { render, type RenderInput } from '../render/render.js';

/**
 * Renders and validates one environment from parsed files; throws
 * ValidationError with every diagnostic when it does not render.
 */
export function renderDesiredState(input: RenderInput): DesiredState {
  const result = render(input);
  if (!result.state) {
    const count = result.diagnostics.length;
    // No state must come with a reason; anything else is a defect, reported as one (exit 70).
    if (count === 0) throw new Error(`rendering environment ${input.environment} produced neither a state nor a problem`);
    const diagnostics = result.diagnostics.map((d) => ({ ...d }));
    throw new ValidationError(`environment ${input.environment} is invalid: ${count} problem${count === 1 ? '' : 's'}`, diagnostics);
  }
  return result.state;
}
