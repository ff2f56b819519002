import { InvalidLoadPatternError, requirePositive, requirePositiveInteger } from './errors.js';
import { type LoadResult, LoadTally, type SendRequest } from './load-result.js';

/** `size` requests at once, then the next burst when all have ended; `bursts` times (fewer if `signal` stops it). */
export async function runBursts(
  options: { bursts: number; size: number; signal?: AbortSignal },
  send: SendRequest,
): Promise<LoadResult> {
  requirePositiveInteger(options.bursts, 'bursts');
  requirePositiveInteger(options.size, 'size');
  const tally = new LoadTally();
  for (let b = 0; b < options.bursts && !options.signal?.aborted; b++) {
    await Promise.all(Array.from({ length: options.size }, (_, i) => tally.send(send, { worker: i, seq: b })));
  }
  return tally.result();
}

/**
 * Stage by stage, more clients at once (e.g. 5 -> 10 -> 15 -> 20), each sending
 * `requestsPerClient` requests one after another; a stage starts when the previous has ended.
 */
export async function runRamp(
  options: { stages: readonly number[]; requestsPerClient: number },
  send: SendRequest,
): Promise<LoadResult[]> {
  if (options.stages.length === 0) throw new InvalidLoadPatternError('ramp needs at least one stage');
  for (const s of options.stages) requirePositiveInteger(s, 'ramp stage client count');
  requirePositiveInteger(options.requestsPerClient, 'requestsPerClient');
  const results: LoadResult[] = [];
  let workerBase = 0;
  for (const clients of options.stages) {
    const tally = new LoadTally();
    const base = workerBase;
    await Promise.all(
      Array.from({ length: clients }, async (_, c) => {
        for (let seq = 0; seq < options.requestsPerClient; seq++) await tally.send(send, { worker: base + c, seq });
      }),
    );
    workerBase += clients;
    results.push(tally.result());
  }
  return results;
}

export interface SpikeOptions {
  /** Requests sent at once (worker 0..spikeClients-1). */
  readonly spikeClients: number;
  /** Cool-down: this many requests one after another (worker `spikeClients`); or give `cooldownMs`. */
  readonly cooldownRequests?: number;
  /** Or: requests one after another until this long after the spike started (spike and cool-down together). */
  readonly durationMs?: number;
  /** Stops the cool-down before its next request. */
  readonly signal?: AbortSignal;
}

/** A spike of `spikeClients` requests at once, then a cool-down of requests sent one after another. */
export async function runSpike(options: SpikeOptions, send: SendRequest): Promise<{ spike: LoadResult; cooldown: LoadResult }> {
  const { spikeClients, cooldownRequests, durationMs, signal } = options;
  requirePositiveInteger(spikeClients, 'spikeClients');
  if ((cooldownRequests === undefined) === (durationMs === undefined)) {
    throw new InvalidLoadPatternError('a spike needs exactly one of cooldownRequests or durationMs');
  }
  if (cooldownRequests !== undefined) requirePositiveInteger(cooldownRequests, 'cooldownRequests');
  if (durationMs !== undefined) requirePositive(durationMs, 'durationMs');
  const endAt = performance.now() + (durationMs ?? Number.POSITIVE_INFINITY);
  const spikeTally = new LoadTally();
  await Promise.all(Array.from({ length: spikeClients }, (_, i) => spikeTally.send(send, { worker: i, seq: 0 })));
  const coolTally = new LoadTally();
  const more = (seq: number): boolean =>
    !signal?.aborted && (cooldownRequests === undefined ? performance.now() < endAt : seq < cooldownRequests);
  for (let seq = 0; more(seq); seq++) await coolTally.send(send, { worker: spikeClients, seq });
  return { spike: spikeTally.result(), cooldown: coolTally.result() };
}
