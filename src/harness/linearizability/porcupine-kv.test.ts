import { describe, expect, it } from 'vitest';
import { HistoryFormatError, PorcupineKvLogError } from './history-errors.js';
import { parsePorcupineKvLog } from './porcupine-kv.js';

const ev = (p: number, type: string, f: string, key: string, value: string) =>
  `{:process ${p}, :type :${type}, :f :${f}, :key "${key}", :value ${value}}`;

describe('parsePorcupineKvLog', () => {
  it('reads every kind of event, timed by line, skipping blank lines and comments', () => {
    const text = [
      '; a comment',
      ev(0, 'invoke', 'put', 'k', '"a"'),
      ev(1, 'invoke', 'get', 'k', 'nil'),
      ev(0, 'ok', 'put', 'k', '"a"'),
      '',
      ev(1, 'ok', 'get', 'k', '"a \\"quoted\\" \\u00e9"'),
      ev(2, 'invoke', 'append', 'k', '"b"'),
      ev(2, 'info', 'append', 'k', '"b"'),
      ev(3, 'invoke', 'append', 'j', '"c"'),
      ev(3, 'fail', 'append', 'j', '"c"'),
      '{:process 4 :type :invoke :f :get :key "j" :value nil}', // commas are whitespace in EDN
      ev(5, 'invoke', 'put', 'j', '"d"'),
    ].join('\n');
    expect(parsePorcupineKvLog(text, 't.txt')).toEqual([
      { id: 0, client: '0', input: { kind: 'put', key: 'k', value: 'a' }, output: { kind: 'put' }, call: 2, ret: 4 },
      { id: 1, client: '1', input: { kind: 'get', key: 'k' }, output: { kind: 'get', value: 'a "quoted" é' }, call: 3, ret: 6 },
      {
        id: 2,
        client: '2',
        input: { kind: 'append', key: 'k', value: 'b' },
        output: undefined,
        call: 7,
        ret: Number.POSITIVE_INFINITY,
      },
      // id 3 failed: it never happened and is left out. An open get ends where it began, any answer.
      { id: 4, client: '4', input: { kind: 'get', key: 'j' }, output: undefined, call: 11, ret: 11 },
      {
        id: 5,
        client: '5',
        input: { kind: 'put', key: 'j', value: 'd' },
        output: undefined,
        call: 12,
        ret: Number.POSITIVE_INFINITY,
      },
    ]);
  });

  it.each([
    ['not a map', 'hello', /^h\.txt:2: expected a map \{:key value, \.\.\.\} at column 1$/],
    ['unclosed map', '{:process 0, :type :invoke', /^h\.txt:2: the map is not closed \(missing \}\)$/],
    ['unclosed string', '{:process 0, :key "abc}', /^h\.txt:2: a string is not closed/],
    [
      'nested value',
      '{:process 0, :type [1 2]}',
      /^h\.txt:2: expected nil, true, false, a whole number, a string or a keyword at column 20, got "\["$/,
    ],
    ['duplicate key', '{:process 0, :process 1}', /key :process appears twice/],
    ['text after', `${ev(1, 'invoke', 'get', 'k', 'nil')} x`, /unexpected text after the map/],
    ['bad type', ev(1, 'start', 'get', 'k', 'nil'), /^h\.txt:2: :type must be one of :invoke :ok :fail :info, got :start$/],
    ['bad f', ev(1, 'invoke', 'cas', 'k', 'nil'), /:f must be one of :get :put :append, got :cas/],
    ['no key', '{:process 1, :type :invoke, :f :get}', /:get takes a string :key, got nothing/],
    ['numeric value', ev(1, 'invoke', 'put', 'k', '7'), /:invoke :put takes a string :value, got 7/],
    ['no process', '{:type :invoke, :f :get, :key "k"}', /:process must be a whole number or a keyword, got nothing/],
    ['orphan completion', ev(1, 'ok', 'get', 'k', '""'), /process 1 completes \(:ok\) with no operation open/],
    [
      'other key',
      `${ev(0, 'invoke', 'get', 'j', 'nil')}\n${ev(0, 'ok', 'get', 'k', '""')}`,
      /^h\.txt:3: process 0 completes key "k" but invoked key "j" on line 2$/,
    ],
    [
      'twice open',
      `${ev(0, 'invoke', 'get', 'j', 'nil')}\n${ev(0, 'invoke', 'get', 'j', 'nil')}`,
      /process 0 invokes again while its operation from line 2 is open/,
    ],
    [
      'other f',
      `${ev(0, 'invoke', 'get', 'j', 'nil')}\n${ev(0, 'ok', 'put', 'j', '"x"')}`,
      /completes :put but invoked :get on line 2/,
    ],
    [
      'get with nil',
      `${ev(0, 'invoke', 'get', 'j', 'nil')}\n${ev(0, 'ok', 'get', 'j', 'nil')}`,
      /:ok :get takes a string :value, got nil/,
    ],
  ])('names the line and the fault: %s', (_, bad, message) => {
    const text = `${ev(9, 'invoke', 'get', 'z', 'nil')}\n${bad}\n`;
    let error: unknown;
    try {
      parsePorcupineKvLog(text, 'h.txt');
    } catch (e) {
      error = e;
    }
    expect(error).toBeInstanceOf(PorcupineKvLogError);
    expect(error).toBeInstanceOf(HistoryFormatError);
    expect((error as PorcupineKvLogError).code).toBe('ERR_PORCUPINE_KV_LOG');
    expect((error as PorcupineKvLogError).file).toBe('h.txt');
    expect((error as PorcupineKvLogError).message).toMatch(message);
  });
});
