/**
 * Plain manifest values (pure): deep copies, and deep freezing of the values
 * that are shared between renders, so that shared data cannot be changed by
 * mistake and results derived from it can be kept for as long as it lives.
 */

/** Roots frozen by `deepFreeze`: everything reachable from them is frozen too. */
const deeplyFrozen = new WeakSet<object>();

/**
 * Freezes `value` and everything reachable from it, and records it as deeply
 * frozen. Cycles (recursive YAML aliases) are fine: a node is frozen before its
 * children are visited, and frozen nodes are not visited again. Only nodes
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
  for (let i = 1; i < list.length; i++) {
    const item = list[i]!;
    let j = i - 1;
    if (list[j]! <= item) continue;
    while (j >= 0 && list[j]! > item) {
      list[j + 1] = list[j]!;
      j--;
    }
    list[j + 1] = item;
  }
  return list;
}

/**
 * Strings joined from parts that repeat from render to render (a name prefix
 * and a task name, a folder and a path), kept so that every render's output
 * shares one string instead of building (and later flattening) its own.
 * Strings never change, so sharing them is invisible; the table is emptied
 * when it grows past JOINED_LIMIT entries.
 */
const joined = new Map<string, Map<string, Map<string, string>>>();
let joinedCount = 0;
const JOINED_LIMIT = 20_000;

/** `head + separator + tail`, or `tail` when `head` is empty; the same string as earlier calls with the same parts. */
export function joinShared(head: string, separator: string, tail: string): string {
  if (head === '') return tail;
  if (joinedCount >= JOINED_LIMIT) {
    joined.clear();
    joinedCount = 0;
  }
  let byHead = joined.get(separator);
  if (!byHead) joined.set(separator, (byHead = new Map()));
  let byTail = byHead.get(head);
  if (!byTail) byHead.set(head, (byTail = new Map()));
  let value = byTail.get(tail);
  if (value === undefined) {
    value = head + separator + tail;
    byTail.set(tail, value);
    joinedCount++;
  }
  return value;
}
