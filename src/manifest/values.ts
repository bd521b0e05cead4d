/**
 * Plain manifest values (pure): deep copies, and deep freezing of the values
 * that are shared between renders, so that shared data cannot be changed by
 * mistake and results derived from it can be kept for as long as it lives.
 */

/** Roots frozen by `deepFreeze`: everything reachable from them is frozen too. */
const deeplyFrozen = new WeakSet<object>();

/**
 * Freezes `value` and everything reachable from it, and records it as deeply
 * frozen. Shared values (YAML aliases) and cycles are fine: a node is frozen
 * before its children are visited, and frozen nodes are not visited again. Only nodes
 * frozen here are expected to be frozen already, so a frozen node is taken as
 * deeply frozen.
 */
export function deepFreeze<T>(value: T): T {
  if (value === null || typeof value !== 'object') return value;
  freezeNode(value);
  deeplyFrozen.add(value);
  return value;
}

function freezeNode(node: object): void {
  if (Object.isFrozen(node)) return;
  Object.freeze(node);
  if (Array.isArray(node)) {
    for (const item of node) if (item !== null && typeof item === 'object') freezeNode(item);
    return;
  }
  for (const key of Object.keys(node)) {
    const item = (node as Record<string, unknown>)[key];
    if (item !== null && typeof item === 'object') freezeNode(item);
  }
}

/** Whether `value` was frozen, with everything it holds, by `deepFreeze`; results derived from it cannot go stale. */
export function isDeeplyFrozen(value: unknown): value is object {
  return value !== null && typeof value === 'object' && deeplyFrozen.has(value);
}

/**
 * Deep copy of a parsed YAML value: plain data, so a recursive copy is several
 * times cheaper than structuredClone. The copy is never frozen.
 */
export function copyValue<T>(value: T): T {
  if (value === null || typeof value !== 'object') return value;
  if (Array.isArray(value)) {
    const out = new Array<unknown>(value.length);
    for (let i = 0; i < value.length; i++) out[i] = copyValue(value[i]);
    return out as T;
  }
  if (Object.getPrototypeOf(value) !== Object.prototype) return structuredClone(value);
  const out: Record<string, unknown> = {};
  for (const key in value) {
    if (!Object.hasOwn(value, key)) continue;
    const copy = copyValue((value as Record<string, unknown>)[key]);
    // A YAML key "__proto__" is an own property, as the parser makes it; never a prototype.
    if (key === '__proto__') Object.defineProperty(out, key, { value: copy, enumerable: true, writable: true, configurable: true });
    else out[key] = copy;
  }
  return out as T;
}

/**
 * Sorts strings in place into the order of `Array.prototype.sort()` without
 * a comparator (UTF-16 code units). Key lists of manifest maps are short and
 * often sorted already: an insertion sort allocates nothing, where the
 * built-in sort allocates working storage on every call.
 */
export function sortStrings(list: string[]): string[] {
  if (list.length > 32) return list.sort();
  sortHead(list, list.length);
  return list;
}

/**
 * Insertion sort of the first `count` items of `names`, in the order of
 * `sortStrings`, moving the items of `values` (if given) along with them.
 */
export function sortHead(names: string[], count: number, values?: unknown[]): void {
  for (let i = 1; i < count; i++) {
    const name = names[i]!;
    if (names[i - 1]! <= name) continue;
    const value = values?.[i];
    let j = i - 1;
    while (j >= 0 && names[j]! > name) {
      names[j + 1] = names[j]!;
      if (values) values[j + 1] = values[j];
      j--;
    }
    names[j + 1] = name;
    if (values) values[j + 1] = value;
  }
}
