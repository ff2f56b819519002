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

describe('checkOperations: stopping early, labels, bounds and model errors', () => {
  type KeyedOp = Operation<KvInput, KvOutput>;
  const on = (key: string, o: Op): KeyedOp => ({ ...o, input: { key, op: o.input } });
  const labelled: LinearizabilityModel<Record<string, RegisterState>, KvInput, KvOutput> = {
    ...kvModel,
    partitionLabel: (ops) => `key ${ops[0]?.input.key}`,
  };
  // 20 overlapping writes and a read of a value none wrote: illegal, but only after trying every
  // subset of the writes (about 2^20 x 21 memo entries), far more than a few turns of the search.
  const hard = (key: string): KeyedOp[] => [
    ...Array.from({ length: 20 }, (_, i) => on(key, write(`w${i}`, i, i, 100))),
    on(key, read('r', 99, 200, 201)),
  ];
  // A stale read: illegal after a handful of steps.
  const easy = (key: string): KeyedOp[] => [
    on(key, write('a', 1, 0, 1)),
    on(key, write('a', 2, 2, 3)),
    on(key, read('b', 1, 4, 5)),
  ];

  it('labels each part and stops at the first illegal one, whichever order the parts come in', () => {
    for (const order of ['hard first', 'easy first']) {
      const ops = order === 'hard first' ? [...hard('h'), ...easy('e')] : [...easy('e'), ...hard('h')];
      const report = checkOperations(labelled, ops);
      expect(report.result).toBe('not-linearizable');
      const byLabel = Object.fromEntries(report.partitions.map((p) => [p.label, p]));
      expect(byLabel['key e']?.result).toBe('not-linearizable');
      // Stuck with register e at 2 (this kvModel's hash), its stale read unplaceable.
      expect(byLabel['key e']?.stuck?.state).toBe('[["e",2]]');
      expect(byLabel['key h']).toMatchObject({ result: 'not-checked', ops: 21, longestPrefix: [] });
      // Stopped after a turn or so, far from the 2^20 entries its own search needs.
      expect(byLabel['key h']?.statesExplored).toBeLessThan(50_000);
      expect(report.partitions.map((p) => p.label)).toEqual(order === 'hard first' ? ['key h', 'key e'] : ['key e', 'key h']);
    }
  });

  it('checks every part when asked to', () => {
    const report = checkOperations(labelled, [...easy('a'), ...easy('b')], { checkAllPartitions: true });
    expect(report.partitions.map((p) => p.result)).toEqual(['not-linearizable', 'not-linearizable']);
    expect(checkOperations(labelled, [...easy('a'), ...easy('b')]).partitions.map((p) => p.result)).toEqual([
      'not-linearizable',
      'not-checked',
    ]);
  });

  it('gives no label when the model has no partitionLabel', () => {
    expect(checkOperations(kvModel, easy('x')).partitions[0]).not.toHaveProperty('label');
  });

  it('answers unknown, reason memory, when the memo reaches maxStates, with no exception', () => {
    const report = checkOperations(labelled, hard('h'), { maxStates: 1_000 });
    expect(report.result).toBe('unknown');
    expect(report.reason).toBe('memory');
    const part = report.partitions[0];
    expect(part?.result).toBe('unknown');
    expect(part?.reason).toBe('memory');
    expect(part?.statesExplored).toBeGreaterThan(100);
    expect(part?.statesExplored).toBeLessThanOrEqual(1_000);
    expect(part?.longestPrefix.length).toBeGreaterThan(0);
  });

  it('an illegal part still decides the verdict when another ran out of memory', () => {
    const report = checkOperations(labelled, [...hard('h'), ...easy('e')], { maxStates: 1_000, checkAllPartitions: true });
    expect(report.result).toBe('not-linearizable');
    expect(report.partitions.map((p) => [p.label, p.result, p.reason])).toEqual([
      ['key h', 'unknown', 'memory'],
      ['key e', 'not-linearizable', undefined],
    ]);
  });

  it('answers unknown, reason timeout, for every part still searching when the time is up', () => {
    const report = checkOperations(labelled, [...hard('a'), ...hard('b')], { timeoutMs: 0 });
    expect(report).toMatchObject({ result: 'unknown', reason: 'timeout' });
    expect(report.partitions.map((p) => [p.result, p.reason])).toEqual([
      ['unknown', 'timeout'],
      ['unknown', 'timeout'],
    ]);
  });

  it('refuses invalid options with a RangeError, before searching', () => {
    expect(() => checkOperations(kvModel, [], { maxStates: 0 })).toThrow(RangeError);
    expect(() => checkOperations(kvModel, [], { maxStates: 20_000_000 })).toThrow(
      /maxStates must be a whole number from 1 to 16000000/,
    );
    expect(() => checkOperations(kvModel, [], { timeoutMs: Number.NaN })).toThrow(/timeoutMs must be a number >= 0/);
  });

  it('turns an exception of any model function into a report naming it', () => {
    const boom = () => {
      throw new TypeError('boom');
    };
    const ops = [on('x', write('a', 1, 0, 1)), on('x', read('b', 1, 2, 3))];
    const cases: [string, Partial<typeof labelled>, RegExp][] = [
      ['init', { init: boom }, /^model\.init\(\) threw: TypeError: boom$/],
      ['step', { step: boom }, new RegExp(`^model\\.step\\(\\) threw on op #${ops[0]?.id}: TypeError: boom$`)],
      ['hash', { hash: boom }, /^model\.hash\(\) threw: TypeError: boom$/],
      ['partitionLabel', { partitionLabel: boom }, /^model\.partitionLabel\(\) threw: TypeError: boom$/],
    ];
    for (const [, broken, message] of cases) {
      const report = checkOperations({ ...labelled, ...broken }, ops);
      expect(report).toMatchObject({ result: 'unknown', reason: 'model-error' });
      expect(report.partitions[0]?.reason).toBe('model-error');
      expect(report.partitions[0]?.error).toMatch(message);
    }
    const partition = checkOperations({ ...labelled, partition: boom }, ops);
    expect(partition).toMatchObject({ result: 'unknown', reason: 'model-error', partitions: [] });
    expect(partition.error).toBe('model.partition() threw: TypeError: boom');
    // A thrown non-Error is reported too.
    const odd = checkOperations(
      {
        ...labelled,
        step: () => {
          throw 'plain string';
        },
      },
      ops,
    );
    expect(odd.partitions[0]?.error).toMatch(/threw on op #\d+: plain string$/);
  });

  it('a model error in one part does not hide an illegal other part', () => {
    const fragile = {
      ...labelled,
      step: (s: Record<string, RegisterState>, i: KvInput, o: KvOutput | undefined) => {
        if (i.key === 'bad') throw new Error('no');
        return kvModel.step(s, i, o);
      },
    };
    const report = checkOperations(fragile, [...easy('bad'), ...easy('e')], { checkAllPartitions: true });
    expect(report.result).toBe('not-linearizable');
    expect(report.partitions.map((p) => p.result)).toEqual(['unknown', 'not-linearizable']);
  });
});
