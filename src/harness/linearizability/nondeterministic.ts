import type { LinearizabilityModel, NondeterministicModel } from './model.js';

/**
 * Turns a model whose step may lead to several states into a deterministic one (the powerset
 * construction): its state is the set of states the object may be in, kept canonical (sorted by
 * hash, without duplicates) so that equal sets hash equally and memoisation still works. A step is
 * illegal only when no state of the set allows it.
 */
export function nondeterministic<S, I, O>(model: NondeterministicModel<S, I, O>): LinearizabilityModel<readonly S[], I, O> {
  // Each state is hashed when its set is made canonical and again when the set is hashed: states
  // are never changed once made, so an object's hash is kept (hashing was a tenth of the parallel
  // property's time, profiled).
  const known = new WeakMap<object, string>();
  const hashOf = (s: S): string => {
    if (typeof s !== 'object' || s === null) return model.hash(s);
    let h = known.get(s);
    if (h === undefined) {
      h = model.hash(s);
      known.set(s, h);
    }
    return h;
  };
  // Sorted by hash and deduplicated: two paths to the same set of states must produce the same key.
  const canonical = (states: Iterable<S>): readonly S[] => {
    const byHash = new Map<string, S>();
    for (const s of states) {
      const h = hashOf(s);
      if (!byHash.has(h)) byHash.set(h, s);
    }
    return [...byHash.keys()].sort().map((h) => byHash.get(h) as S);
  };
  const adapted: LinearizabilityModel<readonly S[], I, O> = {
    init: () => canonical([model.init()]),
    step: (states, input, output) => {
      const next = canonical(states.flatMap((s) => model.step(s, input, output)));
      return next.length === 0 ? undefined : next;
    },
    // JSON quoting keeps the join unambiguous whatever characters the inner hashes hold.
    hash: (states) => JSON.stringify(states.map(hashOf)),
    describeState: (states) => `{${states.map((s) => model.describeState?.(s) ?? hashOf(s)).join(', ')}}`,
  };
  if (model.describeOperation) adapted.describeOperation = model.describeOperation.bind(model);
  if (model.partition) adapted.partition = model.partition.bind(model);
  if (model.partitionLabel) adapted.partitionLabel = model.partitionLabel.bind(model);
  return adapted;
}
