import type { Scheduler } from 'fast-check';
import { PoolClient } from '../src/client/pool-client.js';
import { History } from '../src/harness/history.js';
import type { ConnectionPool, ConnectionPoolOptions } from '../src/pool/connection-pool.js';
import type { PoolStats } from '../src/pool/pool-stats.js';
import { type Backend, CALL_DEADLINE_MS } from './backend.js';
import { type Observed, outcomeOfError } from './outcomes.js';

/** Makes the pool under test: the real `ConnectionPool` or a known-broken variant of it. */
export type PoolFactory = (options: ConnectionPoolOptions) => ConnectionPool;

/** One request of a wave, as it ended. */
export interface WaveRequestResult {
  readonly requestId: string;
  readonly address: number;
  readonly failCode: number;
  readonly outcome: Observed;
  readonly elapsedMs: number;
}

export type Settled<T> = { ok: true; value: T } | { ok: false; outcome: Observed; error: unknown };

/**
 * The real side of a model run: a backend's servers, the pool under test with its connector
 * wrapped by the scheduler, one client per address, the waves still running and the history.
 */
export class World {
  readonly history = new History();
  readonly pool: ConnectionPool;
  readonly clients: PoolClient[];
  readonly waves = new Map<number, Promise<WaveRequestResult[]>>();
  /** The last stats read, to check that counters never go backwards. */
  lastStats: PoolStats | undefined;
  #nextRequest = 1;

  constructor(
    readonly backend: Backend,
    readonly scheduler: Scheduler,
    makePool: PoolFactory,
    readonly runId: string,
  ) {
    this.pool = makePool({ connector: backend.connector(scheduler, this.history), name: `run-${runId}` });
    this.clients = backend.addresses.map((a) => new PoolClient(a, { pool: this.pool, deadlineMs: CALL_DEADLINE_MS }));
  }

  address(i: number): string {
    const a = this.backend.addresses[i];
    if (a === undefined) throw new RangeError(`no address ${i}`);
    return a;
  }

  client(i: number): PoolClient {
    const c = this.clients[i];
    if (!c) throw new RangeError(`no client ${i}`);
    return c;
  }

  /** A request id unique across runs, so a shared server's ledger can be read per run. */
  requestId(): string {
    return `${this.runId}-${this.#nextRequest++}`;
  }

  /** Runs `promise` to completion, letting the scheduler release whatever it needs meanwhile. */
  async settle<T>(promise: Promise<T>): Promise<Settled<T>> {
    return this.scheduler.waitFor(
      promise.then(
        (value): Settled<T> => ({ ok: true, value }),
        (error: unknown): Settled<T> => ({ ok: false, outcome: outcomeOfError(error), error }),
      ),
    );
  }

  /** Tears everything down, whatever state the run left it in. */
  async dispose(): Promise<void> {
    // Release every task the scheduler still holds, so that nothing waits on it forever.
    const closing = this.pool.close().catch(() => undefined);
    const waves = Promise.allSettled([...this.waves.values()]);
    await this.scheduler.waitFor(Promise.all([closing, waves]));
    await this.backend.dispose();
  }
}
