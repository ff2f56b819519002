import type { Scheduler } from 'fast-check';
import { History } from '../src/harness/history.js';
import type { LoadTestMetrics } from '../src/metrics/load-test-metrics.js';
import type { HealthStatus, UnaryReply } from '../src/pool/connector.js';
import { newRunMetrics, type PoolAdapter, type PoolCounters, type PoolUnderTest } from './adapter/adapter.js';
import { type Backend, CALL_DEADLINE_MS, LATE_CALL } from './backend.js';
import { ModelDisagreement, type Observed, outcomeOfError } from './outcomes.js';

/** One request of a wave, as it ended. */
export interface WaveRequestResult {
  readonly requestId: string;
  readonly address: number;
  readonly failCode: number;
  readonly outcome: Observed;
}

/** Longest one step may take: live calls have a 3 s deadline, plus drains and a loaded machine. */
const STEP_LIMIT_MS = { live: 15_000, simulated: 1_000 } as const;

/** Longest the end-of-run teardown waits for the pool to close (the simulated layer has no I/O to wait for). */
const DISPOSE_LIMIT_MS = { live: 5_000, simulated: 500 } as const;

export type Settled<T> = { ok: true; value: T } | { ok: false; outcome: Observed; error: unknown };

/**
 * The real side of a model run: a backend's servers, the pool under test with its connector
 * wrapped by the scheduler, one client per address, the waves still running and the history.
 */
export class World {
  readonly history = new History();
  readonly pool: PoolUnderTest;
  /** The pool records calls here (where its adapter says it does): its counts must agree with `tally`. */
  readonly metrics: LoadTestMetrics;
  /** Calls made through the pool and how each ended, counted by the harness as it saw them. */
  readonly tally = { calls: 0, succeeded: 0, failed: 0 };
  readonly waves = new Map<number, Promise<WaveRequestResult[]>>();
  /** Every request a wave issued, by id, recorded before the call is made: settled or not. */
  readonly issued = new Map<string, { readonly wave: number; settled: boolean }>();
  /** The last stats read, to check that counters never go backwards. */
  lastStats: PoolCounters | undefined;
  #nextRequest = 1;

  constructor(
    readonly backend: Backend,
    readonly scheduler: Scheduler,
    readonly adapter: PoolAdapter,
    readonly runId: string,
  ) {
    this.metrics = newRunMetrics(adapter);
    const connector = backend.network.connector(scheduler, this.history, undefined, adapter.liveConnector);
    this.pool = adapter.create({ connector, name: `run-${runId}`, deadlineMs: CALL_DEADLINE_MS, metrics: this.metrics });
  }

  address(i: number): string {
    const a = this.backend.addresses[i];
    if (a === undefined) throw new RangeError(`no address ${i}`);
    return a;
  }

  /** A call to address `i` through the pool, counted in `tally` as the harness sees it end. */
  async call(
    i: number,
    request: { requestId: string; failCode?: number; delayMs?: number },
    options?: { deadlineMs: number },
  ): Promise<UnaryReply> {
    this.tally.calls += 1;
    try {
      const reply = await this.pool.call(this.address(i), request, options);
      this.tally.succeeded += 1;
      return reply;
    } catch (error) {
      this.tally.failed += 1;
      throw error;
    }
  }

  add(i: number): Promise<void> {
    if (!this.pool.add) throw new RangeError('this pool offers no add');
    return this.pool.add(this.address(i));
  }

  remove(i: number): Promise<boolean> {
    if (!this.pool.remove) throw new RangeError('this pool offers no remove');
    return this.pool.remove(this.address(i));
  }

  /** The pool's counters (only where the adapter offers them). */
  stats(): PoolCounters {
    if (!this.pool.stats) throw new RangeError('this pool offers no stats');
    return this.pool.stats();
  }

  /**
   * A late call to `i` (see `LATE_CALL`): the server answers after the call's own deadline, so the
   * only legal outcome on a reachable server is DEADLINE_EXCEEDED (the model says so); the caller-side
   * bound of every call (`finalChecks`) holds for it too.
   */
  lateCall(i: number, requestId: string): Promise<UnaryReply> {
    return this.call(i, { requestId, delayMs: LATE_CALL.delayMs }, { deadlineMs: LATE_CALL.deadlineMs });
  }

  /** A health check of address `i` through the pool (only where the adapter offers it). */
  health(i: number): Promise<HealthStatus> {
    if (!this.pool.health) throw new RangeError('this pool offers no health check');
    return this.pool.health(this.address(i));
  }

  /** A request id unique across runs, so a shared server's ledger can be read per run. */
  requestId(): string {
    return `${this.runId}-${this.#nextRequest++}`;
  }

  /** Runs `promise` to completion (see `bounded`), as a result or the model's word for its error. */
  settle<T>(promise: Promise<T>): Promise<Settled<T>> {
    return this.bounded(
      promise.then(
        (value): Settled<T> => ({ ok: true, value }),
        (error: unknown): Settled<T> => ({ ok: false, outcome: outcomeOfError(error), error }),
      ),
    );
  }

  /**
   * Waits for `promise`, letting the scheduler release whatever it needs meanwhile. A step that
   * never settles (a drain waiting on a lease that is never released) fails the run at once with a
   * clear message instead of hanging until the property's timeout.
   */
  async bounded<T>(promise: Promise<T>): Promise<T> {
    let timer: NodeJS.Timeout | undefined;
    const limitMs = STEP_LIMIT_MS[this.backend.layer];
    const hung = new Promise<never>((_, reject) => {
      timer = setTimeout(() => reject(new ModelDisagreement(`a step did not settle within ${limitMs} ms (hung)`)), limitMs);
    });
    try {
      return await Promise.race([this.scheduler.waitFor(promise), hung]);
    } finally {
      clearTimeout(timer);
    }
  }

  /** Tears everything down, whatever state the run left it in. */
  async dispose(): Promise<void> {
    // Release every task the scheduler still holds, so that nothing waits on it forever, but do not
    // wait forever either: a pool whose close never finishes (a lease never released) is a failure.
    const closing = this.pool.close().catch(() => undefined);
    const waves = Promise.allSettled([...this.waves.values()]);
    let timer: NodeJS.Timeout | undefined;
    const gaveUp = new Promise<'gave-up'>((resolve) => {
      timer = setTimeout(() => resolve('gave-up'), DISPOSE_LIMIT_MS[this.backend.layer]);
    });
    const outcome = await Promise.race([this.scheduler.waitFor(Promise.all([closing, waves])), gaveUp]);
    clearTimeout(timer);
    await this.backend.dispose();
    if (outcome === 'gave-up') {
      throw new ModelDisagreement(
        `the pool's close() did not finish within ${DISPOSE_LIMIT_MS[this.backend.layer]} ms (a lease never released, or a drain that never ends)`,
      );
    }
  }
}
