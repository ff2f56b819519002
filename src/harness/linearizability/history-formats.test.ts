import { describe, expect, it } from 'vitest';
import { HistoryFormatError } from './history-errors.js';
import { HISTORY_FORMATS } from './history-formats.js';

const jepsen = (lines: [number, string, string, string][]) =>
  lines.map(([p, type, f, value]) => `INFO  jepsen.util - ${p}\t:${type}\t:${f}\t${value}`).join('\n');
const kv = (lines: [number, string, string, string][]) =>
  lines.map(([p, type, f, value]) => `{:process ${p}, :type :${type}, :f :${f}, :key "k", :value ${value}}`).join('\n');
const json = (model: string, ops: string[]) => `{"model": "${model}", "operations": [${ops.join(', ')}]}`;
const format = (name: string) => {
  const f = HISTORY_FORMATS[name];
  if (!f) throw new Error(`no format ${name}`);
  return f;
};

// check-history reads files through this table: each format parses with its own reader, checks
// against its own model and describes operations as that model does.
describe('HISTORY_FORMATS', () => {
  it('names the three formats, and the json summary lists the models a file can name', () => {
    expect(Object.keys(HISTORY_FORMATS).sort()).toEqual(['jepsen-register', 'json', 'porcupine-kv']);
    expect(format('json').summary).toContain('"register"|"kv"');
    for (const f of Object.values(HISTORY_FORMATS)) expect(f.summary.length).toBeGreaterThan(20);
  });

  it('jepsen-register: a cas register; a stale read is not linearizable; operations described', () => {
    const ok = jepsen([
      [0, 'invoke', 'write', '3'],
      [0, 'ok', 'write', '3'],
      [1, 'invoke', 'read', 'nil'],
      [1, 'ok', 'read', '3'],
    ]);
    const good = format('jepsen-register').check(ok, 'a.log', {});
    expect(good.report.result).toBe('linearizable');
    expect(good.ops).toHaveLength(2);
    expect(good.describe(good.ops[1]?.input, good.ops[1]?.output)).toBe('read() -> 3');
    const stale = jepsen([
      [0, 'invoke', 'write', '3'],
      [0, 'ok', 'write', '3'],
      [1, 'invoke', 'read', 'nil'],
      [1, 'ok', 'read', 'nil'],
    ]);
    expect(format('jepsen-register').check(stale, 'b.log', {}).report.result).toBe('not-linearizable');
  });

  it('porcupine-kv: a key-value store; a get that misses a finished put is not linearizable', () => {
    const lines: [number, string, string, string][] = [
      [0, 'invoke', 'put', '"a"'],
      [0, 'ok', 'put', '"a"'],
      [1, 'invoke', 'get', 'nil'],
      [1, 'ok', 'get', '"a"'],
    ];
    expect(format('porcupine-kv').check(kv(lines), 'k.txt', {}).report.result).toBe('linearizable');
    const missed = lines.map((l, i): [number, string, string, string] => (i === 3 ? [1, 'ok', 'get', '""'] : l));
    const bad = format('porcupine-kv').check(kv(missed), 'k.txt', {});
    expect(bad.report.result).toBe('not-linearizable');
    expect(bad.describe(bad.ops[0]?.input, bad.ops[0]?.output)).toMatch(/put/);
  });

  it('json: the model the file names, checked and described by that model', () => {
    const put =
      '{"id": 0, "client": "a", "input": {"kind": "put", "key": "x", "value": "1"}, "output": {"kind": "put"}, "call": 0, "ret": 1}';
    const get = (v: string) =>
      `{"id": 1, "client": "b", "input": {"kind": "get", "key": "x"}, "output": {"kind": "get", "value": "${v}"}, "call": 2, "ret": 3}`;
    expect(format('json').check(json('kv', [put, get('1')]), 'h.json', {}).report.result).toBe('linearizable');
    expect(format('json').check(json('kv', [put, get('2')]), 'h.json', {}).report.result).toBe('not-linearizable');
    const write =
      '{"id": 0, "client": "a", "input": {"kind": "write", "value": 4}, "output": {"kind": "write"}, "call": 0, "ret": 1}';
    const reg = format('json').check(json('register', [write]), 'r.json', {});
    expect(reg.describe(reg.ops[0]?.input, reg.ops[0]?.output)).toBe('write(4) -> ok');
  });

  it('a malformed file is a HistoryFormatError naming the file, from every format', () => {
    expect(() => format('jepsen-register').check('INFO  jepsen.util - 0\t:invoke\t:write\tx', 'bad.log', {})).toThrow(
      HistoryFormatError,
    );
    expect(() => format('porcupine-kv').check('{:process}', 'bad.txt', {})).toThrow(/bad\.txt/);
    expect(() => format('json').check('[1]', 'bad.json', {})).toThrow(/bad\.json/);
  });
});
