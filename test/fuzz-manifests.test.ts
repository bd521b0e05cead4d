/**
 * Property-based fuzzing of the manifest pipeline, in process: the bundled
 * example manifests, with a unique secret planted in every env value, are
 * mutated (text: characters and lines deleted, duplicated, inserted, YAML
 * specials, control characters, UTF-16; structure: values replaced by random
 * JSON, fields added, removed and retyped, patches with test operations, env
 * keys with "=") and parsed and rendered. Each case either renders or throws
 * ValidationError (exit 2) with a message, within 5 s, and no planted secret
 * shows in a message, a diagnostic, or anything printed during the call.
 *
 * A failure prints fast-check's seed and path; replay it with
 * FUZZ_SEED=<seed> FUZZ_PATH=<path> npx vitest run test/fuzz-manifests.test.ts.
 * FUZZ_RUNS=<n> runs more cases.
 */
import { readdirSync, readFileSync } from 'node:fs';
import { join, relative, sep } from 'node:path';
import fc from 'fast-check';
import { parseDocument, stringify } from 'yaml';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { formatDiagnostic } from '../src/domain/diagnostic.js';
import { ValidationError } from '../src/domain/errors.js';
import { processSecrets } from '../src/domain/secret-registry.js';
import { renderDesiredState } from '../src/manifest/desired.js';
import { parseManifestFile, type ParsedFile } from '../src/manifest/parse.js';
import { ROOT } from './helpers/cli.js';


const RUNS = Number(process.env.FUZZ_RUNS ?? 10_000);
const MANIFESTS = join(ROOT, 'manifests');
const ENVIRONMENTS = ['dev', 'staging', 'prod'] as const;

// ---------------------------------------------------------------------------
// The example, with a placeholder in every env value

/** Every file under `dir` (repository-relative, POSIX). */
function filesUnder(dir: string): string[] {
  return readdirSync(dir, { recursive: true, withFileTypes: true })
    .filter((e) => e.isFile())
    .map((e) => relative(MANIFESTS, join(e.parentPath, e.name)).split(sep).join('/'));
}

const PLACEHOLDER = /PLANTEDSECRET(\d+)X/g;
const placeholder = (k: number) => `PLANTEDSECRET${k}X`;
/** Placeholders the structure mutations add: a test operation's value, a key with "=", an env_<name> block, a secret in a wrong place. */
const ADDED = { testValue: 990, equalsKey: 991, envBlock: 992, elsewhere: 993 };

/** Paths (of keys) to the env values in a manifest value: under `env` or `env_<name>` maps, and JSON Patch values under /env. */
function envPaths(value: unknown, path: Array<string | number> = [], underEnv = false): Array<Array<string | number>> {
  if (Array.isArray(value)) return value.flatMap((v, i) => envPaths(v, [...path, i], underEnv));
  if (value === null || typeof value !== 'object') return underEnv ? [path] : [];
  const map = value as Record<string, unknown>;
  if (typeof map.op === 'string' && typeof map.path === 'string' && /\/env(_[^/]*)?\//.test(map.path) && 'value' in map) return [[...path, 'value']];
  return Object.entries(map).flatMap(([k, v]) => envPaths(v, [...path, k], underEnv || k === 'env' || k.startsWith('env_')));
}

interface Template { file: string; text: string; value: unknown }

/** The example's manifest files with a numbered placeholder for every env value, formatting and comments kept. */
function plantedTemplates(): Template[] {
  let k = 0;
  return filesUnder(MANIFESTS).filter((f) => f.endsWith('.yaml')).sort().map((file) => {
    const doc = parseDocument(readFileSync(join(MANIFESTS, file), 'utf8'));
    for (const path of envPaths(doc.toJS())) doc.setIn(path, placeholder(k++));
    return { file, text: doc.toString(), value: doc.toJS() };
  });
}

const TEMPLATES = plantedTemplates();
/** Every file of the example and every folder that holds one: what `fileExists` answers for (`spec.source` names folders). */
const APP_FILES = new Set(filesUnder(MANIFESTS).flatMap((f) => f.split('/').map((_, i, parts) => parts.slice(0, i + 1).join('/'))));

// ---------------------------------------------------------------------------
// Mutations

type Path = Array<string | number>;

/** Every path into a value (not the root), in a stable order. */
function pathsOf(value: unknown, path: Path = []): Path[] {
  if (value === null || typeof value !== 'object') return [];
  const entries: Array<[string | number, unknown]> = Array.isArray(value) ? value.map((v, i) => [i, v]) : Object.entries(value);
  return entries.flatMap(([k, v]) => [[...path, k], ...pathsOf(v, [...path, k])]);
}

function parentOf(root: unknown, path: Path): Record<string | number, unknown> | undefined {
  let node = root;
  for (const token of path.slice(0, -1)) {
    if (node === null || typeof node !== 'object') return undefined;
    node = (node as Record<string | number, unknown>)[token];
  }
  return node !== null && typeof node === 'object' ? node as Record<string | number, unknown> : undefined;
}

const STRUCTURE_KINDS = ['replace', 'add-field', 'delete', 'retype', 'env-equals-key', 'test-op', 'env-block', 'secret-elsewhere', 'secret-document'] as const;
const FIELD_NAMES = ['env', 'spec', 'process', 'script', 'instances', 'metadata', 'name', 'kind', 'patches', 'x-unknown', 'env_production', '__proto__', 'constructor', 'dependsOn', 'namePrefix', 'resources', 'exec_mode', 'cwd'];

interface StructureMutation { kind: typeof STRUCTURE_KINDS[number]; file: number; at: number; value: unknown; name: string }

const structureMutation: fc.Arbitrary<StructureMutation> = fc.record({
  kind: fc.constantFrom(...STRUCTURE_KINDS),
  file: fc.nat(),
  at: fc.nat(),
  value: fc.jsonValue({ maxDepth: 2 }),
  name: fc.constantFrom(...FIELD_NAMES),
});

/** Applies one structure mutation to a (copied) manifest value; returns the new root. */
function mutateStructure(root: unknown, m: StructureMutation): unknown {
  const paths = pathsOf(root);
  const path = paths.length ? paths[m.at % paths.length]! : undefined;
  const spec = (root as { spec?: Record<string, unknown> } | null)?.spec;
  switch (m.kind) {
    case 'replace':
    case 'retype': {
      if (!path) return m.value;
      const parent = parentOf(root, path)!;
      const old = parent[path[path.length - 1]!];
      parent[path[path.length - 1]!] = m.kind === 'replace' ? m.value : retyped(old);
      return root;
    }
    case 'add-field': {
      const target = path ? parentOf(root, path) : root;
      if (target && typeof target === 'object' && !Array.isArray(target)) (target as Record<string, unknown>)[m.name] = m.value;
      return root;
    }
    case 'delete': {
      if (!path) return null;
      const parent = parentOf(root, path)!;
      if (Array.isArray(parent)) parent.splice(Number(path[path.length - 1]), 1);
      else delete parent[path[path.length - 1]!];
      return root;
    }
    case 'env-equals-key': {
      const env = spec && ((spec.process as Record<string, unknown> | undefined)?.env ?? spec.env);
      // As if "KEY=value" were written as a key (the value of the key then being empty).
      if (env && typeof env === 'object' && !Array.isArray(env)) (env as Record<string, unknown>)[m.at % 2 ? `TOKEN=${placeholder(ADDED.equalsKey)}` : '=x'] = m.at % 2 ? '' : placeholder(ADDED.equalsKey);
      return root;
    }
    case 'test-op': {
      if (spec && Array.isArray(spec.patches)) {
        spec.patches.push({ target: { name: ['api', 'worker', 'migrate'][m.at % 3] }, patch: [{ op: 'test', path: '/spec/process/env/PORT', value: placeholder(ADDED.testValue) }] });
      }
      return root;
    }
    case 'secret-elsewhere': {
      // A secret pasted into the wrong field, or a field holding one dropped one level.
      if (!path) return placeholder(ADDED.elsewhere);
      parentOf(root, path)![path[path.length - 1]!] = placeholder(ADDED.elsewhere);
      return root;
    }
    case 'secret-document': return m.at % 2 ? placeholder(ADDED.elsewhere) : [placeholder(ADDED.elsewhere)];
    case 'env-block': {
      const process = spec?.process as Record<string, unknown> | undefined;
      if (process && typeof process === 'object') process.env_production = { TOKEN: placeholder(ADDED.envBlock) };
      return root;
    }
  }
}

function retyped(value: unknown): unknown {
  if (typeof value === 'string') return value.length;
  if (typeof value === 'number') return [value];
  if (Array.isArray(value)) return Object.fromEntries(value.map((v, i) => [String(i), v]));
  if (value && typeof value === 'object') return Object.values(value);
  return String(value);
}

const SPECIALS = [
  '*a', '&a ', '*nope', '&x [*x]', '!!binary ', '!!set ', '!!timestamp ', '!foo ', '! ', '{', '}', '[', ']', '- ', '? ', ': ', ',',
  '\t', '\0', '\x1b', '\x7f', '"', "'", '#', '|', '>', '\n', '\r', '---\n', '...\n', '%YAML 1.1\n', '%TAG ! tag:x,2000:\n',
  '\uFEFF', '\uD800', '\u2028', 'é', '😀', '123456789012345678901234567890', '1e400', '.nan', '0x1F', '~', '<<: ', '"\\0"',
  '['.repeat(150), '{a: '.repeat(120), `? ${'[a, '.repeat(3)}`,
];

const TEXT_KINDS = ['insert', 'delete', 'duplicate-line', 'delete-line', 'swap-lines', 'indent', 'dedent', 'utf16'] as const;

interface TextMutation { kind: typeof TEXT_KINDS[number]; file: number; at: number; length: number; text: string }

const textMutation: fc.Arbitrary<TextMutation> = fc.record({
  kind: fc.constantFrom(...TEXT_KINDS.filter((k) => k !== 'utf16'), ...TEXT_KINDS),
  file: fc.nat(),
  at: fc.nat(),
  length: fc.integer({ min: 1, max: 40 }),
  text: fc.oneof({ weight: 3, arbitrary: fc.constantFrom(...SPECIALS) }, { weight: 1, arbitrary: fc.string({ maxLength: 4, unit: 'binary' }) }),
});

function mutateText(text: string, m: TextMutation): string {
  const at = text.length ? m.at % (text.length + 1) : 0;
  const lines = text.split('\n');
  const line = m.at % lines.length;
  switch (m.kind) {
    case 'insert': return text.slice(0, at) + m.text + text.slice(at);
    case 'delete': return text.slice(0, at) + text.slice(at + m.length);
    case 'duplicate-line': lines.splice(line, 0, lines[line]!); break;
    case 'delete-line': lines.splice(line, 1); break;
    case 'swap-lines': {
      const other = (line + m.length) % lines.length;
      [lines[line], lines[other]] = [lines[other]!, lines[line]!];
      break;
    }
    case 'indent': lines[line] = ' '.repeat(m.length % 5 + 1) + lines[line]; break;
    case 'dedent': lines[line] = lines[line]!.replace(/^ {1,2}/, ''); break;
    case 'utf16': return Buffer.from(text, 'utf16le').toString(m.at % 2 ? 'latin1' : 'utf8');
  }
  return lines.join('\n');
}

// ---------------------------------------------------------------------------
// One case

interface Case { environment: typeof ENVIRONMENTS[number]; structure: StructureMutation[]; text: TextMutation[]; salt: number }

const caseArbitrary: fc.Arbitrary<Case> = fc.record({
  environment: fc.constantFrom(...ENVIRONMENTS),
  structure: fc.array(structureMutation, { maxLength: 2 }),
  text: fc.array(textMutation, { maxLength: 3 }),
  salt: fc.nat(),
});

let counter = 0;

/**
 * The template files parsed once: a file no mutation touches is this parse
 * with the case's secrets in place of the placeholders (the same values its
 * text would parse to), so that each case parses only the files it changed.
 */
const TEMPLATES_PARSED = TEMPLATES.map((t) => parseManifestFile(t.file, t.text));

/** A copy of a parsed value with the placeholders replaced by `secret`. */
function withSecrets(value: unknown, secret: (k: string) => string): unknown {
  if (typeof value === 'string') return value.replace(PLACEHOLDER, (_, k: string) => secret(k));
  if (Array.isArray(value)) return value.map((v) => withSecrets(v, secret));
  if (value === null || typeof value !== 'object') return value;
  return Object.fromEntries(Object.entries(value).map(([k, v]) => [k, withSecrets(v, secret)]));
}

/** One file of a case: its text when a mutation changed it, else the template's parse with the case's secrets. */
type CaseFile = { file: string; text: string } | { file: string; parsed: ParsedFile };

/** The case's files, with the case's secrets in place of the placeholders. */
function filesOf(c: Case): { files: CaseFile[]; secrets: string[] } {
  const id = `s3cr3t-${counter++}-${c.salt.toString(36)}`;
  const secrets = new Set<string>();
  const secret = (k: string) => {
    secrets.add(`${id}-${k}`);
    return `${id}-${k}`;
  };
  const values = new Map<number, unknown>();
  for (const m of c.structure) {
    const i = m.file % TEMPLATES.length;
    values.set(i, mutateStructure(values.has(i) ? values.get(i) : structuredClone(TEMPLATES[i]!.value), m));
  }
  const texts = new Map<number, string>();
  for (const [i, value] of values) texts.set(i, stringify(value));
  for (const m of c.text) {
    const i = m.file % TEMPLATES.length;
    texts.set(i, mutateText(texts.get(i) ?? TEMPLATES[i]!.text, m));
  }
  const files = TEMPLATES.map((t, i): CaseFile => {
    const text = texts.get(i);
    if (text !== undefined) return { file: t.file, text: text.replace(PLACEHOLDER, (_, k: string) => secret(k)) };
    const parsed = TEMPLATES_PARSED[i]!;
    return { file: t.file, parsed: { ...parsed, documents: parsed.documents.map((d) => ({ ...d, value: withSecrets(d.value, secret) })) } };
  });
  return { files, secrets: [...secrets] };
}

/** What was written to stdout, stderr, the console and process.emitWarning during the current case. */
const printed: string[] = [];

/**
 * Every string the parsed documents hold as an env value: a Task's
 * spec.process.env and env_<name> blocks, an Environment's spec.env, and what
 * its patches put there (merge patches under spec.process.env*, JSON Patch
 * values on such paths). Worked out here, apart from the product's own
 * collection, so that the test does not trust what it checks. A planted
 * secret that a mutation moved out of every env position (into a task name or
 * a label, say) is a name, shown as names are.
 */
function envValuesOf(files: readonly ParsedFile[]): Set<string> {
  const out = new Set<string>();
  const leaves = (value: unknown): void => {
    if (typeof value === 'string' || typeof value === 'number') out.add(String(value));
    else if (value && typeof value === 'object') for (const v of Object.values(value)) leaves(v);
  };
  const map = (value: unknown): Record<string, unknown> | undefined => (value && typeof value === 'object' && !Array.isArray(value) ? value as Record<string, unknown> : undefined);
  const processEnv = (proc: unknown): void => {
    for (const [key, v] of Object.entries(map(proc) ?? {})) if (key === 'env' || key.startsWith('env_')) leaves(v);
  };
  for (const f of files) {
    for (const d of [...f.documents, ...(f.unreadable ?? [])]) {
      const spec = map(map(d.value)?.spec);
      processEnv(spec?.process);
      leaves(spec?.env);
      for (const patch of Array.isArray(spec?.patches) ? spec.patches : []) {
        processEnv(map(map(map(patch)?.merge)?.spec)?.process);
        for (const op of Array.isArray(map(patch)?.patch) ? (map(patch)!.patch as unknown[]) : []) {
          const o = map(op);
          if (typeof o?.path === 'string' && /^\/spec\/process\/env(_[^/]*)?(\/|$)/.test(o.path)) leaves(o.value);
        }
      }
    }
  }
  return out;
}

/** Runs one case; returns a description of what is wrong with its outcome, or undefined. */
function check(c: Case): string | undefined {
  const { files: input, secrets } = filesOf(c);
  const leaks = (text: string) => secrets.some((s) => text.includes(s));
  printed.length = 0;
  const started = performance.now();
  let files: ParsedFile[] = [];
  let outcome: unknown;
  try {
    files = input.map((f) => ('parsed' in f ? f.parsed : parseManifestFile(f.file, f.text)));
    outcome = renderDesiredState({ files, environment: c.environment, manifestRoot: '', repoRoot: MANIFESTS, fileExists: (p) => APP_FILES.has(p) });
  } catch (error) {
    outcome = error;
  }
  const elapsed = performance.now() - started;
  if (elapsed > 5000) return `took ${Math.round(elapsed)} ms`;
  if (printed.length) return `printed during the call: ${JSON.stringify(printed).slice(0, 500)}`;
  for (const f of files) {
    for (const d of f.diagnostics) if (leaks(formatDiagnostic(d))) return `a parse diagnostic shows a secret: ${formatDiagnostic(d)}`;
  }
  if (outcome instanceof ValidationError) {
    if (outcome.exitCode !== 2 || outcome.message.trim() === '') return `ValidationError without exit code 2 or message: ${outcome.message}`;
    // What the CLI prints: the message through the process's one redaction step. No env value
    // of the input that holds a secret may show in it. (The whole value: a secret of one field
    // can be a prefix of another's, s3cr3t-0-0-9 of s3cr3t-0-0-990, and a name may hold it.)
    const printedMessage = processSecrets.redactText(outcome.message);
    const shown = [...envValuesOf(files)].find((v) => secrets.some((secret) => v.includes(secret)) && printedMessage.includes(v));
    if (shown) return `a message shows a secret: ${printedMessage}`;
    tally.refused++;
    return undefined;
  }
  if (outcome instanceof Error) return `threw ${outcome.name}: ${outcome.message}\n${outcome.stack}`;
  const state = outcome as { environment?: unknown; tasks?: unknown };
  if (state.environment !== c.environment || !Array.isArray(state.tasks)) return `rendered something that is not a desired state: ${JSON.stringify(outcome).slice(0, 300)}`;
  tally.rendered++;
  return undefined;
}

const tally = { rendered: 0, refused: 0 };

describe('fuzzing the example manifests', () => {
  beforeAll(() => {
    const record = (...args: unknown[]) => { printed.push(args.map(String).join(' ')); return true; };
    vi.spyOn(process.stdout, 'write').mockImplementation(record);
    vi.spyOn(process.stderr, 'write').mockImplementation(record);
    vi.spyOn(process, 'emitWarning').mockImplementation(record);
    for (const method of ['log', 'warn', 'error', 'info', 'debug'] as const) vi.spyOn(console, method).mockImplementation(record);
  });
  afterAll(() => vi.restoreAllMocks());

  it('plants a secret in every env value of the example', () => {
    // A text mutation that changes nothing, on every file: each is parsed from its text with the secrets in it.
    const touchAll = TEMPLATES.map((_, file): TextMutation => ({ kind: 'insert', file, at: 0, length: 1, text: '' }));
    for (const text of [[], touchAll]) {
      const { files, secrets } = filesOf({ environment: 'prod', structure: [], text, salt: 1 });
      // api: PORT, GREETING; worker: QUEUE, POLL_MS; migrate: SCHEMA_VERSION; each environment's env and its patches under /env.
      expect(secrets.length).toBeGreaterThanOrEqual(16);
      const parsed = files.map((f) => ('parsed' in f ? f.parsed : parseManifestFile(f.file, f.text)));
      expect(JSON.stringify(parsed.map((f) => f.documents.map((d) => d.value)))).not.toMatch(/PLANTEDSECRET/);
      const state = renderDesiredState({ files: parsed, environment: 'prod', manifestRoot: '', repoRoot: MANIFESTS, fileExists: (p) => APP_FILES.has(p) });
      for (const task of state.tasks) for (const value of Object.values(task.process.env ?? {})) expect(String(value)).toMatch(/^s3cr3t-/);
    }
  });

  it(`[fuzz] ${RUNS} mutated example repositories each render or are refused (exit 2), in time, printing nothing and no secret`, { timeout: 600_000 }, () => {
    const seed = process.env.FUZZ_SEED === undefined ? undefined : Number(process.env.FUZZ_SEED);
    fc.assert(fc.property(caseArbitrary, (c) => {
      const problem = check(c);
      if (problem) throw new Error(problem);
    }), { numRuns: RUNS, ...(seed === undefined ? {} : { seed, path: process.env.FUZZ_PATH }) });
    // The mutations neither leave everything valid nor break everything: both outcomes are exercised.
    expect(tally.rendered).toBeGreaterThan(RUNS / 20);
    expect(tally.refused).toBeGreaterThan(RUNS / 5);
  });
});
