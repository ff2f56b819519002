import * as grpc from '@grpc/grpc-js';
import { expect } from 'vitest';
import type { RequestContext, SendRequest } from '../src/load/load-result.js';
import { LoadTestMetrics } from '../src/metrics/load-test-metrics.js';
import { type MetricsSummary, summarize } from '../src/metrics/metrics-summary.js';
import { loadTestProto } from '../src/proto/load-test-proto.js';
import type { TestServer } from '../src/server/test-server.js';
import { SEED_AVG_LATENCY_BOUND_US, SEED_MAX_LATENCY_BOUND_US } from './support.js';

/**
 * How much slower than bare grpc-js, measured in the same scenario, the pooled client may be
 * before a latency bound fails. The pool adds a map lookup and a lease per call; `npm run bench`
 * puts pooled/bare at 0.94..1.02 on this machine. A factor of 3 absorbs the noise of one short
 * run on a loaded machine and still fails a pool that serialises or stalls its calls.
 */
export const BASELINE_MULTIPLE = 3;

/**
 * Runs `pattern` with a bare grpc-js client (one channel of its own, no pool) against `address`,
 * recording latency as the pooled client does (performance.now() around the call, µs), into its
 * own LoadTestMetrics. Ids are `bare:${prefix}-...`, apart from the pooled run's.
 *
 * Start it together with the pooled run (call it, then run the pooled pattern, then await it): the
 * two then share the server, the event loop and whatever else the machine is doing at the same
 * moments, so a busy machine slows both alike (one after the other, a burst of load from another
 * process, or the first run's cold start, lands on one side only).
 */
export async function measureBareBaseline(
  address: string,
  prefix: string,
  pattern: (send: SendRequest) => Promise<unknown>,
): Promise<MetricsSummary> {
  const { Client } = loadTestProto();
  const client = new Client(address, grpc.credentials.createInsecure(), { 'grpc.use_local_subchannel_pool': 1 });
  const metrics = new LoadTestMetrics();
  const send = (ctx: RequestContext): Promise<void> =>
    new Promise((resolve, reject) => {
      const started = performance.now();
      client.Call(
        { requestId: `bare:${prefix}-${ctx.worker}-${ctx.seq}` },
        new grpc.Metadata(),
        { deadline: Date.now() + 5_000 },
        (error) => {
          const us = (performance.now() - started) * 1000;
          if (error) {
            metrics.recordFailure(us);
            reject(error);
          } else {
            metrics.recordSuccess(us);
            resolve();
          }
        },
      );
    });
  try {
    await pattern(send);
  } finally {
    client.close();
  }
  return summarize(metrics);
}

/**
 * The pooled clients hold `n` connections, as the server counts them, beside the bare baseline's
 * one (accepted too, closed once the baseline is done).
 */
export async function expectConnectionsBesideBaseline(server: TestServer, n: number): Promise<void> {
  await server.ledger.waitUntil(
    (l) => l.openConnections === n,
    5_000,
    `${n} open connection(s) once the baseline closed its own`,
  );
  expect(server.ledger.snapshot()).toMatchObject({ acceptedConnections: n + 1, openConnections: n });
}

const ms = (us: number): string => `${(us / 1000).toFixed(2)} ms`;

/**
 * The pooled figures against the seed's bounds, relaxed to `BASELINE_MULTIPLE` x the bare grpc-js
 * figures measured side by side when the machine is slower than the seed assumed: avg below
 * max(100 ms, 3 x bare avg), max below max(1 s, 3 x bare max). Prints both.
 */
export function expectLatencyWithinBounds(name: string, pooled: MetricsSummary, bare: MetricsSummary): void {
  const avgBoundUs = Math.max(SEED_AVG_LATENCY_BOUND_US, BASELINE_MULTIPLE * bare.avgLatencyUs);
  const maxBoundUs = Math.max(SEED_MAX_LATENCY_BOUND_US, BASELINE_MULTIPLE * bare.maxLatencyUs);
  console.log(
    `${name}: avg pooled ${ms(pooled.avgLatencyUs)} / bare ${ms(bare.avgLatencyUs)} (bound ${ms(avgBoundUs)}), ` +
      `max pooled ${ms(pooled.maxLatencyUs)} / bare ${ms(bare.maxLatencyUs)} (bound ${ms(maxBoundUs)}); ` +
      `bound = max(seed, ${BASELINE_MULTIPLE} x bare)`,
  );
  expect(bare.failedRequests, 'the bare baseline itself failed requests').toBe(0);
  expect(bare.totalRequests, 'the bare baseline ran').toBeGreaterThan(0);
  expect(pooled.avgLatencyUs, `${name}: pooled avg latency vs max(seed, ${BASELINE_MULTIPLE} x bare)`).toBeLessThan(avgBoundUs);
  expect(pooled.maxLatencyUs, `${name}: pooled max latency vs max(seed, ${BASELINE_MULTIPLE} x bare)`).toBeLessThan(maxBoundUs);
}
