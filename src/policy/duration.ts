/** Durations as manifests write them (pure): `500ms`, `30s`, `5m`, `8h`, `1d`. */

const UNITS: Record<string, number> = { ms: 1, s: 1000, m: 60_000, h: 3_600_000, d: 86_400_000 };

/** Milliseconds of a duration; throws an Error naming the expected form (the schema refuses others first). */
export function durationMs(text: string): number {
  const m = /^(\d+(?:\.\d+)?)(ms|s|m|h|d)$/.exec(text.trim());
  if (!m) throw new Error(`expected a duration such as 30s, 5m, 8h or 1d`);
  return Math.round(Number(m[1]) * UNITS[m[2]!]!);
}
