import { ValidationError } from '../domain/errors.js';

/** Parses `500ms`, `30s`, `5m`, `1h` (a bare number is seconds) into milliseconds. */
export function parseDuration(text: string, flag: string): number {
  const m = /^(\d+(?:\.\d+)?)(ms|s|m|h)?$/.exec(text.trim());
  if (!m) throw new ValidationError(`${flag} ${JSON.stringify(text)}: expected a duration such as 500ms, 30s, 5m or 1h`);
  const n = Number(m[1]);
  const unit = m[2] ?? 's';
  return Math.round(n * { ms: 1, s: 1000, m: 60_000, h: 3_600_000 }[unit]!);
}
