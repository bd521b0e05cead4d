/**
 * Captured step output (pure): env values are redacted as the output streams
 * in, before anything is kept, and only the last 64 KiB are kept, so neither
 * a secret nor an unbounded log ever reaches a record, a status or an error.
 */
import { redactValue } from '../diff/redact.js';

/** How much of a step's output is kept (characters). */
export const OUTPUT_LIMIT = 64 * 1024;
/** How many lines of output a report shows. */
export const TAIL_LINES = 40;
/** Env values shorter than this are not redacted: too short to be secrets, too common to replace safely. */
export const MIN_SECRET_LENGTH = 6;

/** The env values that must not appear in output: every value of at least 6 characters, longest first. */
export function secretValues(env: Readonly<Record<string, string>> | undefined): string[] {
  const values = new Set<string>();
  for (const value of Object.values(env ?? {})) if (typeof value === 'string' && value.length >= MIN_SECRET_LENGTH) values.add(value);
  return [...values].sort((a, b) => b.length - a.length || (a < b ? -1 : 1));
}

/** `text` with every secret replaced by its `sha256:<12 hex>` stand-in. */
export function redactText(text: string, secrets: readonly string[]): string {
  let out = text;
  for (const secret of secrets) if (out.includes(secret)) out = out.split(secret).join(redactValue(secret));
  return out;
}

/** The last `count` lines of `text` (a trailing newline does not make an empty last line). */
export function tailLines(text: string, count = TAIL_LINES): string[] {
  const lines = text.split('\n');
  if (lines[lines.length - 1] === '') lines.pop();
  return lines.slice(-count);
}

/**
 * Collects output chunks: redacts them as they arrive, holding back just
 * enough characters that a secret split across two chunks is still found
 * whole, and keeps the last `limit` characters of the redacted text.
 */
export class OutputCapture {
  private readonly secrets: readonly string[];
  private readonly holdBack: number;
  private readonly limit: number;
  private carry = '';
  private kept: string[] = [];
  private keptLength = 0;
  private dropped = 0;

  constructor(secrets: readonly string[], limit = OUTPUT_LIMIT) {
    this.secrets = secrets;
    this.holdBack = Math.max(0, ...secrets.map((s) => s.length - 1));
    this.limit = limit;
  }

  /** Adds a chunk of output. */
  write(chunk: string): void {
    const text = redactText(this.carry + chunk, this.secrets);
    const cut = Math.max(0, text.length - this.holdBack);
    this.carry = text.slice(cut);
    this.keep(text.slice(0, cut));
  }

  /** The redacted output, its last `limit` characters, with a note of how much was dropped before them. */
  end(): string {
    this.keep(redactText(this.carry, this.secrets));
    this.carry = '';
    const all = this.kept.join('');
    const tail = all.slice(Math.max(0, all.length - this.limit));
    const dropped = this.dropped + all.length - tail.length;
    return dropped > 0 ? `[${dropped} earlier characters of output not kept]\n${tail}` : tail;
  }

  private keep(text: string): void {
    if (!text) return;
    this.kept.push(text);
    this.keptLength += text.length;
    if (this.keptLength <= 2 * this.limit) return;
    const all = this.kept.join('');
    const tail = all.slice(all.length - this.limit);
    this.dropped += all.length - tail.length;
    this.kept = [tail];
    this.keptLength = tail.length;
  }
}
