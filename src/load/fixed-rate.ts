import { requirePositive, requirePositiveInteger } from './errors.js';
import { type LoadResult, LoadTally, type SendRequest } from './load-result.js';

export interface FixedRateOptions {
  /** Requests per second over all workers. */
  readonly ratePerSec: number;
  readonly durationMs: number;
  /** Request k goes to worker k mod workers (labels only: sending does not wait on a worker). Default 1. */
  readonly workers?: number;
}

export interface FixedRateResult extends LoadResult {
  /** Requests the schedule prescribed: floor(rate x duration). */
  readonly scheduled: number;
  readonly achievedRatePerSec: number;
  /** Largest delay between a request's intended start and its actual start, ms. */
  readonly maxLatenessMs: number;
}

/**
 * Open loop: request k is sent at start + k / rate, against the clock, whether or not earlier
 * requests have finished (as wrk2 does). The intended start goes with each request, so latency can
 * be measured from it (no coordinated omission).
 */
export async function runFixedRate(options: FixedRateOptions, send: SendRequest): Promise<FixedRateResult> {
  const { ratePerSec, durationMs } = options;
  const workers = options.workers ?? 1;
  requirePositive(ratePerSec, 'ratePerSec');
  requirePositive(durationMs, 'durationMs');
  requirePositiveInteger(workers, 'workers');
  const tally = new LoadTally();
  const scheduled = Math.floor((ratePerSec * durationMs) / 1000);
  const intervalMs = 1000 / ratePerSec;
  const start = performance.now();
  const inFlight: Promise<void>[] = [];
  let maxLatenessMs = 0;
  let next = 0;
  await new Promise<void>((resolve) => {
    const tick = (): void => {
      const now = performance.now();
      // Send every request whose time has come (several, if the event loop was late).
      while (next < scheduled && start + next * intervalMs <= now) {
        const intendedStartMs = start + next * intervalMs;
        maxLatenessMs = Math.max(maxLatenessMs, now - intendedStartMs);
        inFlight.push(tally.send(send, { worker: next % workers, seq: next, intendedStartMs }));
        next += 1;
      }
      if (next >= scheduled) resolve();
      else setTimeout(tick, Math.max(0, start + next * intervalMs - performance.now()));
    };
    tick();
  });
  await Promise.all(inFlight);
  const result = tally.result();
  const sendWindowMs = Math.max(durationMs, 1);
  return { ...result, scheduled, achievedRatePerSec: (result.issued / sendWindowMs) * 1000, maxLatenessMs };
}
