import { createLatencyHistogram, type LatencyHistogram } from '../metrics/latency-histogram.js';
import { requirePositive, requirePositiveInteger } from './errors.js';
import { type LoadResult, LoadTally, type SendRequest } from './load-result.js';

/** Default bound on requests in flight of an open-loop sender. */
export const DEFAULT_MAX_IN_FLIGHT = 1_000;

export interface FixedRateOptions {
  /** Requests per second over all workers. */
  readonly ratePerSec: number;
  readonly durationMs: number;
  /** Request k goes to worker k mod workers (labels only: sending does not wait on a worker). Default 1. */
  readonly workers?: number;
  /**
   * Most requests in flight at once (default 1 000). When a request's time comes and this many are
   * in flight, it is not sent: it is counted in `notSentSaturated` and the schedule moves on, so a
   * sender that cannot keep up reports it instead of piling up requests it can never finish.
   */
  readonly maxInFlight?: number;
  /** Stops the schedule (requests in flight still settle; the result says `stoppedEarly`). */
  readonly signal?: AbortSignal;
}

export interface FixedRateResult extends LoadResult {
  readonly requestedRatePerSec: number;
  /** Slots whose time came: floor(rate x duration), fewer when stopped early. Sent + not sent. */
  readonly scheduled: number;
  /** Slots skipped because `maxInFlight` requests were in flight ("not sent: generator saturated"). */
  readonly notSentSaturated: number;
  /** performance.now() of the first and last actual send (undefined when nothing was sent). */
  readonly firstSendMs: number | undefined;
  readonly lastSendMs: number | undefined;
  /** From the actual send times: (sent - 1) / (last send - first send); 0 with fewer than 2 sends. */
  readonly achievedRatePerSec: number;
  /** Largest delay between a sent request's intended start and its actual send, ms. */
  readonly maxLatenessMs: number;
  /** Actual send minus intended start, per sent request (µs). */
  readonly latenessUs: LatencyHistogram;
  /** Settled minus intended start, per sent request (µs): latency without coordinated omission, as wrk2 measures it. */
  readonly fromIntendedStartUs: LatencyHistogram;
  /** Settled minus actual send, per sent request (µs): the service time alone. */
  readonly serviceTimeUs: LatencyHistogram;
  /** Most requests in flight at any one time. */
  readonly maxInFlightSeen: number;
  /** The signal stopped the schedule before its end. */
  readonly stoppedEarly: boolean;
}

/**
 * Open loop: request k is due at start + k / rate, against the clock, whether or not earlier
 * requests have finished (as wrk2 does). Each request carries its intended start, and the run
 * measures latency from it, so a late sender shows up in the figures (no coordinated omission).
 * What it reports comes from what really happened: actual send times, lateness, requests not sent.
 */
export class FixedRateRun {
  readonly #send: SendRequest;
  readonly #rate: number;
  readonly #durationMs: number;
  readonly #workers: number;
  readonly #maxInFlight: number;
  readonly #signal: AbortSignal | undefined;
  readonly #tally = new LoadTally();
  readonly #lateness = createLatencyHistogram();
  readonly #fromIntended = createLatencyHistogram();
  readonly #service = createLatencyHistogram();
  readonly #settled = new Set<Promise<void>>();
  #next = 0;
  #notSent = 0;
  #firstSendMs: number | undefined;
  #lastSendMs: number | undefined;
  #maxLatenessMs = 0;
  #maxInFlightSeen = 0;
  #stoppedEarly = false;
  #started = false;

  constructor(options: FixedRateOptions, send: SendRequest) {
    const { ratePerSec, durationMs } = options;
    requirePositive(ratePerSec, 'ratePerSec');
    requirePositive(durationMs, 'durationMs');
    this.#workers = options.workers ?? 1;
    requirePositiveInteger(this.#workers, 'workers');
    this.#maxInFlight = options.maxInFlight ?? DEFAULT_MAX_IN_FLIGHT;
    requirePositiveInteger(this.#maxInFlight, 'maxInFlight');
    this.#rate = ratePerSec;
    this.#durationMs = durationMs;
    this.#signal = options.signal;
    this.#send = send;
  }

  /** Runs the schedule, then waits for the requests in flight; once per instance. */
  async run(): Promise<FixedRateResult> {
    if (this.#started) throw new Error('a FixedRateRun runs once');
    this.#started = true;
    const total = slotCount(this.#rate, this.#durationMs);
    const intervalMs = 1000 / this.#rate;
    const start = performance.now();
    const signal = this.#signal;
    await new Promise<void>((resolve) => {
      let timer: NodeJS.Timeout | undefined;
      const finish = (): void => {
        clearTimeout(timer);
        signal?.removeEventListener('abort', onAbort);
        resolve();
      };
      const onAbort = (): void => {
        if (this.#next < total) this.#stoppedEarly = true;
        finish();
      };
      const tick = (): void => {
        // Every slot whose time has come is sent now (several, if the event loop was late), or
        // counted as not sent when the in-flight bound is reached.
        // An abort from inside a send (the CLI's all-failed rule) stops a catch-up burst at once.
        while (!signal?.aborted && this.#next < total && start + this.#next * intervalMs <= performance.now()) {
          const seq = this.#next;
          this.#next += 1;
          if (this.#tally.inFlight >= this.#maxInFlight) this.#notSent += 1;
          else this.#sendOne(seq, start + seq * intervalMs);
        }
        if (signal?.aborted) return; // onAbort has finished the run
        if (this.#next >= total) finish();
        else timer = setTimeout(tick, Math.max(0, start + this.#next * intervalMs - performance.now()));
      };
      if (signal?.aborted) return onAbort();
      signal?.addEventListener('abort', onAbort, { once: true });
      tick();
    });
    while (this.#settled.size > 0) await Promise.all(this.#settled);
    return this.snapshot();
  }

  /** What happened so far; callable at any time (requests still in flight are `issued - succeeded - failed`). */
  snapshot(): FixedRateResult {
    const result = this.#tally.result();
    const span = (this.#lastSendMs ?? 0) - (this.#firstSendMs ?? 0);
    return {
      ...result,
      requestedRatePerSec: this.#rate,
      scheduled: this.#next,
      notSentSaturated: this.#notSent,
      firstSendMs: this.#firstSendMs,
      lastSendMs: this.#lastSendMs,
      achievedRatePerSec: result.issued >= 2 && span > 0 ? ((result.issued - 1) / span) * 1000 : 0,
      maxLatenessMs: this.#maxLatenessMs,
      latenessUs: this.#lateness,
      fromIntendedStartUs: this.#fromIntended,
      serviceTimeUs: this.#service,
      maxInFlightSeen: this.#maxInFlightSeen,
      stoppedEarly: this.#stoppedEarly,
    };
  }

  #sendOne(seq: number, intendedStartMs: number): void {
    const sentAt = performance.now();
    this.#firstSendMs ??= sentAt;
    this.#lastSendMs = sentAt;
    this.#maxLatenessMs = Math.max(this.#maxLatenessMs, sentAt - intendedStartMs);
    const done = this.#tally.send(this.#send, { worker: seq % this.#workers, seq, intendedStartMs }).then(() => {
      const end = performance.now();
      this.#fromIntended.recordValue(toUs(end - intendedStartMs));
      this.#service.recordValue(toUs(end - sentAt));
      this.#settled.delete(done);
    });
    // Recorded once the request is out: nothing between reading the clock and sending (a histogram
    // growing to a new range takes a moment; under load that put 3 ms between the two).
    this.#lateness.recordValue(toUs(sentAt - intendedStartMs));
    this.#settled.add(done);
    this.#maxInFlightSeen = Math.max(this.#maxInFlightSeen, this.#tally.inFlight);
  }
}

/** Runs an open-loop schedule to its end (see `FixedRateRun`). */
export async function runFixedRate(options: FixedRateOptions, send: SendRequest): Promise<FixedRateResult> {
  return new FixedRateRun(options, send).run();
}

/**
 * floor(rate x duration), the schedule's slots, as the numbers mean it: in binary, 4.1/s x 30 s is
 * 122.99999999999999, whose floor is one slot short. A product within a billionth of a whole number
 * is that number (far above the rounding error, far below any fraction a caller means).
 */
export function slotCount(ratePerSec: number, durationMs: number): number {
  const exact = (ratePerSec * durationMs) / 1000;
  const nearest = Math.round(exact);
  return Math.abs(exact - nearest) <= 1e-9 * Math.max(1, nearest) ? nearest : Math.floor(exact);
}

// HdrHistogram records whole µs >= 1 (its lowest discernible value).
const toUs = (ms: number): number => Math.max(1, Math.round(ms * 1000));
