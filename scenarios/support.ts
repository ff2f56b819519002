import { expect } from 'vitest';
import type { PoolClient } from '../src/client/pool-client.js';
import { TestEnvironment } from '../src/env/test-environment.js';
import type { LoadResult, RequestContext } from '../src/load/load-result.js';
import { formatSummary, type MetricsSummary, summarize } from '../src/metrics/metrics-summary.js';
import type { TestServer } from '../src/server/test-server.js';

/** The seed's latency expectations, as sanity bounds (the real figures are in `npm run bench`). */
export const SEED_AVG_LATENCY_BOUND_US = 100_000;
export const SEED_MAX_LATENCY_BOUND_US = 1_000_000;

/** A send function for load patterns: client by worker, request id `${prefix}-${worker}-${seq}`. */
export function sendVia(clients: readonly PoolClient[], prefix: string) {
  return (ctx: RequestContext) => {
    const client = clients[ctx.worker % clients.length] as PoolClient;
    return client.call({ requestId: `${prefix}-${ctx.worker}-${ctx.seq}` });
  };
}

/** Every request succeeded, and the server saw each of the `issued` ids with `prefix` exactly once. */
export function expectAllServedOnce(
  server: TestServer,
  prefix: string,
  result: Pick<LoadResult, 'issued' | 'succeeded' | 'failed'>,
  issued: number,
): void {
  expect(result.failed).toBe(0);
  expect(result.issued).toBe(issued);
  expect(result.succeeded).toBe(issued);
  const entries = server.ledger.entries(`${prefix}-`);
  expect(entries).toHaveLength(issued);
  expect(entries.filter((e) => e.count !== 1)).toEqual([]);
}

/** The server accepted exactly `n` connections and holds them open: `n` pools, each reused 100%. */
export function expectServerConnections(server: TestServer, n: number): void {
  expect(server.ledger.snapshot()).toMatchObject({ acceptedConnections: n, openConnections: n });
}

/** Prints the environment's MetricsSummary (as the seed's --nocapture runs do) and returns it. */
export function printSummary(name: string, env: TestEnvironment): MetricsSummary {
  const s = summarize(env.metrics);
  console.log(formatSummary(name, s));
  return s;
}

/** Latency figures are consistent with each other and within the seed's sanity bounds. */
export function expectSeedLatencyBounds(s: MetricsSummary): void {
  expect(s.minLatencyUs).toBeGreaterThan(0);
  expect(s.minLatencyUs).toBeLessThanOrEqual(s.avgLatencyUs);
  expect(s.avgLatencyUs).toBeLessThanOrEqual(s.maxLatencyUs);
  expect(s.avgLatencyUs).toBeLessThan(SEED_AVG_LATENCY_BOUND_US);
  expect(s.maxLatencyUs).toBeLessThan(SEED_MAX_LATENCY_BOUND_US);
}

/** After dispose: the server holds no open connection (the leak check also looks at this process's handles). */
export async function expectNothingOpen(server: TestServer): Promise<void> {
  await server.ledger.waitUntil((l) => l.openConnections === 0, 5_000, 'no open connections after the scenario');
}

/**
 * Runs `scenario` in a fresh TestEnvironment, releases it whatever happens, then checks the server
 * holds no open connection (the leak check also looks at this process's handles).
 */
export async function inEnvironment(scenario: (env: TestEnvironment) => Promise<void>): Promise<void> {
  const env = await TestEnvironment.start();
  try {
    await scenario(env);
  } finally {
    await env.dispose();
  }
  await expectNothingOpen(env.server);
}
