/**
 * A history of operations as plain, serialisable data (the shape Jepsen uses): every operation
 * is an `invoke` followed by exactly one completion, `ok`, `fail` (a definite failure, with its
 * reason) or `info` (outcome unknown). Nothing is dropped: an operation whose completion never
 * arrives shows up as an invoke without completion, which the checkers report.
 */
export type OpType = 'invoke' | 'ok' | 'fail' | 'info';

export interface HistoryEvent {
  readonly index: number;
  /** ms since the history started (performance clock). */
  readonly timeMs: number;
  /** Which logical client issued the operation (e.g. `wave3/c2`, `cmd`). */
  readonly process: string;
  readonly type: OpType;
  /** The operation: `call`, `health`, `add`, `remove`, ... */
  readonly f: string;
  /** Operation id; an invoke and its completion share it. */
  readonly op: number;
  readonly value?: unknown;
}

export class History {
  readonly #events: HistoryEvent[] = [];
  readonly #start = performance.now();
  #nextOp = 1;

  /** Records an invoke and returns the op id its completion must carry. */
  invoke(process: string, f: string, value?: unknown): number {
    const op = this.#nextOp++;
    this.#push({ process, type: 'invoke', f, op, value });
    return op;
  }

  complete(op: number, type: Exclude<OpType, 'invoke'>, process: string, f: string, value?: unknown): void {
    this.#push({ process, type, f, op, value });
  }

  /** Records `promise` as one operation and returns it unchanged. */
  track<T>(process: string, f: string, value: unknown, promise: Promise<T>, describeError: (e: unknown) => string): Promise<T> {
    const op = this.invoke(process, f, value);
    promise.then(
      (v) => this.complete(op, 'ok', process, f, summarise(v)),
      (e: unknown) => this.complete(op, 'fail', process, f, describeError(e)),
    );
    return promise;
  }

  get events(): readonly HistoryEvent[] {
    return this.#events;
  }

  #push(e: Omit<HistoryEvent, 'index' | 'timeMs'>): void {
    this.#events.push({ index: this.#events.length, timeMs: performance.now() - this.#start, ...e });
  }
}

function summarise(v: unknown): unknown {
  if (v === undefined || v === null || typeof v !== 'object') return v;
  if ('requestId' in v) return { requestId: (v as { requestId: unknown }).requestId };
  return undefined;
}
