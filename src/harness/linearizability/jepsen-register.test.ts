import { describe, expect, it } from 'vitest';
import { JepsenLogError, parseJepsenRegisterLog } from './jepsen-register.js';

const line = (p: number, type: string, f: string, value: string) => `INFO  jepsen.util - ${p}\t:${type}\t:${f}\t${value}`;

describe('parseJepsenRegisterLog', () => {
  it('reads every kind of event, timed by line, and ignores other lines', () => {
    const text = [
      '2017-01-01 INFO jepsen.core - Run starting',
      line(0, 'invoke', 'write', '3'),
      line(1, 'invoke', 'read', 'nil'),
      line(0, 'ok', 'write', '3'),
      'INFO  jepsen.util - 1   :ok     :read   3', // spaces instead of tabs
      line(2, 'invoke', 'cas', '[3 4]'),
      line(2, 'info', 'cas', ':timed-out'),
      line(3, 'invoke', 'read', 'nil'),
      line(3, 'fail', 'read', ':timed-out'),
      line(4, 'invoke', 'write', '5'),
      line(5, 'invoke', 'write', '6'),
      line(5, 'fail', 'write', '6'),
      '',
    ].join('\n');
    const ops = parseJepsenRegisterLog(text, 't.log');
    expect(ops).toEqual([
      { id: 0, client: '0', input: { kind: 'write', value: 3 }, output: { kind: 'write' }, call: 2, ret: 4 },
      { id: 1, client: '1', input: { kind: 'read' }, output: { kind: 'read', value: 3 }, call: 3, ret: 5 },
      { id: 2, client: '2', input: { kind: 'cas', from: 3, to: 4 }, output: undefined, call: 6, ret: Number.POSITIVE_INFINITY },
      { id: 3, client: '3', input: { kind: 'read' }, output: undefined, call: 8, ret: 9 },
      // Never completed: unknown outcome, open to the end.
      { id: 4, client: '4', input: { kind: 'write', value: 5 }, output: undefined, call: 10, ret: Number.POSITIVE_INFINITY },
      // id 5, the failed write, never took effect and is left out.
    ]);
  });

  it('reads a cas that succeeded and one that failed, and returns operations by id, not by completion', () => {
    const text = [
      line(0, 'invoke', 'cas', '[1 2]'),
      line(1, 'invoke', 'cas', '[3 4]'),
      line(1, 'fail', 'cas', '[3 4]'),
      line(0, 'ok', 'cas', '[1 2]'),
    ].join('\n');
    expect(parseJepsenRegisterLog(text, 'c.log')).toEqual([
      { id: 0, client: '0', input: { kind: 'cas', from: 1, to: 2 }, output: { kind: 'cas', ok: true }, call: 1, ret: 4 },
      { id: 1, client: '1', input: { kind: 'cas', from: 3, to: 4 }, output: { kind: 'cas', ok: false }, call: 2, ret: 3 },
    ]);
  });

  it.each([
    [line(0, 'invoke', 'write', 'x'), 't.log:1: :write takes a whole number, got "x"'],
    [line(0, 'invoke', 'cas', '[1]'), 't.log:1: :cas takes [FROM TO], got "[1]"'],
    ['INFO  jepsen.util - 0\t:invoke\t:append\t1', 't.log:1: expected "P :invoke|:ok|:fail|:info :read|:write|:cas VALUE"'],
    [line(0, 'ok', 'read', '1'), 't.log:1: process 0 completes (:ok) with no operation open'],
    [`${line(0, 'invoke', 'read', 'nil')}\n${line(0, 'invoke', 'read', 'nil')}`, 't.log:2: process 0 invokes again while'],
    [
      `${line(0, 'invoke', 'read', 'nil')}\n${line(0, 'ok', 'write', '1')}`,
      't.log:2: process 0 completes :write but invoked :read',
    ],
  ])('rejects %j with file:line', (text, message) => {
    expect(() => parseJepsenRegisterLog(text, 't.log')).toThrow(JepsenLogError);
    expect(() => parseJepsenRegisterLog(text, 't.log')).toThrow(message);
  });
});
