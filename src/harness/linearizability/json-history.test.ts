import { describe, expect, it } from 'vitest';
import { checkOperations } from './check-operations.js';
import { HistoryFormatError, JsonHistoryError } from './history-errors.js';
import { parseJsonHistory } from './json-history.js';

// One operation a line, as docs/checker.md writes them.
const kvHistory = (ops: string[]) =>
  `{\n  "model": "kv",\n  "operations": [\n${ops.map((o) => `    ${o}`).join(',\n')}\n  ]\n}\n`;
const PUT =
  '{"id": 0, "client": "a", "input": {"kind": "put", "key": "x", "value": "1"}, "output": {"kind": "put"}, "call": 0, "ret": 1}';
const GET =
  '{"id": 1, "client": "b", "input": {"kind": "get", "key": "x"}, "output": {"kind": "get", "value": "1"}, "call": 2, "ret": 3}';

function errorOf(text: string): JsonHistoryError {
  try {
    parseJsonHistory(text, 'h.json');
  } catch (error) {
    expect(error).toBeInstanceOf(JsonHistoryError);
    expect(error).toBeInstanceOf(HistoryFormatError);
    expect((error as JsonHistoryError).code).toBe('ERR_JSON_HISTORY');
    return error as JsonHistoryError;
  }
  throw new Error('expected a JsonHistoryError');
}

describe('parseJsonHistory', () => {
  it('reads a kv history: null output and null ret stand for an unknown outcome', () => {
    const lost =
      '{"id": 7, "client": 3, "input": {"kind": "append", "key": "x", "value": "2"}, "output": null, "call": 1, "ret": null}';
    const history = parseJsonHistory(kvHistory([PUT, GET, lost]), 'h.json');
    expect(history.modelName).toBe('kv');
    expect(history.ops).toEqual([
      { id: 0, client: 'a', input: { kind: 'put', key: 'x', value: '1' }, output: { kind: 'put' }, call: 0, ret: 1 },
      { id: 1, client: 'b', input: { kind: 'get', key: 'x' }, output: { kind: 'get', value: '1' }, call: 2, ret: 3 },
      {
        id: 7,
        client: '3',
        input: { kind: 'append', key: 'x', value: '2' },
        output: undefined,
        call: 1,
        ret: Number.POSITIVE_INFINITY,
      },
    ]);
    expect(checkOperations(history.model.model, history.ops).result).toBe('linearizable');
  });

  it('reads a register history, ids defaulting to the position', () => {
    const text = JSON.stringify({
      model: 'register',
      operations: [
        { client: 'a', input: { kind: 'write', value: 1 }, output: { kind: 'write' }, call: 0, ret: 1 },
        { client: 'b', input: { kind: 'read' }, output: { kind: 'read', value: null }, call: 2, ret: 3 },
      ],
    });
    const history = parseJsonHistory(text);
    expect(history.ops.map((o) => o.id)).toEqual([0, 1]);
    // The read of null after the write completed is illegal.
    expect(checkOperations(history.model.model, history.ops).result).toBe('not-linearizable');
  });

  it('reads a register history with cas operations, and refuses malformed ones by name', () => {
    const reg = (ops: string[]) => `{"model": "register", "operations": [\n${ops.join(',\n')}\n]}`;
    const casOp = (input: string, output: string) =>
      `{"id": 0, "client": "a", "input": ${input}, "output": ${output}, "call": 0, "ret": 1}`;
    const ok = parseJsonHistory(reg([casOp('{"kind": "cas", "from": 1, "to": 2}', '{"kind": "cas", "ok": false}')]), 'r.json');
    expect(ok.ops[0]).toMatchObject({ input: { kind: 'cas', from: 1, to: 2 }, output: { kind: 'cas', ok: false } });
    expect(checkOperations(ok.model.model, ok.ops).result).toBe('linearizable');
    expect(errorOf(reg([casOp('{"kind": "cas", "from": 1, "to": "2"}', 'null')])).message).toMatch(
      /input\.from and input\.to of a cas must be whole numbers/,
    );
    expect(errorOf(reg([casOp('{"kind": "cas", "from": 1, "to": 2}', '{"kind": "cas", "ok": "yes"}')])).message).toMatch(
      /output\.ok of a cas must be true or false, got "yes"/,
    );
    expect(errorOf(reg([casOp('{"kind": "write", "value": 1.5}', 'null')])).message).toMatch(
      /input\.value of a write must be a whole number, got 1\.5/,
    );
    expect(errorOf(reg([casOp('{"kind": "read"}', '{"kind": "read", "value": "3"}')])).message).toMatch(
      /output\.value of a read must be a whole number or null, got "3"/,
    );
    expect(errorOf(reg([casOp('"read"', 'null')])).message).toMatch(/input must be an object with "kind", got "read"/);
  });

  it.each([
    ['bad JSON', '{\n  "model": "kv",\n  "operations": [\n    {"id": 0,,}\n  ]\n}', 4, /not valid JSON/],
    ['not an object', '[1, 2]', 1, /expected an object \{"model": \.\.\., "operations": \[\.\.\.\]\}/],
    ['unknown model', '{"model": "queue", "operations": []}', 1, /"model" must be one of "register", "kv", got "queue"/],
    ['no operations', '{"model": "kv"}', 1, /"operations" must be an array, got undefined/],
    [
      'bad input kind',
      kvHistory([PUT, GET.replace('"kind": "get", "key"', '"kind": "cas", "key"')]),
      5,
      /operations\[1\]: input\.kind must be one of "get", "put", "append", got "cas"/,
    ],
    ['numeric key', kvHistory([PUT.replace('"key": "x"', '"key": 5')]), 4, /operations\[0\]: input\.key must be a string, got 5/],
    [
      'mismatched output',
      kvHistory([PUT, GET.replace('{"kind": "get", "value": "1"}', '{"kind": "put"}')]),
      5,
      /output\.kind "put" does not answer input\.kind "get"/,
    ],
    [
      'missing call',
      kvHistory([PUT.replace('"call": 0, ', '')]),
      4,
      /operations\[0\]: call must be a number \(a time\), got undefined/,
    ],
    ['ret before call', kvHistory([PUT.replace('"ret": 1', '"ret": -1')]), 4, /ret -1 is before call 0/],
    ['output without ret', kvHistory([PUT.replace('"ret": 1', '"ret": null')]), 4, /output is given but ret is null/],
    ['duplicate id', kvHistory([PUT, GET.replace('"id": 1', '"id": 0')]), 5, /operations\[1\]: id 0 is used twice/],
    ['no client', kvHistory([PUT, GET.replace('"client": "b", ', '')]), 5, /client must be a string, got undefined/],
  ])('names the line and the fault: %s', (_, text, line, message) => {
    const error = errorOf(text);
    expect(error.line).toBe(line);
    expect(error.message).toMatch(message);
    expect(error.message.startsWith(`h.json:${line}: `)).toBe(true);
  });

  it('finds the line of an operation whatever the layout, strings with brackets included', () => {
    const text = `{"operations": [\n{"client": "a]", "input": {"kind": "read"}, "call": 0, "ret": 1},\n\n  {"client": "b", "input": {"kind": "jump"}, "call": 0, "ret": 1}], "model": "register"}`;
    expect(errorOf(text).line).toBe(4);
  });
});
