/** A keyword of EDN (`:invoke`), kept apart from strings. */
export interface EdnKeyword {
  readonly keyword: string;
}

/** The EDN values a flat history map holds: nil, booleans, whole numbers, strings, keywords. */
export type EdnValue = null | boolean | number | string | EdnKeyword;

const SYMBOL = /[^\s,{}[\]()"';]+/y;
const INTEGER = /^[-+]?\d+$/;
const ESCAPES: Record<string, string> = { '"': '"', '\\': '\\', n: '\n', t: '\t', r: '\r', b: '\b', f: '\f' };

/**
 * Reads one flat EDN map, `{:k v, ...}`, from `line` (commas are whitespace, as in EDN). Values are
 * nil, true, false, whole numbers, strings and keywords; nested collections are refused. Returns
 * the map, or a string that says what is wrong and at which column.
 */
export function readEdnMap(line: string): Map<string, EdnValue> | string {
  let at = 0;
  const skip = () => {
    while (at < line.length && /[\s,]/.test(line[at] as string)) at++;
  };
  const where = () => `column ${at + 1}`;
  const symbol = (): string | undefined => {
    SYMBOL.lastIndex = at;
    const m = SYMBOL.exec(line);
    if (m) at += m[0].length;
    return m?.[0];
  };
  const string = (): string | { error: string } => {
    let out = '';
    for (at++; at < line.length; at++) {
      const c = line[at] as string;
      if (c === '"') {
        at++;
        return out;
      }
      if (c !== '\\') {
        out += c;
        continue;
      }
      const e = line[++at] ?? '';
      if (e === 'u' && /^[0-9a-fA-F]{4}$/.test(line.slice(at + 1, at + 5))) {
        out += String.fromCharCode(Number.parseInt(line.slice(at + 1, at + 5), 16));
        at += 4;
      } else if (e in ESCAPES) out += ESCAPES[e];
      else return { error: `unknown escape "\\${e}" in a string at ${where()}` };
    }
    return { error: 'a string is not closed (missing ")' };
  };
  const value = (): EdnValue | { error: string } => {
    const c = line[at];
    if (c === '"') return string();
    if (c === ':') {
      at++;
      const name = symbol();
      return name === undefined ? { error: `a keyword needs a name at ${where()}` } : { keyword: name };
    }
    const start = where();
    const word = symbol();
    if (word === 'nil') return null;
    if (word === 'true' || word === 'false') return word === 'true';
    if (word !== undefined && INTEGER.test(word)) return Number(word);
    if (c === undefined) return { error: 'the map ends after a key with no value' };
    return { error: `expected nil, true, false, a whole number, a string or a keyword at ${start}, got "${word ?? c}"` };
  };

  skip();
  if (line[at] !== '{') return `expected a map {:key value, ...} at ${where()}`;
  at++;
  const map = new Map<string, EdnValue>();
  for (;;) {
    skip();
    if (at >= line.length) return 'the map is not closed (missing })';
    if (line[at] === '}') break;
    if (line[at] !== ':') return `expected a keyword key (like :type) at ${where()}`;
    at++;
    const key = symbol();
    if (key === undefined) return `a keyword needs a name at ${where()}`;
    if (map.has(key)) return `key :${key} appears twice`;
    skip();
    const v = value();
    if (v !== null && typeof v === 'object' && 'error' in v) return v.error;
    map.set(key, v as EdnValue);
  }
  at++;
  skip();
  return at < line.length ? `unexpected text after the map at ${where()}` : map;
}
