/**
 * A checker for concurrent add/remove on one key of a set (a pool's keys): is there an order of
 * the operations, consistent with real time, in which every remove returned what a sequential set
 * would return and the key ends as observed? Wing and Gong's search, memoised over (operations
 * done, present). It also gives the most connections any such order creates (adds that found the
 * key absent): the server cannot have accepted more connections than that for the key.
 * A key sees a few dozen operations, so the search is small.
 */

/** One operation on a key: invoked and returned at logical times (a counter shared by the history). */
export interface SetOp {
  readonly kind: 'add' | 'remove';
  readonly invokedAt: number;
  readonly returnedAt: number;
  /** What a remove returned: true if it took the key out. */
  readonly removed?: boolean;
}

export interface SetHistoryFacts {
  readonly initiallyPresent: boolean;
  readonly finallyPresent: boolean;
}

export type SetVerdict =
  | { readonly valid: true; readonly order: readonly number[]; readonly maxCreations: number }
  | { readonly valid: false; readonly reason: string };

/** Past this many operations on one key the search may blow up: say so rather than hang. */
const MAX_OPS = 120;
const IMPOSSIBLE = -1;

export function checkSetHistory(ops: readonly SetOp[], facts: SetHistoryFacts): SetVerdict {
  if (ops.length > MAX_OPS) return { valid: false, reason: `history too long to search (${ops.length} > ${MAX_OPS} operations)` };
  // Operations done so far as a bit set (bigint: a key may see more than 31 operations).
  const bit = (i: number): bigint => 1n << BigInt(i);
  const all = bit(ops.length) - 1n;
  // best(done, present): most creations over the legal completions from here, IMPOSSIBLE if none.
  const memo = new Map<bigint, number>();
  const next = new Map<bigint, number>();
  const stateId = (done: bigint, present: boolean): bigint => done * 2n + (present ? 1n : 0n);
  const best = (done: bigint, present: boolean): number => {
    if (done === all) return present === facts.finallyPresent ? 0 : IMPOSSIBLE;
    const id = stateId(done, present);
    const known = memo.get(id);
    if (known !== undefined) return known;
    // Only an operation invoked before every pending operation returned can come next.
    let firstReturn = Number.POSITIVE_INFINITY;
    for (let i = 0; i < ops.length; i++) {
      if ((done & bit(i)) === 0n) firstReturn = Math.min(firstReturn, (ops[i] as SetOp).returnedAt);
    }
    let result = IMPOSSIBLE;
    for (let i = 0; i < ops.length; i++) {
      const op = ops[i] as SetOp;
      if ((done & bit(i)) !== 0n || op.invokedAt > firstReturn) continue;
      if (op.kind === 'remove' && op.removed !== present) continue;
      const rest = best(done | bit(i), op.kind === 'add');
      if (rest === IMPOSSIBLE) continue;
      const total = rest + (op.kind === 'add' && !present ? 1 : 0);
      if (total > result) {
        result = total;
        next.set(id, i);
      }
    }
    memo.set(id, result);
    return result;
  };
  const maxCreations = best(0n, facts.initiallyPresent);
  if (maxCreations !== IMPOSSIBLE) {
    const order: number[] = [];
    for (let done = 0n, present = facts.initiallyPresent; done !== all; ) {
      const i = next.get(stateId(done, present)) as number;
      order.push(i);
      done |= bit(i);
      present = (ops[i] as SetOp).kind === 'add';
    }
    return { valid: true, order, maxCreations };
  }
  const trueRemoves = ops.filter((o) => o.kind === 'remove' && o.removed).length;
  const adds = ops.filter((o) => o.kind === 'add').length;
  return {
    valid: false,
    reason:
      `no order consistent with real time explains ${ops.length} operations (${adds} adds, ${trueRemoves} removes that returned true), ` +
      `initially ${facts.initiallyPresent ? 'present' : 'absent'}, finally ${facts.finallyPresent ? 'present' : 'absent'}`,
  };
}
