/**
 * Reads PM2 ecosystem files the way PM2 does: `.js`/`.cjs` with require,
 * `.mjs` with import, `.json` as a JavaScript object literal, `.yaml` with a YAML parser.
 */
import { existsSync, readFileSync, statSync } from 'node:fs';
import { createRequire } from 'node:module';
import { extname, resolve } from 'node:path';
import { pathToFileURL } from 'node:url';
import { runInNewContext } from 'node:vm';
import { ValidationError } from '../domain/errors.js';
import { parseManifestFile } from '../manifest/parse.js';

function unwrapModule(mod: unknown): unknown {
  const m = mod as Record<string, unknown> | undefined;
  if (m && typeof m === 'object' && !('apps' in m) && 'default' in m) return m.default;
  return m;
}

/**
 * A YAML ecosystem file through the manifest parser, so that it is held to the
 * same rules: no aliases left unresolved, no tags that are not JSON data, no
 * message quoting its text.
 */
function readYaml(file: string, text: string): unknown {
  const parsed = parseManifestFile(file, text);
  if (parsed.diagnostics.length) throw new ValidationError(`cannot read ecosystem file ${file}`, parsed.diagnostics);
  return parsed.documents[0]?.value;
}

/**
 * Where in the ecosystem file an error thrown while loading it arose
 * (` (file:line)`), from its stack; empty when the stack does not name it.
 */
function placeIn(file: string, abs: string, err: unknown): string {
  // Errors of a JSON file come from the vm context: an Error of another realm, not instanceof Error here.
  const stack = (err as { stack?: unknown } | undefined)?.stack;
  if (typeof stack !== 'string') return '';
  const at = new RegExp(`${abs.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}:(\\d+)`).exec(stack);
  return at ? ` (${file}:${at[1]})` : '';
}

/**
 * Loads an ecosystem file; throws ValidationError naming the file when it
 * does not exist, or cannot be read or parsed (one line: the first line of the
 * error, and the line of the file where it arose).
 */
export async function readEcosystemFile(file: string): Promise<unknown> {
  const abs = resolve(file);
  const ext = extname(abs);
  if (!existsSync(abs)) throw new ValidationError(`ecosystem file ${file} does not exist (looked for ${abs})`);
  if (!statSync(abs).isFile()) throw new ValidationError(`ecosystem file ${file} is not a file`);
  try {
    if (ext === '.json') return runInNewContext(`(${readFileSync(abs, 'utf8')})`, {}, { filename: abs, timeout: 1000 });
    if (ext === '.yaml' || ext === '.yml') return readYaml(file, readFileSync(abs, 'utf8'));
    if (ext === '.mjs') return unwrapModule(await import(pathToFileURL(abs).href));
    if (ext === '.js' || ext === '.cjs') {
      const require = createRequire(abs);
      return unwrapModule(require(abs));
    }
  } catch (err) {
    if (err instanceof ValidationError) throw err;
    // The message's first line says it all; the rest is Node's require stack, of no use to the reader.
    throw new ValidationError(`cannot read ecosystem file ${file}: ${String((err as Error).message).split('\n')[0]}${placeIn(file, abs, err)}`, [], { cause: err });
  }
  throw new ValidationError(`cannot read ecosystem file ${file}: expected a .js, .cjs, .mjs, .json, .yaml or .yml file`);
}
