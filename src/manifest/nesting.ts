/**
 * Nesting depth (pure): checked on the parser's concrete syntax tree, before
 * the document is composed, because composing recurses once per level and a
 * deep enough document (a line of `[` fits in a few bytes per level) would
 * exhaust the stack. The walk here uses a stack of its own.
 */
import type { CST } from 'yaml';

/** Offset of the first map or list nested deeper than `limit` in a document token, or undefined. */
export function tooDeep(document: CST.Document, limit: number): number | undefined {
  const tokens: Array<CST.Token | null | undefined> = [document.value];
  const depths: number[] = [0];
  while (tokens.length) {
    const token = tokens.pop();
    const depth = depths.pop()!;
    if (!token) continue;
    if (token.type !== 'block-map' && token.type !== 'block-seq' && token.type !== 'flow-collection') continue;
    if (depth + 1 > limit) return token.offset;
    for (const item of token.items) {
      if ('key' in item) { tokens.push(item.key); depths.push(depth + 1); }
      if ('value' in item) { tokens.push(item.value); depths.push(depth + 1); }
    }
  }
  return undefined;
}
