/**
 * Desired state (pure): parsed manifest files → the rendered state of one
 * environment, or the ValidationError (exit 2) that lists every problem.
 */
import { ValidationError } from '../domain/errors.js';
import { processSecrets } from '../domain/secret-registry.js';
import type { DesiredState } from '../domain/manifest.js';
import { render, type RenderInput } from '../render/render.js';

/**
 * Renders and validates one environment from parsed files; throws
 * ValidationError with its problems when it does not render. Registers the
 * files' secrets (under `secretsSource`) with the process-wide registry, so
 * that no output of the process shows them.
 */
export function renderDesiredState(input: RenderInput, secretsSource = `\u0000${input.repoRoot ?? ''}\u0000${input.manifestRoot ?? ''}\u0000${input.environment}`): DesiredState {
  const result = render(input);
  // Whatever happens next, every output of this process redacts the env values these files hold.
  processSecrets.registerRender(secretsSource, input.files, result.state);
  if (!result.state) {
    // The render lists the first problems and counts the rest.
    const count = result.diagnostics.length + (result.omitted ?? 0);
    // No state must come with a reason; anything else is a defect, reported as one (exit 70).
    if (count === 0) throw new Error(`rendering environment ${input.environment} produced neither a state nor a problem`);
    const diagnostics = result.diagnostics.map((d) => ({ ...d }));
    throw new ValidationError(`environment ${input.environment} is invalid: ${count} problem${count === 1 ? '' : 's'}`, diagnostics, { omitted: result.omitted ?? 0 });
  }
  return result.state;
}
