import { describe, expect, it } from 'vitest';
import { casRegisterModel, type RegisterInput, type RegisterOutput, type RegisterState } from './cas-register-model.js';
import { checkOperations } from './check-operations.js';
import type { LinearizabilityModel, Operation } from './model.js';
import { nondeterministic } from './nondeterministic.js';

type Op = Operation<RegisterInput, RegisterOutput>;
let nextId = 0;
const write = (client: string, value: number, call: number, ret: number, known = true): Op => ({
  id: nextId++,
  client,
  input: { kind: 'write', value },
  output: known ? { kind: 'write' } : undefined,
  call,
  ret: known ? ret : Number.POSITIVE_INFINITY,
});
const read = (client: string, value: number | null, call: number, ret: number): Op => ({
  id: nextId++,
  client,
  input: { kind: 'read' },
  output: { kind: 'read', value },
  call,
  ret,
});
const cas = (client: string, from: number, to: number, ok: boolean | undefined, call: number, ret: number): Op => ({
  id: nextId++,
  client,
  input: { kind: 'cas', from, to },
  output: ok === undefined ? undefined : { kind: 'cas', ok },
  call,
  ret: ok === undefined ? Number.POSITIVE_INFINITY : ret,
});

describe('checkOperations on a CAS register', () => {
  it('accepts the empty history and a sequential one', () => {
    expect(checkOperations(casRegisterModel, []).result).toBe('linearizable');
    const ops = [write('a', 1, 0, 1), read('b', 1, 2, 3), cas('a', 1, 2, true, 4, 5), read('b', 2, 6, 7)];
    const report = checkOperations(casRegisterModel, ops);
    expect(report.result).toBe('linearizable');
    expect(report.partitions[0]?.longestPrefix).toEqual(ops.map((o) => o.id));
  });

  it('accepts a read that sees a concurrent write either way', () => {
    const w = write('a', 1, 0, 10);
    expect(checkOperations(casRegisterModel, [w, read('b', 1, 1, 2)]).result).toBe('linearizable');
    expect(checkOperations(casRegisterModel, [w, read('b', null, 1, 2)]).result).toBe('linearizable');
  });

  it('rejects a stale read and names the operations that could not be placed', () => {
    const w1 = write('a', 1, 0, 1);
    const w2 = write('a', 2, 2, 3);
    const r = read('b', 1, 4, 5);
    const report = checkOperations(casRegisterModel, [w1, w2, r]);
    expect(report.result).toBe('not-linearizable');
    const part = report.partitions[0];
    expect(part?.longestPrefix).toEqual([w1.id, w2.id]);
    expect(part?.stuck).toEqual({ opIds: [r.id], state: 'value 2' });
  });

  it('treats operations that touch at equal times as concurrent', () => {
    // Tie rule: calls sort before returns, so a read called when the write returns may still precede it.
    expect(checkOperations(casRegisterModel, [write('a', 1, 0, 5), read('b', null, 5, 6)]).result).toBe('linearizable');
    expect(checkOperations(casRegisterModel, [write('a', 1, 0, 5), read('b', null, 6, 7)]).result).toBe('not-linearizable');
  });

  it('lets an unknown-outcome write take effect late, or never', () => {
    const lost = write('a', 1, 0, 0, false);
    expect(checkOperations(casRegisterModel, [lost, read('b', null, 5, 6)]).result).toBe('linearizable');
    expect(checkOperations(casRegisterModel, [lost, read('b', null, 5, 6), read('b', 1, 7, 8)]).result).toBe('linearizable');
    // Once seen, it cannot be undone.
    const seenThenGone = [lost, read('b', 1, 5, 6), read('b', null, 7, 8)];
    expect(checkOperations(casRegisterModel, seenThenGone).result).toBe('not-linearizable');
  });

  it('lets an unknown-outcome cas succeed or not', () => {
    const setup = write('a', 1, 0, 1);
    const maybe = cas('b', 1, 2, undefined, 2, 0);
    expect(checkOperations(casRegisterModel, [setup, maybe, read('c', 2, 5, 6)]).result).toBe('linearizable');
    expect(checkOperations(casRegisterModel, [setup, maybe, read('c', 1, 5, 6)]).result).toBe('linearizable');
    expect(checkOperations(casRegisterModel, [setup, maybe, read('c', 3, 5, 6)]).result).toBe('not-linearizable');
  });

  it('rejects a cas that failed although the value matched', () => {
    expect(checkOperations(casRegisterModel, [write('a', 1, 0, 1), cas('b', 1, 2, false, 2, 3)]).result).toBe('not-linearizable');
  });

  it('answers unknown when the time runs out, with no exception', () => {
    // 12 overlapping writes and a read of a value none wrote: every order of the writes is tried.
    const writes = Array.from({ length: 12 }, (_, i) => write(`w${i}`, i, i, 100));
    const ops = [...writes, read('r', 99, 200, 201)];
    expect(checkOperations(casRegisterModel, ops, { timeoutMs: 0 }).result).toBe('unknown');
    expect(checkOperations(casRegisterModel, ops).result).toBe('not-linearizable');
  });

  it('does not throw on a return before its call', () => {
    const bad: Op = { ...read('a', null, 5, 1) };
    expect(checkOperations(casRegisterModel, [bad]).result).toBe('linearizable');
  });
});

type KvInput = { readonly key: string; readonly op: RegisterInput };
type KvOutput = RegisterOutput;
/** Independent registers keyed by name: checked one key at a time. */
const kvModel: LinearizabilityModel<Record<string, RegisterState>, KvInput, KvOutput> = {
  init: () => ({}),
  step(state, input, output) {
    const next = casRegisterModel.step(state[input.key] ?? null, input.op, output);
    return next === undefined ? undefined : { ...state, [input.key]: next };
  },
  hash: (state) => JSON.stringify(Object.entries(state).sort()),
  partition(ops) {
    const byKey = new Map<string, Operation<KvInput, KvOutput>[]>();
    for (const op of ops) byKey.set(op.input.key, [...(byKey.get(op.input.key) ?? []), op]);
    return [...byKey.values()];
  },
};

describe('checkOperations with a partitioned model', () => {
  const on = (key: string, o: Op): Operation<KvInput, KvOutput> => ({ ...o, input: { key, op: o.input } });

  it('checks each key alone and reports the illegal one', () => {
    const ops = [
      on('x', write('a', 1, 0, 1)),
      on('y', write('b', 7, 0, 1)),
      on('x', read('c', 1, 2, 3)),
      on('y', read('c', 8, 4, 5)),
    ];
    const report = checkOperations(kvModel, ops);
    expect(report.result).toBe('not-linearizable');
    expect(report.partitions.map((p) => [p.result, p.ops])).toEqual([
      ['linearizable', 2],
      ['not-linearizable', 2],
    ]);
    const { partition: _, ...whole } = kvModel;
    expect(checkOperations(whole, ops).result).toBe('not-linearizable');
  });

  it('accepts when every key is linearizable', () => {
    const ops = [
      on('x', write('a', 1, 0, 10)),
      on('y', write('b', 2, 0, 10)),
      on('x', read('c', null, 1, 2)),
      on('y', read('d', 2, 3, 4)),
    ];
    expect(checkOperations(kvModel, ops).result).toBe('linearizable');
  });
});

describe('nondeterministic', () => {
  // A register whose write may be dropped silently: a real nondeterministic step.
  const lossy = nondeterministic<RegisterState, RegisterInput, RegisterOutput>({
    init: () => null,
    step: (state, input, output) => {
      if (input.kind === 'write') return [input.value, state];
      const next = casRegisterModel.step(state, input, output);
      return next === undefined ? [] : [next];
    },
    hash: (state) => String(state),
  });

  it('keeps a canonical set of states', () => {
    const a = lossy.step(lossy.init(), { kind: 'write', value: 2 }, { kind: 'write' });
    const b = lossy.step(a ?? [], { kind: 'write', value: 2 }, { kind: 'write' });
    // Sorted by hash: '2' < 'null'.
    expect(a).toEqual([2, null]);
    expect(b && lossy.hash(b)).toBe(a && lossy.hash(a));
    expect(lossy.step([1], { kind: 'read' }, { kind: 'read', value: 2 })).toBeUndefined();
  });

  it('accepts a dropped write that the deterministic register rejects', () => {
    const ops = [write('a', 1, 0, 1), read('b', null, 2, 3)];
    expect(checkOperations(casRegisterModel, ops).result).toBe('not-linearizable');
    expect(checkOperations(lossy, ops).result).toBe('linearizable');
  });

  it('still rejects what no choice explains', () => {
    const ops = [write('a', 1, 0, 1), read('b', 1, 2, 3), read('b', null, 4, 5)];
    const report = checkOperations(lossy, ops);
    expect(report.result).toBe('not-linearizable');
    expect(report.partitions[0]?.stuck?.state).toBe('{1}');
  });
});
