/** Where a task's problem is reported (pure): at the patch that wrote the value when a patch did, else in the task's own file. */
import { diagnosticAt, type Diagnostic } from '../domain/diagnostic.js';
import type { ParsedDocument } from '../manifest/parse.js';
import type { TaskOrigin } from './rules.js';

/** Reports a problem of task `o` at `pointer`: at the patch that wrote it when a patch did, else in the task's own file. */
export function reportAt(o: TaskOrigin, ctx: { envDoc: ParsedDocument }, pointer: string, message: string): Diagnostic {
  const source = o.blame?.(pointer);
  if (source === undefined) return diagnosticAt(o.doc.file, o.doc.index, pointer, message, o.doc.locate);
  const env = ctx.envDoc;
  return diagnosticAt(env.file, env.index, source, `patch makes task ${o.task.sourceName} (${o.doc.file}) invalid at ${pointer}: ${message}`, env.locate);
}

