import { InvalidLoadPatternError, requirePositive, requirePositiveInteger } from './errors.js';
import { type LoadResult, LoadTally, type SendRequest } from './load-result.js';

export interface ClosedLoopOptions {
  /** Workers sending concurrently, each one request at a time. */
  readonly workers: number;
  /** Requests per worker; or give `durationMs`. */
  readonly requestsPerWorker?: number;
  /** Keep sending until this long has passed (requests in flight then finish). */
  readonly durationMs?: number;
  /** Stops every worker before its next request (requests in flight still settle). */
  readonly signal?: AbortSignal;
}

/** Closed loop: each worker sends its next request as soon as the previous one ends. */
export async function runClosedLoop(options: ClosedLoopOptions, send: SendRequest): Promise<LoadResult> {
  const { workers, requestsPerWorker, durationMs, signal } = options;
  requirePositiveInteger(workers, 'workers');
  if ((requestsPerWorker === undefined) === (durationMs === undefined)) {
    throw new InvalidLoadPatternError('a closed loop needs exactly one of requestsPerWorker or durationMs');
  }
  if (requestsPerWorker !== undefined) requirePositiveInteger(requestsPerWorker, 'requestsPerWorker');
  if (durationMs !== undefined) requirePositive(durationMs, 'durationMs');
  const tally = new LoadTally();
  const endAt = durationMs === undefined ? Number.POSITIVE_INFINITY : performance.now() + durationMs;
  const more = (seq: number): boolean =>
    !signal?.aborted && (requestsPerWorker === undefined ? performance.now() < endAt : seq < requestsPerWorker);
  const worker = async (w: number): Promise<void> => {
    for (let seq = 0; more(seq); seq++) await tally.send(send, { worker: w, seq });
  };
  await Promise.all(Array.from({ length: workers }, (_, w) => worker(w)));
  return tally.result();
}
