import type { CheckOptions, LinearizabilityModel, LinearizabilityReport, Operation, PartitionReport } from './model.js';
import { mix32, VisitedSet } from './visited-set.js';

/**
 * One event of the entry list: an operation's call or its return. Calls link to their return so
 * that placing an operation (lifting it) removes both in O(1).
 */
class Entry {
  prev: Entry | null = null;
  next: Entry | null = null;
  match: Entry | null = null;
  constructor(
    readonly index: number,
    readonly isCall: boolean,
    readonly time: number,
  ) {}
}

// The deadline is read every this many search steps: performance.now() costs more than a step.
const DEADLINE_EVERY = 1 << 12;

/**
 * Builds the doubly linked entry list of `ops`, sorted by time. Tie rule: at equal times calls come
 * before returns, so operations that merely touch count as concurrent (timestamps of coarse clocks
 * never produce a false "not linearizable"), and a zero-length operation still has call <= return.
 * A return earlier than its call (a corrupt history) is treated as returning at the call.
 */
function buildEntries<I, O>(ops: readonly Operation<I, O>[]): Entry {
  const entries: Entry[] = [];
  ops.forEach((op, index) => {
    const call = new Entry(index, true, op.call);
    const ret = new Entry(index, false, Math.max(op.call, Number.isNaN(op.ret) ? Number.POSITIVE_INFINITY : op.ret));
    call.match = ret;
    entries.push(call, ret);
  });
  entries.sort((a, b) => a.time - b.time || (a.isCall === b.isCall ? a.index - b.index : a.isCall ? -1 : 1));
  const head = new Entry(-1, false, Number.NEGATIVE_INFINITY);
  let last = head;
  for (const e of entries) {
    last.next = e;
    e.prev = last;
    last = e;
  }
  return head;
}

// Removes a call and its return from the list; they keep their own links for `unlift`.
function lift(call: Entry): void {
  const ret = call.match as Entry;
  (call.prev as Entry).next = call.next;
  (call.next as Entry).prev = call.prev;
  (ret.prev as Entry).next = ret.next;
  if (ret.next) ret.next.prev = ret.prev;
}

// Exact reverse of `lift` (return first), valid because lifts and unlifts nest like a stack.
function unlift(call: Entry): void {
  const ret = call.match as Entry;
  (ret.prev as Entry).next = ret;
  if (ret.next) ret.next.prev = ret;
  (call.prev as Entry).next = call;
  (call.next as Entry).prev = call;
}

/**
 * The set of placed operations as 16-bit words, with a Zobrist hash (xor of one random word per
 * member) kept up to date on every change so that hashing it costs nothing.
 */
class Placed {
  readonly words: Uint16Array;
  hash = 0;
  constructor(size: number) {
    this.words = new Uint16Array(Math.max(1, Math.ceil(size / 16)));
  }
  toggle(i: number): void {
    this.words[i >> 4] = (this.words[i >> 4] as number) ^ (1 << (i & 15));
    this.hash ^= mix32(i + 1);
  }
}

/**
 * Wing & Gong's search with Lowe's memoisation ("just-in-time linearization"): walk the entry list;
 * at a call, try to place that operation next (the model accepts its output and the pair
 * (placed set, state) is new), then restart from the head; at a return, the operation returning
 * there was never placed, so undo the last placement and try the next candidate after it.
 */
function checkPartition<S, I, O>(
  model: LinearizabilityModel<S, I, O>,
  ops: readonly Operation<I, O>[],
  deadline: number,
): PartitionReport {
  const head = buildEntries(ops);
  const placed = new Placed(ops.length);
  const visited = new VisitedSet(placed.words.length);
  // State hashes interned as small integers: the memo then stores and compares numbers only.
  const stateIds = new Map<string, number>();
  const stackEntries: Entry[] = [];
  const stackStates: S[] = [];
  let state = model.init();
  let best: { prefix: number[]; stuck: { opIds: number[]; state: string } } | undefined;
  const ids = (entries: Entry[]) => entries.map((e) => (ops[e.index] as Operation<I, O>).id);
  let entry = head.next;
  let steps = 0;
  while (entry !== null) {
    if (++steps % DEADLINE_EVERY === 0 && performance.now() > deadline) {
      if (best === undefined) return { result: 'unknown', ops: ops.length, longestPrefix: [] };
      return { result: 'unknown', ops: ops.length, longestPrefix: best.prefix, stuck: best.stuck };
    }
    if (entry.isCall) {
      const op = ops[entry.index] as Operation<I, O>;
      const next = model.step(state, op.input, op.output);
      if (next !== undefined) {
        placed.toggle(entry.index);
        const stateHash = model.hash(next);
        let stateId = stateIds.get(stateHash);
        if (stateId === undefined) {
          stateId = stateIds.size;
          stateIds.set(stateHash, stateId);
        }
        if (visited.addIfNew(placed.hash ^ mix32(~stateId), stateId, placed.words)) {
          stackEntries.push(entry);
          stackStates.push(state);
          state = next;
          lift(entry);
          entry = head.next;
          continue;
        }
        placed.toggle(entry.index);
      }
      entry = entry.next;
    } else {
      // A dead end. Remember the deepest one: it is what a human needs to see.
      if (best === undefined || stackEntries.length > best.prefix.length) {
        const candidates: Entry[] = [];
        for (let e = head.next; e !== null && e !== entry; e = e.next) if (e.isCall) candidates.push(e);
        best = {
          prefix: ids(stackEntries),
          stuck: { opIds: ids(candidates), state: model.describeState?.(state) ?? model.hash(state) },
        };
      }
      const top = stackEntries.pop();
      if (top === undefined)
        return { result: 'not-linearizable', ops: ops.length, longestPrefix: best.prefix, stuck: best.stuck };
      state = stackStates.pop() as S;
      placed.toggle(top.index);
      unlift(top);
      entry = top.next;
    }
  }
  // Every operation placed: the stack is a linearization of the whole sub-history.
  return { result: 'linearizable', ops: ops.length, longestPrefix: ids(stackEntries) };
}

/**
 * Checks that `ops` is linearizable with respect to `model`. Splits the history first when the model
 * provides `partition`, and checks every part (one report each, in the model's order). Returns plain
 * data and never throws on a bad history; `unknown` when `timeoutMs` ran out and no part was illegal.
 */
export function checkOperations<S, I, O>(
  model: LinearizabilityModel<S, I, O>,
  ops: readonly Operation<I, O>[],
  options: CheckOptions = {},
): LinearizabilityReport {
  const start = performance.now();
  const deadline = start + (options.timeoutMs ?? Number.POSITIVE_INFINITY);
  const parts = model.partition ? model.partition(ops) : [ops];
  const partitions: PartitionReport[] = [];
  for (const part of parts) {
    partitions.push(checkPartition(model, part, deadline));
  }
  const results = partitions.map((p) => p.result);
  const result = results.includes('not-linearizable')
    ? 'not-linearizable'
    : results.includes('unknown')
      ? 'unknown'
      : 'linearizable';
  return { result, elapsedMs: performance.now() - start, partitions };
}
