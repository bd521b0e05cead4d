/**
 * Checks of single YAML values (pure): tags that do not give plain JSON data,
 * and numbers that JavaScript cannot keep exactly. Messages name the kind of
 * value, its tag or its digit count, never the value itself.
 */

const YAML_TAG = 'tag:yaml.org,2002:';

const PLAIN_DATA = 'manifests hold plain JSON data (maps, lists, strings, numbers, booleans and null)';

type NodeKind = 'map' | 'seq' | 'scalar';

/** The tags that give JSON data, and what they fit. */
const FITS: Readonly<Record<string, (kind: NodeKind, value: unknown) => boolean>> = {
  str: (kind, value) => kind === 'scalar' && typeof value === 'string',
  int: (kind, value) => kind === 'scalar' && typeof value === 'number',
  float: (kind, value) => kind === 'scalar' && typeof value === 'number',
  bool: (kind, value) => kind === 'scalar' && typeof value === 'boolean',
  null: (kind, value) => kind === 'scalar' && value === null,
  map: (kind) => kind === 'map',
  seq: (kind) => kind === 'seq',
};

/** Standard YAML tags that can be named in a message: their names are YAML's, not the user's. */
const OTHER_YAML_TAGS = new Set(['binary', 'set', 'omap', 'pairs', 'timestamp', 'merge', 'value', 'yaml']);

/**
 * Why a node's explicit tag is refused, or undefined. `!` (non-specific) and
 * the JSON tags are allowed where they fit; a custom tag is not named, since
 * its text is the user's (it could be a mistyped value).
 */
export function tagProblem(tag: string | undefined, kind: NodeKind, value: unknown): string | undefined {
  if (tag === undefined || tag === '!') return undefined;
  if (tag.startsWith(YAML_TAG)) {
    const name = tag.slice(YAML_TAG.length);
    const fits = Object.hasOwn(FITS, name) ? FITS[name] : undefined;
    if (fits) return fits(kind, value) ? undefined : `the value does not fit its tag !!${name}; fix the value or remove the tag`;
    if (OTHER_YAML_TAGS.has(name)) return `tag !!${name} is not allowed: ${PLAIN_DATA}; remove the tag`;
  }
  return `a custom tag is not allowed: ${PLAIN_DATA}; remove the tag`;
}

const INTEGER = /^[-+]?(?:0x([0-9a-fA-F]+)|0o([0-7]+)|([0-9]+))$/;
const DECIMAL = /^[-+]?([0-9]*)(?:\.([0-9]*))?(?:[eE]([-+]?[0-9]+))?$/;
const NOT_FINITE = /^(?:[-+]?\.(?:inf|Inf|INF)|\.(?:nan|NaN|NAN))$/;

interface Decimal { digits: string; exponent: number }

/** The significant digits and the power of ten of a decimal number's text (`1.50e3` → 15, 2). */
function decimalOf(text: string): Decimal | undefined {
  const m = DECIMAL.exec(text);
  if (!m) return undefined;
  const whole = m[1] ?? '';
  const fraction = m[2] ?? '';
  if (whole === '' && fraction === '') return undefined;
  const digits = (whole + fraction).replace(/^0+/, '');
  const significant = digits.replace(/0+$/, '');
  if (significant === '') return { digits: '', exponent: 0 };
  return { digits: significant, exponent: Number(m[3] ?? 0) - fraction.length + (digits.length - significant.length) };
}

/**
 * Why a number scalar cannot be kept as written, or undefined: an integer
 * outside the safe range, a decimal whose digits the nearest double does not
 * give back, infinity or NaN. `source` is the scalar's text.
 */
export function numberProblem(source: string, value: number): string | undefined {
  const integer = INTEGER.exec(source);
  if (integer) {
    if (Number.isSafeInteger(value)) return undefined;
    const digits = (integer[1] ?? integer[2] ?? integer[3] ?? '').length;
    return `an integer of ${digits} digits is outside the range numbers keep exactly (±${Number.MAX_SAFE_INTEGER}); quote it to keep it exact`;
  }
  if (NOT_FINITE.test(source)) return 'infinity and NaN are not JSON numbers; quote the value to keep it as text';
  const written = decimalOf(source);
  if (!written) return undefined; // a form only a tag made a number of: nothing to compare with
  const kept = Number.isFinite(value) ? decimalOf(String(Math.abs(value))) : undefined;
  if (kept && kept.digits === written.digits && kept.exponent === written.exponent) return undefined;
  return `a number of ${written.digits.length} significant digits cannot be kept exactly; quote it to keep it exact`;
}
