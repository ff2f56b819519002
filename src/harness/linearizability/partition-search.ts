import type { LinearizabilityModel, Operation, PartitionReport, UnknownReason } from './model.js';
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

/** Memo entries held by every search alive at once, against `CheckOptions.maxStates`. */
export class MemoBudget {
  used = 0;
  constructor(readonly max: number) {}
}

// Which model function the search is in, so that an exception can be named in the report.
type Phase = 'init' | 'step' | 'hash' | 'describeState';

function describeError(error: unknown): string {
  return error instanceof Error ? `${error.name}: ${error.message}` : String(error);
}

/** How a search ended, before the part's size and memo count are added. */
interface Outcome {
  readonly result: PartitionReport['result'];
  readonly longestPrefix: number[];
  readonly stuck?: Deepest['stuck'];
  readonly reason?: UnknownReason;
  readonly error?: string;
}

interface Deepest {
  readonly prefix: number[];
  readonly stuck: { readonly opIds: number[]; readonly state: string };
}

/**
 * The search of one sub-history, resumable so that `checkOperations` can take turns between parts:
 * Wing & Gong's search with Lowe's memoisation ("just-in-time linearization"). Walk the entry
 * list; at a call, try to place that operation next (the model accepts its output and the pair
 * (placed set, state) is new), then restart from the head; at a return, the operation returning
 * there was never placed, so undo the last placement and try the next candidate after it.
 * Every model call is guarded: an exception ends this part as `unknown` (reason `model-error`).
 */
export class PartitionSearch<S, I, O> {
  private readonly head: Entry;
  private readonly placed: Placed;
  private readonly visited: VisitedSet;
  // State hashes interned as small integers: the memo then stores and compares numbers only.
  private readonly stateIds = new Map<string, number>();
  private readonly stackEntries: Entry[] = [];
  private readonly stackStates: S[] = [];
  private started = false;
  private state: S | undefined;
  private cursor: Entry | null;
  private deepest: Deepest | undefined;
  // Memo entries this search charged to the budget; given back when it ends.
  private held = 0;

  constructor(
    private readonly model: LinearizabilityModel<S, I, O>,
    private readonly ops: readonly Operation<I, O>[],
    private readonly label: string | undefined,
    private readonly budget: MemoBudget,
  ) {
    this.head = buildEntries(ops);
    this.placed = new Placed(ops.length);
    this.visited = new VisitedSet(this.placed.words.length);
    this.cursor = this.head.next;
  }

  /** Searches at most `steps` more steps; the part's report once the search has ended, else undefined. */
  run(steps: number): PartitionReport | undefined {
    const { model, ops, head, placed, visited, stateIds, stackEntries, stackStates, budget } = this;
    let entry = this.cursor;
    let phase: Phase = 'init';
    try {
      if (!this.started) {
        this.state = model.init();
        this.started = true;
      }
      let state = this.state as S;
      for (let n = 0; n < steps; n++) {
        if (entry === null) {
          // Every operation placed: the stack is a linearization of the whole sub-history.
          return this.end({ result: 'linearizable', longestPrefix: this.ids(stackEntries) });
        }
        if (entry.isCall) {
          const op = ops[entry.index] as Operation<I, O>;
          phase = 'step';
          const next = model.step(state, op.input, op.output);
          if (next !== undefined) {
            placed.toggle(entry.index);
            phase = 'hash';
            const stateHash = model.hash(next);
            let stateId = stateIds.get(stateHash);
            if (stateId === undefined) {
              stateId = stateIds.size;
              stateIds.set(stateHash, stateId);
              this.held++;
              if (++budget.used > budget.max) return this.stop('unknown', 'memory');
            }
            if (visited.addIfNew(placed.hash ^ mix32(~stateId), stateId, placed.words)) {
              this.held++;
              if (++budget.used > budget.max) return this.stop('unknown', 'memory');
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
          if (this.deepest === undefined || stackEntries.length > this.deepest.prefix.length) {
            phase = 'describeState';
            this.deepest = this.deadEnd(entry, state);
          }
          const top = stackEntries.pop();
          if (top === undefined) return this.end({ result: 'not-linearizable', ...this.deepestPrefix() });
          state = stackStates.pop() as S;
          placed.toggle(top.index);
          unlift(top);
          entry = top.next;
        }
      }
      this.state = state;
      this.cursor = entry;
      return undefined;
    } catch (error) {
      const on = phase === 'step' && entry !== null ? ` on op #${(ops[entry.index] as Operation<I, O>).id}` : '';
      return this.end({
        result: 'unknown',
        reason: 'model-error',
        error: `model.${phase}() threw${on}: ${describeError(error)}`,
        ...this.deepestPrefix(),
      });
    }
  }

  /**
   * Ends the search unfinished: `unknown` (with the deepest prefix found so far) when it ran out of
   * time or memory, `not-checked` when another part already decided the verdict.
   */
  stop(result: 'unknown' | 'not-checked', reason?: Exclude<UnknownReason, 'model-error'>): PartitionReport {
    if (result === 'not-checked') return this.end({ result, longestPrefix: [] });
    return this.end({ result, reason, ...this.deepestPrefix() });
  }

  private deadEnd(at: Entry, state: S): Deepest {
    const candidates: Entry[] = [];
    for (let e = this.head.next; e !== null && e !== at; e = e.next) if (e.isCall) candidates.push(e);
    return {
      prefix: this.ids(this.stackEntries),
      stuck: { opIds: this.ids(candidates), state: this.model.describeState?.(state) ?? this.model.hash(state) },
    };
  }

  private deepestPrefix(): Pick<Outcome, 'longestPrefix' | 'stuck'> {
    return this.deepest === undefined ? { longestPrefix: [] } : { longestPrefix: this.deepest.prefix, stuck: this.deepest.stuck };
  }

  private ids(entries: Entry[]): number[] {
    return entries.map((e) => (this.ops[e.index] as Operation<I, O>).id);
  }

  // The report, with the memo's entries given back to the budget (the caller drops this search).
  private end(outcome: Outcome): PartitionReport {
    this.budget.used -= this.held;
    this.held = 0;
    return {
      result: outcome.result,
      ...(this.label !== undefined && { label: this.label }),
      ops: this.ops.length,
      longestPrefix: outcome.longestPrefix,
      ...(outcome.stuck && { stuck: outcome.stuck }),
      statesExplored: this.visited.size,
      ...(outcome.reason && { reason: outcome.reason }),
      ...(outcome.error !== undefined && { error: outcome.error }),
    };
  }
}
