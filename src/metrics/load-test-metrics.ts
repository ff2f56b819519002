import { InvalidMetricError } from './errors.js';
import {
  createLatencyHistogram,
  decodeHistogram,
  encodeHistogram,
  type LatencyHistogram,
  MAX_TRACKED_LATENCY_US,
} from './latency-histogram.js';

// Layout of the shared buffer: one 64-bit slot for the latency sum, then 32-bit counters.
const SUM_BYTES = 8;
const TOTAL = 0;
const SUCCESSFUL = 1;
const FAILED = 2;
const ACTIVE_CLIENTS = 3;
const MIN_US = 4;
const MAX_US = 5;
const COUNTERS = 6;
const BUFFER_BYTES = SUM_BYTES + COUNTERS * Int32Array.BYTES_PER_ELEMENT;
const NO_MIN = 0x7fffffff;

/** The seed's counters as plain numbers, read at one instant. */
export interface MetricsCounts {
  readonly totalRequests: number;
  readonly successfulRequests: number;
  readonly failedRequests: number;
  readonly totalLatencyUs: number;
  /** 0 when nothing was recorded. */
  readonly minLatencyUs: number;
  readonly maxLatencyUs: number;
  /** Clients with at least one call in flight right now (see `LoadTestMetrics.clientStarted`). */
  readonly activeClients: number;
}

/**
 * The seed's LoadTestMetrics: total, successful and failed requests, total/min/max latency in µs
 * and active clients, kept with Atomics in a SharedArrayBuffer, so that several worker_threads
 * can record into one instance without losing an update (pass `buffer` to a worker and build it
 * there with `LoadTestMetrics.attach`).
 *
 * Latency percentiles come from a per-thread HdrHistogram: a worker sends `exportHistogram()` back
 * and the owner adds it with `mergeHistogram`.
 *
 * `total` is incremented before `successful`/`failed`, and `counts()` reads them in the other order,
 * so `successful + failed <= total` holds in every snapshot, even while workers are recording.
 */
export class LoadTestMetrics {
  readonly buffer: SharedArrayBuffer;
  readonly #sum: BigInt64Array;
  readonly #counters: Int32Array;
  /** Made at the first latency recorded or asked for: a run that records none allocates none. */
  #histogramMade: LatencyHistogram | undefined;

  constructor(buffer?: SharedArrayBuffer) {
    if (buffer !== undefined && (!(buffer instanceof SharedArrayBuffer) || buffer.byteLength !== BUFFER_BYTES)) {
      throw new InvalidMetricError(
        `LoadTestMetrics needs the SharedArrayBuffer of another LoadTestMetrics (${BUFFER_BYTES} bytes); got ${describe(buffer)}`,
      );
    }
    this.buffer = buffer ?? new SharedArrayBuffer(BUFFER_BYTES);
    this.#sum = new BigInt64Array(this.buffer, 0, 1);
    this.#counters = new Int32Array(this.buffer, SUM_BYTES, COUNTERS);
    if (buffer === undefined) Atomics.store(this.#counters, MIN_US, NO_MIN);
  }

  /** A view of the same counters (for example inside a worker thread) with its own histogram. */
  static attach(buffer: SharedArrayBuffer): LoadTestMetrics {
    return new LoadTestMetrics(buffer);
  }

  recordSuccess(latencyUs: number): void {
    this.#record(SUCCESSFUL, latencyUs);
  }

  recordFailure(latencyUs: number): void {
    this.#record(FAILED, latencyUs);
  }

  /**
   * A client became active. `PoolClient` calls it when it goes from no call in flight to one, and
   * `clientFinished` when its last call in flight ends (success or failure): `activeClients` is the
   * number of clients with at least one call outstanding, 0 once every call has settled.
   */
  clientStarted(): void {
    Atomics.add(this.#counters, ACTIVE_CLIENTS, 1);
  }

  /** A client's last call in flight ended (see `clientStarted`). */
  clientFinished(): void {
    Atomics.sub(this.#counters, ACTIVE_CLIENTS, 1);
  }

  counts(): MetricsCounts {
    const successfulRequests = Atomics.load(this.#counters, SUCCESSFUL);
    const failedRequests = Atomics.load(this.#counters, FAILED);
    const totalLatencyUs = Number(Atomics.load(this.#sum, 0));
    const totalRequests = Atomics.load(this.#counters, TOTAL);
    const min = Atomics.load(this.#counters, MIN_US);
    return {
      totalRequests,
      successfulRequests,
      failedRequests,
      totalLatencyUs,
      minLatencyUs: min === NO_MIN ? 0 : min,
      maxLatencyUs: Atomics.load(this.#counters, MAX_US),
      activeClients: Atomics.load(this.#counters, ACTIVE_CLIENTS),
    };
  }

  /** This thread's latency histogram (µs). */
  get histogram(): LatencyHistogram {
    return this.#histogram;
  }

  get #histogram(): LatencyHistogram {
    this.#histogramMade ??= createLatencyHistogram();
    return this.#histogramMade;
  }

  exportHistogram(): string {
    return encodeHistogram(this.#histogram);
  }

  /** Adds a histogram exported by another thread into this one. */
  mergeHistogram(encoded: string): void {
    if (typeof encoded !== 'string' || encoded === '') {
      throw new InvalidMetricError('mergeHistogram needs the string returned by exportHistogram()');
    }
    this.#histogram.add(decodeHistogram(encoded));
  }

  #record(outcome: number, latencyUs: number): void {
    if (!(latencyUs >= 0) || !Number.isFinite(latencyUs)) {
      throw new InvalidMetricError(`latency must be a finite number of µs >= 0; got ${latencyUs}`);
    }
    const us = Math.min(Math.round(latencyUs), MAX_TRACKED_LATENCY_US);
    const c = this.#counters;
    Atomics.add(c, TOTAL, 1);
    Atomics.add(this.#sum, 0, BigInt(us));
    let seen = Atomics.load(c, MIN_US);
    while (us < seen) {
      const prev = Atomics.compareExchange(c, MIN_US, seen, us);
      if (prev === seen) break;
      seen = prev;
    }
    seen = Atomics.load(c, MAX_US);
    while (us > seen) {
      const prev = Atomics.compareExchange(c, MAX_US, seen, us);
      if (prev === seen) break;
      seen = prev;
    }
    Atomics.add(c, outcome, 1);
    this.#histogram.recordValue(Math.max(us, 1));
  }
}

function describe(value: unknown): string {
  if (value instanceof ArrayBuffer) return `an ArrayBuffer of ${value.byteLength} bytes`;
  if (value instanceof SharedArrayBuffer) return `a SharedArrayBuffer of ${value.byteLength} bytes`;
  return typeof value;
}
