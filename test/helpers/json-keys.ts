/**
 * The keys that occur more than once in one object of a JSON text, as
 * `path/key` (JSON.parse keeps the last and hides them, so the raw text is
 * read here).
 */
export function duplicateKeys(text: string): string[] {
  const found: string[] = [];
  const stack: Array<{ keys: Set<string> | undefined; path: string; expectKey: boolean; lastKey: string }> = [];
  let i = 0;
  const readString = (): string => {
    let out = '';
    i++; // opening quote
    while (i < text.length && text[i] !== '"') {
      if (text[i] === '\\') { out += text.slice(i, i + 2); i += 2; } else out += text[i++];
    }
    i++; // closing quote
    return out;
  };
  while (i < text.length) {
    const c = text[i]!;
    const top = stack.at(-1);
    if (c === '"') {
      const s = readString();
      if (top?.keys && top.expectKey) {
        if (top.keys.has(s)) found.push(`${top.path}/${s}`);
        top.keys.add(s);
        top.lastKey = s;
        top.expectKey = false;
      }
      continue;
    }
    const path = top ? `${top.path}${top.keys ? `/${top.lastKey}` : '/[]'}` : '';
    if (c === '{') stack.push({ keys: new Set(), path, expectKey: true, lastKey: '' });
    else if (c === '[') stack.push({ keys: undefined, path, expectKey: false, lastKey: '' });
    else if (c === '}' || c === ']') stack.pop();
    else if (c === ',' && top?.keys) top.expectKey = true;
    i++;
  }
  return found;
}
