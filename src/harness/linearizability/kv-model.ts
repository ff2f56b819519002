import type { LinearizabilityModel, Operation } from './model.js';

/** What a client asks of a key-value store with string keys and values. */
export type KvInput =
  | { readonly kind: 'get'; readonly key: string }
  | { readonly kind: 'put'; readonly key: string; readonly value: string }
  | { readonly kind: 'append'; readonly key: string; readonly value: string };

/** What the store answered; a get returns the key's whole value (`''` for a key never written). */
export type KvOutput = { readonly kind: 'get'; readonly value: string } | { readonly kind: 'put' } | { readonly kind: 'append' };

/** The value of the one key a part of the history is about (keys are checked one at a time). */
export type KvState = string;

/** One operation of a key-value history. */
export type KvOperation = Operation<KvInput, KvOutput>;

/**
 * A key-value store (get, put, append), as Porcupine's tests model it. Keys are independent, so the
 * history is split by key (parts in key order, each labelled with its key) and the state is one
 * key's value. An unknown outcome allows any answer: a get changes nothing, a put or an append
 * takes effect (never taking effect is the same as being placed last, which the checker also tries).
 */
export const kvModel: LinearizabilityModel<KvState, KvInput, KvOutput> = {
  init: () => '',
  step(state, input, output) {
    switch (input.kind) {
      case 'get':
        return output === undefined || (output.kind === 'get' && output.value === state) ? state : undefined;
      case 'put':
        return output === undefined || output.kind === 'put' ? input.value : undefined;
      case 'append':
        return output === undefined || output.kind === 'append' ? state + input.value : undefined;
    }
  },
  hash: (state) => state,
  partition(ops) {
    const byKey = new Map<string, KvOperation[]>();
    for (const op of ops) {
      const part = byKey.get(op.input.key);
      if (part) part.push(op);
      else byKey.set(op.input.key, [op]);
    }
    return [...byKey.keys()].sort().map((key) => byKey.get(key) as KvOperation[]);
  },
  partitionLabel: (ops) => ops[0]?.input.key ?? '',
  describeState: (state) => `value ${JSON.stringify(state)}`,
  describeOperation(input, output) {
    const key = JSON.stringify(input.key);
    const call = input.kind === 'get' ? `get(${key})` : `${input.kind}(${key}, ${JSON.stringify(input.value)})`;
    if (output === undefined) return `${call} -> ?`;
    return output.kind === 'get' ? `${call} -> ${JSON.stringify(output.value)}` : `${call} -> ok`;
  },
};
