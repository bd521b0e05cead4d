import { existsSync, mkdirSync, writeFileSync } from 'node:fs';
import { dirname, join, relative, resolve, sep } from 'node:path';
import { fileURLToPath } from 'node:url';
import { stringify } from 'yaml';
import { readEcosystemFile } from '../adapters/ecosystem-file.js';
import { ValidationError } from '../domain/errors.js';
import { importEcosystem } from '../ecosystem/import.js';
import type { CliIo } from './io.js';

export interface ImportOptions { out: string; repo?: string; env: string; namespace?: string; force?: boolean; json?: boolean }

const HEADER = (schema: string): string => `# yaml-language-server: $schema=${schema}\n`;

/** The schemas of the pm2-gitops that runs (dist/cli/ → schemas/). */
const OWN_SCHEMAS = fileURLToPath(new URL('../../schemas/', import.meta.url));

/**
 * The folder of the schemas the manifests under `outDir` point at: those of
 * pm2-gitops installed in the project (`node_modules/pm2-gitops/schemas/` in
 * `outDir` or a folder above it), else those of the pm2-gitops that runs.
 */
function schemaDir(outDir: string): { dir: string; installed: boolean } {
  for (let dir = outDir; ; dir = dirname(dir)) {
    const installed = join(dir, 'node_modules', 'pm2-gitops', 'schemas');
    if (existsSync(join(installed, 'task.schema.json'))) return { dir: installed, installed: true };
    if (dirname(dir) === dir) return { dir: OWN_SCHEMAS, installed: false };
  }
}

/** The `$schema` of a manifest written to `file`: a relative path to the schema file, as editors resolve it. */
function schemaRef(file: string, schemas: string, name: string): string {
  return relative(dirname(file), join(schemas, name)).split(sep).join('/');
}

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
  const schemas = schemaDir(outDir);
  if (!schemas.installed) {
    io.err(`pm2-gitops: note: the manifests' $schema points at the schemas of this pm2-gitops (${schemas.dir}); with pm2-gitops installed in the project (npm install --save-dev pm2-gitops), import points at node_modules/pm2-gitops/schemas/, a path that works in every checkout\n`);
  }
  const manifest = (path: string, schema: string, value: unknown) => ({ path, text: HEADER(schemaRef(path, schemas.dir, schema)) + stringify(value, { lineWidth: 0 }) });
  const writes: Array<{ path: string; text: string }> = [
    ...result.tasks.map((t) => manifest(join(outDir, 'base', `${t.metadata.name}.yaml`), 'task.schema.json', t)),
    ...result.environments.map((e) => manifest(join(outDir, 'environments', e.metadata.name, 'environment.yaml'), 'environment.schema.json', e)),
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
