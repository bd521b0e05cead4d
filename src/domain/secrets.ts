/**
 * Secrets (pure): every env value the manifests hold, and the one redaction
 * step that replaces them in any text or JSON value leaving the process by
 * `sha256:` and the first 12 hex digits of their SHA-256 (as `redactValue`).
 *
 * What is replaced in free text: a value of at least MIN_TEXT_LENGTH
 * characters wherever it occurs, and a shorter non-empty value whose name
 * looks secret (TOKEN, SECRET, PASSWORD, PASS, KEY, CREDENTIAL, AUTH,
 * PRIVATE) where it stands as a word of its own. Shorter values of other
 * names (a PORT "3000") would hit timestamps and counts everywhere, and so
 * would numbers and the product's own words (`online`, `production`) under
 * names that do not look secret; they are redacted structurally, where env
 * maps are shown. Values the manifests show by design (environment, namespace
 * and task names, label values, hosts) are not secrets by their own account
 * and are left alone, and so are hex digits inside a longer digest (a
 * revision, a hash of the chain).
 */
import { createHash } from 'node:crypto';
import type { DesiredState } from './manifest.js';

/** Values at least this long are replaced wherever they occur in a text. */
export const MIN_TEXT_LENGTH = 6;

/** Names whose values are secret however short. */
const SECRET_NAME = /TOKEN|SECRET|PASSWORD|PASSWD|PASS|KEY|CREDENTIAL|AUTH|PRIVATE/i;

/** Short values that are words of every text, never worth a replacement. */
const COMMON_WORDS = new Set(['true', 'false', 'null', 'yes', 'no', 'on', 'off', 'none', '0', '1']);

/**
 * Values of names that do not look secret, and that are words this product
 * prints itself (states, outcomes, actions) or everyday settings: replacing
 * them would make status files and logs say something untrue ("○ sha256:…"
 * for "○ online"), and they hide nothing.
 */
const PLAIN_WORDS = new Set([
  'online', 'stopped', 'stopping', 'launching', 'errored', 'completed', 'deleted', 'starting', 'waiting',
  'converged', 'invalid', 'failed', 'rolled-back', 'not-approved', 'held', 'suspended', 'skipped', 'unknown', 'healthy',
  'service', 'cluster', 'create', 'delete', 'restart', 'reload', 'scale',
  'production', 'development', 'staging', 'testing', 'localhost', '127.0.0.1', '0.0.0.0', 'enabled', 'disabled',
  'default', 'verbose', 'warning', 'utf-8',
]);

/** A number as written: a duration, a size or a count, in every log line; a secret only under a secret name. */
const NUMBER = /^[-+]?\d+(\.\d+)?$/;

/**
 * The env values of some documents that a text redaction replaces, each once:
 * `values` wherever they occur, `words` (short values of secret names) where
 * they stand as a word; and the values the documents show by design.
 */
export interface Secrets {
  values: string[];
  words: string[];
  shown: string[];
  /**
   * Whether a patch copies or moves a value into an env block: then a
   * rendered state can hold env values its documents do not show as such,
   * and its own collection is needed.
   */
  copiesIntoEnv?: boolean;
}

/**
 * Collects while reading documents; the rule of what counts is applied as
 * values are found. Values in `known` (found before) are passed over.
 */
class Collector {
  readonly values = new Set<string>();
  readonly words = new Set<string>();
  readonly shown = new Set<string>();

  constructor(private readonly known?: ReadonlySet<string>) {}

  add(key: string, value: string): void {
    if (this.known?.has(value)) return;
    const secretName = SECRET_NAME.test(key);
    if (!secretName && (PLAIN_WORDS.has(value.toLowerCase()) || NUMBER.test(value))) return;
    if (value.length >= MIN_TEXT_LENGTH) this.values.add(value);
    else if (value !== '' && secretName && !COMMON_WORDS.has(value.toLowerCase())) this.words.add(value);
  }

  copiesIntoEnv = false;

  done(): Secrets {
    return { values: [...this.values], words: [...this.words], shown: [...this.shown], ...(this.copiesIntoEnv ? { copiesIntoEnv: true } : {}) };
  }
}

/** `sha256:` and the first 12 hex digits of the SHA-256 of `value`: what stands for a secret. */
export function secretDigest(value: string): string {
  return `sha256:${createHash('sha256').update(value).digest('hex').slice(0, 12)}`;
}

function isMap(value: unknown): value is Record<string, unknown> {
  return value !== null && typeof value === 'object' && !Array.isArray(value);
}

/** Every string or number under `value` (an env value, or what a broken one holds), by the name it is set under. */
function collectLeaves(key: string, value: unknown, out: Collector): void {
  if (typeof value === 'string' || typeof value === 'number') out.add(key, String(value));
  else if (Array.isArray(value)) for (const item of value) collectLeaves(key, item, out);
  else if (isMap(value)) for (const k in value) if (Object.hasOwn(value, k)) collectLeaves(key, value[k], out);
}

function collectEnvMap(env: unknown, out: Collector): void {
  // for…in, not Object.keys: this runs for every env map of every render.
  if (isMap(env)) for (const key in env) if (Object.hasOwn(env, key)) collectLeaves(key, env[key], out);
}

const ENV_BLOCK = /^env(_.+)?$/;

/**
 * The env values inside `value`, found at `tokens` (the path of `value` in a
 * Task or Environment document): a whole document, its spec, a process, an
 * env map or one variable, as a patch may write any of them.
 */
function collectAt(tokens: readonly string[], value: unknown, out: Collector): void {
  const [a, b, c, d] = tokens;
  if (tokens.length === 0) { if (isMap(value)) collectAt(['spec'], value.spec, out); return; }
  if (a !== 'spec') return;
  if (tokens.length === 1) {
    if (!isMap(value)) return;
    collectAt(['spec', 'process'], value.process, out);
    collectEnvMap(value.env, out);
    return;
  }
  if (b === 'env') { if (tokens.length === 2) collectEnvMap(value, out); else collectLeaves(c!, value, out); return; }
  if (b !== 'process') return;
  if (tokens.length === 2) {
    if (isMap(value)) for (const key of Object.keys(value)) if (ENV_BLOCK.test(key)) collectEnvMap(value[key], out);
    return;
  }
  if (!ENV_BLOCK.test(c!)) return;
  if (tokens.length === 3) collectEnvMap(value, out);
  else collectLeaves(d!, value, out);
}

/** Whether a value written at `tokens` can hold or be an env block or variable. */
function reachesEnv(tokens: readonly string[]): boolean {
  const [a, b, c] = tokens;
  if (tokens.length === 0) return true;
  if (a !== 'spec') return false;
  if (tokens.length === 1 || b === 'env') return true;
  return b === 'process' && (tokens.length === 2 || ENV_BLOCK.test(c!));
}

function tokensOf(pointer: string): string[] {
  return pointer === '' ? [] : pointer.slice(1).split('/').map((t) => t.replace(/~1/g, '/').replace(/~0/g, '~'));
}

/** The values a document shows by design: its names, namespace, prefix, label values and hosts. */
function collectShown(doc: Record<string, unknown>, out: Set<string>): void {
  const metadata = doc.metadata;
  if (isMap(metadata)) {
    if (typeof metadata.name === 'string') out.add(metadata.name);
    if (isMap(metadata.labels)) for (const v of Object.values(metadata.labels)) if (typeof v === 'string') out.add(v);
  }
  const spec = doc.spec;
  if (!isMap(spec)) return;
  for (const field of ['namespace', 'namePrefix'] as const) if (typeof spec[field] === 'string') out.add(spec[field]);
  if (Array.isArray(spec.hosts)) for (const h of spec.hosts) if (typeof h === 'string') out.add(h);
}

/**
 * Every env value of raw manifest documents, whatever their kind or state
 * (documents that failed their schema, or were recovered from broken YAML,
 * count too): each Task's `spec.process.env` and `env_*` blocks, each
 * Environment's `spec.env`, and every patch or merge value that lands under
 * one of those. Numbers count as written; booleans are never secrets.
 */
export function collectSecrets(documents: Iterable<unknown>): Secrets {
  const out = new Collector();
  for (const doc of documents) {
    if (!isMap(doc)) continue;
    collectAt([], doc, out);
    collectShown(doc, out.shown);
    const patches = isMap(doc.spec) ? doc.spec.patches : undefined;
    if (!Array.isArray(patches)) continue;
    for (const patch of patches) {
      if (!isMap(patch)) continue;
      collectAt([], patch.merge, out);
      if (!Array.isArray(patch.patch)) continue;
      for (const op of patch.patch) {
        if (!isMap(op) || typeof op.path !== 'string') continue;
        if ('value' in op) collectAt(tokensOf(op.path), op.value, out);
        if ((op.op === 'copy' || op.op === 'move') && reachesEnv(tokensOf(op.path))) out.copiesIntoEnv = true;
      }
    }
  }
  return out.done();
}

/** The values of a collection, as a set (made once per collection). */
const keptValueSets = new WeakMap<Secrets, ReadonlySet<string>>();
function valueSet(secrets: Secrets): ReadonlySet<string> {
  let set = keptValueSets.get(secrets);
  if (!set) {
    set = new Set([...secrets.values, ...secrets.words]);
    keptValueSets.set(secrets, set);
  }
  return set;
}

/**
 * Every env value of a rendered state (what the processes will see) that is
 * not in `known` already (the state's own files hold almost all of them),
 * and the names it shows.
 */
export function collectStateSecrets(state: DesiredState, known?: Secrets): Secrets {
  const out = new Collector(known ? valueSet(known) : undefined);
  // Task names are shown by the files' collection already (as written; a prefixed name is no secret either way).
  out.shown.add(state.environment).add(state.namespace);
  for (const task of state.tasks) {
    const process = task.process as Record<string, unknown>;
    for (const key in process) if (Object.hasOwn(process, key) && ENV_BLOCK.test(key)) collectEnvMap(process[key], out);
  }
  return out.done();
}

/** Whether two collections hold the same secrets in the same order. */
export function sameSecrets(a: Secrets, b: Secrets): boolean {
  const same = (x: readonly string[], y: readonly string[]): boolean => x.length === y.length && x.every((v, i) => v === y[i]);
  return same(a.values, b.values) && same(a.words, b.words) && same(a.shown, b.shown);
}

/** Replaces secrets in texts and in the strings of JSON values. */
export interface Redactor {
  /** `text` with every secret (see the module's rule) replaced by its `sha256:` prefix. */
  text(text: string): string;
  /** A copy of `value` with `text` applied to every string in it (keys stay). */
  json<T>(value: T): T;
  /** How many distinct values it replaces. */
  readonly size: number;
}

const WORD = /[A-Za-z0-9]/;
const HEX = /^[0-9a-fA-F]+$/;
const isHex = (ch: string | undefined): boolean => ch !== undefined && /[0-9a-fA-F]/.test(ch);

/** A digest-like run of hex digits this long is never cut: it is a hash or a revision, not a place a secret is shown. */
const DIGEST_LENGTH = 32;

/** Whether the match at `at` lies strictly inside a longer run of hex digits, as part of a digest. */
function insideDigest(text: string, at: number, length: number): boolean {
  if (!HEX.test(text.slice(at, at + length))) return false;
  let start = at;
  let end = at + length;
  while (isHex(text[start - 1])) start--;
  while (isHex(text[end])) end++;
  return end - start > length && end - start >= DIGEST_LENGTH;
}

/** Builds the redactor of the given secrets (from any number of collections). */
export function buildRedactor(collections: Iterable<Secrets>): Redactor {
  const list = [...collections];
  const shown = new Set<string>();
  for (const c of list) for (const v of c.shown) shown.add(v);
  /** Longer values by their first MIN_TEXT_LENGTH characters, longest first; shorter ones, matched as words. */
  const long = new Map<string, string[]>();
  const short = new Set<string>();
  const replacement = new Map<string, string>();
  let maxShort = 0;
  const add = (match: string, value: string): void => {
    if (replacement.has(match)) return;
    replacement.set(match, secretDigest(value));
    if (match.length < MIN_TEXT_LENGTH) { short.add(match); maxShort = Math.max(maxShort, match.length); return; }
    const head = match.slice(0, MIN_TEXT_LENGTH);
    const group = long.get(head);
    if (group) group.push(match); else long.set(head, [match]);
  };
  for (const c of list) {
    for (const value of [...c.values, ...c.words]) {
      if (shown.has(value)) continue;
      add(value, value);
      // As a JSON string shows it, too (quotes, backslashes and control characters escaped).
      const escaped = JSON.stringify(value).slice(1, -1);
      if (escaped !== value) add(escaped, value);
    }
  }
  for (const group of long.values()) group.sort((a, b) => b.length - a.length);
  /** The characters a replacement can start with: every other position is passed over at once. */
  const starts = new Set<string>();
  for (const match of replacement.keys()) starts.add(match[0]!);

  const text = (input: string): string => {
    if (replacement.size === 0 || input.length === 0) return input;
    let out = '';
    let last = 0;
    for (let i = 0; i < input.length;) {
      if (!starts.has(input[i]!)) { i++; continue; }
      let match: string | undefined;
      const candidates = i + MIN_TEXT_LENGTH <= input.length ? long.get(input.slice(i, i + MIN_TEXT_LENGTH)) : undefined;
      if (candidates) for (const c of candidates) if (input.startsWith(c, i) && !insideDigest(input, i, c.length)) { match = c; break; }
      if (match === undefined && maxShort > 0 && !WORD.test(input[i - 1] ?? '')) {
        for (let length = Math.min(maxShort, input.length - i); length >= 1; length--) {
          const word = input.slice(i, i + length);
          if (short.has(word) && !WORD.test(input[i + length] ?? '')) { match = word; break; }
        }
      }
      if (match === undefined) { i++; continue; }
      out += input.slice(last, i) + replacement.get(match)!;
      i += match.length;
      last = i;
    }
    return last === 0 ? input : out + input.slice(last);
  };

  const json = <T>(value: T): T => {
    if (typeof value === 'string') return text(value) as T;
    if (Array.isArray(value)) return value.map((v) => json(v)) as T;
    if (value !== null && typeof value === 'object') {
      const out: Record<string, unknown> = {};
      for (const [k, v] of Object.entries(value)) out[k] = json(v);
      return out as T;
    }
    return value;
  };

  return { text, json, size: replacement.size };
}
