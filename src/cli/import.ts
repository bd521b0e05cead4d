import { existsSync, mkdirSync, writeFileSync } from 'node:fs';
import { dirname, join, relative, resolve } from 'node:path';
import { stringify } from 'yaml';
import { readEcosystemFile } from '../adapters/ecosystem-file.js';
import { ValidationError } from '../domain/errors.js';
import { importEcosystem } from '../ecosystem/import.js';
import type { CliIo } from './io.js';

export interface ImportOptions { out: string; repo?: string; env: string; namespace?: string; force?: boolean; json?: boolean }

const HEADER = (schema: string): string => `# yaml-language-server: $schema=${schema}\n`;

/** `pm2-gitops import FILE --out DIR`: writes one Task per app and the Environments. */
export async function importCommand(opts: ImportOptions, io: CliIo, args: string[]): Promise<number> {
  const file = args[0]!;
  const config = await readEcosystemFile(file);
  const outDir = resolve(opts.out);
  const result = importEcosystem(config, {
    sourceDir: dirname(resolve(file)), outDir, environment: opts.env, namespace: opts.namespace,
  });
  for (const w of result.warnings) io.err(`pm2-gitops: warning: ${file}: ${w}\n`);
  for (const n of result.notes) io.err(`pm2-gitops: note: ${file}: ${n}\n`);
  if (result.errors.length) {
    throw new ValidationError(`cannot import ${file}:\n${result.errors.map((e) => `  ${file}: ${e}`).join('\n')}`);
  }
  const writes: Array<{ path: string; text: string }> = [
    ...result.tasks.map((t) => ({ path: join(outDir, 'base', `${t.metadata.name}.yaml`), text: HEADER('https://pm2-gitops.dev/schemas/v1/task.schema.json') + stringify(t, { lineWidth: 0 }) })),
    ...result.environments.map((e) => ({ path: join(outDir, 'environments', e.metadata.name, 'environment.yaml'), text: HEADER('https://pm2-gitops.dev/schemas/v1/environment.schema.json') + stringify(e, { lineWidth: 0 }) })),
  ];
  const existing = writes.filter((w) => existsSync(w.path));
  if (existing.length && !opts.force) {
    throw new ValidationError(`refusing to overwrite ${existing.map((w) => relative(process.cwd(), w.path)).join(', ')}; pass --force`);
  }
  for (const w of writes) {
    mkdirSync(dirname(w.path), { recursive: true });
    writeFileSync(w.path, w.text);
  }
  const written = writes.map((w) => relative(outDir, w.path));
  io.out(opts.json ? `${JSON.stringify({ written, warnings: result.warnings, notes: result.notes }, null, 2)}\n` : `${written.map((w) => `wrote ${join(opts.out, w)}`).join('\n')}\n`);
  return 0;
}
