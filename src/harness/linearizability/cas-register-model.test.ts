import { describe, expect, it } from 'vitest';
import { casRegisterModel as m, type RegisterInput, type RegisterOutput } from './cas-register-model.js';
import { checkOperations } from './check-operations.js';
import type { Operation } from './model.js';

const read: RegisterInput = { kind: 'read' };
const write = (value: number): RegisterInput => ({ kind: 'write', value });
const cas = (from: number, to: number): RegisterInput => ({ kind: 'cas', from, to });
const got = (value: number | null): RegisterOutput => ({ kind: 'read', value });
const casOut = (ok: boolean): RegisterOutput => ({ kind: 'cas', ok });

describe('the compare-and-set register model', () => {
  it('starts empty; a read must see the value, and an unknown read changes nothing', () => {
    expect(m.init()).toBeNull();
    expect(m.step(null, read, got(null))).toBeNull();
    expect(m.step(3, read, got(3))).toBe(3);
    expect(m.step(3, read, got(4))).toBeUndefined();
    expect(m.step(null, read, got(0))).toBeUndefined();
    expect(m.step(3, read, undefined)).toBe(3);
    // An answer of another kind is no answer to a read.
    expect(m.step(3, read, { kind: 'write' })).toBeUndefined();
  });

  it('a write takes effect whatever it answered', () => {
    expect(m.step(null, write(5), { kind: 'write' })).toBe(5);
    expect(m.step(2, write(5), undefined)).toBe(5);
  });

  it('a cas succeeds exactly when the value matches, and its answer must say so', () => {
    expect(m.step(1, cas(1, 2), casOut(true))).toBe(2);
    expect(m.step(1, cas(1, 2), casOut(false))).toBeUndefined();
    expect(m.step(7, cas(1, 2), casOut(false))).toBe(7);
    expect(m.step(7, cas(1, 2), casOut(true))).toBeUndefined();
    expect(m.step(null, cas(1, 2), casOut(false))).toBeNull();
    // Unknown outcome: it takes effect when it could have.
    expect(m.step(1, cas(1, 2), undefined)).toBe(2);
    expect(m.step(7, cas(1, 2), undefined)).toBe(7);
    expect(m.step(1, cas(1, 2), got(1))).toBeUndefined();
  });

  it('hashes and describes states and operations as the reports print them', () => {
    expect(m.hash?.(null)).toBe('nil');
    expect(m.hash?.(0)).toBe('0');
    expect(m.hash?.(null)).not.toBe(m.hash?.(0));
    expect(m.describeState?.(null)).toBe('value nil');
    expect(m.describeState?.(4)).toBe('value 4');
    expect(m.describeOperation?.(read, got(null))).toBe('read() -> nil');
    expect(m.describeOperation?.(read, got(3))).toBe('read() -> 3');
    expect(m.describeOperation?.(write(3), { kind: 'write' })).toBe('write(3) -> ok');
    expect(m.describeOperation?.(cas(1, 2), casOut(true))).toBe('cas(1, 2) -> ok');
    expect(m.describeOperation?.(cas(1, 2), casOut(false))).toBe('cas(1, 2) -> fail');
    expect(m.describeOperation?.(write(3), undefined)).toBe('write(3) -> ?');
  });

  it('through the checker: a stale read after a finished write is not linearizable; a concurrent one is', () => {
    const op = (id: number, input: RegisterInput, output: RegisterOutput | undefined, call: number, ret: number) =>
      ({ id, client: String(id), input, output, call, ret }) as Operation<RegisterInput, RegisterOutput>;
    const stale = [op(0, write(1), { kind: 'write' }, 0, 1), op(1, read, got(null), 2, 3)];
    expect(checkOperations(m, stale).result).toBe('not-linearizable');
    const overlapping = [op(0, write(1), { kind: 'write' }, 0, 3), op(1, read, got(null), 1, 2)];
    expect(checkOperations(m, overlapping).result).toBe('linearizable');
  });
});
