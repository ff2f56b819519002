import { InvalidLoadPatternError, requirePositiveInteger } from './errors.js';
import { type LoadResult, LoadTally, type SendRequest } from './load-result.js';

/** `size` requests at once, then the next burst when all have ended; `bursts` times. */
export async function runBursts(options: { bursts: number; size: number }, send: SendRequest): Promise<LoadResult> {
  requirePositiveInteger(options.bursts, 'bursts');
  requirePositiveInteger(options.size, 'size');
  const tally = new LoadTally();
  for (let b = 0; b < options.bursts; b++) {
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

/** A spike of `spikeClients` requests at once, then a cool-down of `cooldownRequests` sent one after another. */
export async function runSpike(
  options: { spikeClients: number; cooldownRequests: number },
  send: SendRequest,
): Promise<{ spike: LoadResult; cooldown: LoadResult }> {
  requirePositiveInteger(options.spikeClients, 'spikeClients');
  requirePositiveInteger(options.cooldownRequests, 'cooldownRequests');
  const spikeTally = new LoadTally();
  await Promise.all(Array.from({ length: options.spikeClients }, (_, i) => spikeTally.send(send, { worker: i, seq: 0 })));
  const coolTally = new LoadTally();
  for (let seq = 0; seq < options.cooldownRequests; seq++) await coolTally.send(send, { worker: options.spikeClients, seq });
  return { spike: spikeTally.result(), cooldown: coolTally.result() };
}
