import { AsyncLocalStorage } from 'node:async_hooks';

/** What an operation in progress accumulates while it runs (found through `Activity.context`). */
export interface OpTiming {
  /** Time its scheduled tasks sat ready, held back by the scheduler on purpose. */
  heldMs: number;
}

/**
 * Tells when the harness is busy: a network exchange in progress, a task the scheduler holds, or a
 * start the scheduler has not released yet. Time when none is busy is time the system under test
 * spends on its own (CPU, timers, waits on nothing); an operation that spans much of it is slow
 * for reasons of its own, which is what the latency bound catches: a pool that sleeps, polls or
 * waits for a timer, whatever the scheduler does.
 */
// One store for the process: every AsyncLocalStorage made stays on each promise's path until
// disabled, so one per run would slow every later run down.
const OP_CONTEXT = new AsyncLocalStorage<OpTiming>();

export class Activity {
  readonly context = OP_CONTEXT;
  #busy = 0;
  /** Scheduled tasks not yet settled: fast-check may release one before its exchange ends. */
  #tasks = 0;
  #idleSince = performance.now();
  #idleTotalMs = 0;

  /** Scheduled tasks whose exchange has not settled yet (released by the scheduler or not). */
  tasksInFlight(): number {
    return this.#tasks;
  }

  /** Idle time (ms) accumulated since the tracker was made, up to now. */
  idleMs(): number {
    return this.#busy === 0 ? this.#idleTotalMs + (performance.now() - this.#idleSince) : this.#idleTotalMs;
  }

  begin(): void {
    if (this.#busy === 0) this.#idleTotalMs += performance.now() - this.#idleSince;
    this.#busy += 1;
  }

  end(): void {
    this.#busy -= 1;
    if (this.#busy === 0) this.#idleSince = performance.now();
  }

  /**
   * Tracks one scheduled task: busy from its creation (the exchange starts) until the scheduler
   * releases it; the operation in context is charged the time between `inner` settling and the
   * release, which the scheduler chose.
   */
  scheduled<T>(inner: Promise<T>, schedule: (p: Promise<T>) => Promise<T>): Promise<T> {
    const op = this.context.getStore();
    let settledAt: number | undefined;
    const mark = () => {
      settledAt = performance.now();
    };
    inner.then(mark, mark);
    this.begin();
    this.#tasks += 1;
    const done = () => {
      this.end();
      this.#tasks -= 1;
      if (op && settledAt !== undefined) op.heldMs += performance.now() - settledAt;
    };
    const released = schedule(inner);
    released.then(done, done);
    return released;
  }
}
