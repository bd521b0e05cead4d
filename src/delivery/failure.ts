/** Build failures for people and reports (pure): which task, which step, how it ended, the tail of its output. */
import { tailLines } from './output.js';
import type { BuildFailure, BuildRecord, StepRecord } from './types.js';

/** `install \`npm ci\``, `run[1] \`npm run build\``, `check`. */
export function stepLabel(step: StepRecord, index?: number): string {
  const name = step.kind === 'run' && index !== undefined ? `run[${index}]` : step.kind;
  return step.command === undefined ? name : `${name} \`${step.command}\``;
}

function how(step: StepRecord, timeoutSeconds: number): string {
  if (step.message) return step.message;
  if (step.timedOut) return `timed out after the build's ${timeoutSeconds} s (spec.build.timeoutSeconds) and was killed with its process group`;
  if (step.signal) return `killed by ${step.signal}`;
  return `exit code ${String(step.exitCode)}`;
}

/** The failure a failed record describes: its last step is the one that failed. */
export function failureOf(record: BuildRecord, recorded: boolean): BuildFailure {
  const step = record.steps[record.steps.length - 1]!;
  const runIndex = step.kind === 'run' ? record.steps.filter((s) => s.kind === 'run').length - 1 : undefined;
  const failure: BuildFailure = {
    task: record.task,
    codeDigest: record.codeDigest,
    step: step.kind,
    exitCode: step.exitCode ?? null,
    signal: step.signal ?? null,
    timedOut: step.timedOut ?? false,
    message: `build of task ${record.task} failed at ${stepLabel(step, runIndex)}: ${how(step, record.build.timeoutSeconds)}`,
    tail: tailLines(step.output ?? ''),
    at: record.createdAt,
    recorded,
  };
  if (record.revision !== undefined) failure.revision = record.revision;
  if (runIndex !== undefined) failure.index = runIndex;
  if (step.command !== undefined) failure.command = step.command;
  return failure;
}

/** The failure as text: its message, then the output tail, indented. */
export function formatBuildFailure(failure: BuildFailure): string {
  if (failure.tail.length === 0) return failure.message;
  return `${failure.message}\n${failure.tail.map((line) => `  | ${line}`).join('\n')}`;
}
