import { expect } from 'vitest';
import type { CallInput, PoolClient } from '../src/client/pool-client.js';
import { TestEnvironment } from '../src/env/test-environment.js';
import type { LoadResult, RequestContext } from '../src/load/load-result.js';
import { reconcileIds } from '../src/load/reconcile-ids.js';
import { formatSummary, type MetricsSummary, summarize } from '../src/metrics/metrics-summary.js';
import type { UnaryReply } from '../src/pool/connector.js';
import type { TestServer } from '../src/server/test-server.js';

/** The seed's latency expectations, as sanity bounds (the real figures are in `npm run bench`). */
export const SEED_AVG_LATENCY_BOUND_US = 100_000;
export const SEED_MAX_LATENCY_BOUND_US = 1_000_000;

/**
 * A send function for load patterns (client by worker, request id `${prefix}-${worker}-${seq}`)
 * that records, as it goes and apart from any load pattern's own counting, every id it issued and
 * which clients have a call in flight.
 */
export interface RecordingSender {
  (ctx: RequestContext): Promise<UnaryReply>;
  readonly prefix: string;
  /** Ids in the order they were handed to a client. */
  readonly issuedIds: readonly string[];
  /** Clients (by index) with at least one call this sender started and that has not settled. */
  activeClients(): number;
}

export function sendVia(
  clients: readonly PoolClient[],
  prefix: string,
  input: (ctx: RequestContext) => Omit<CallInput, 'requestId'> = () => ({}),
): RecordingSender {
  const issuedIds: string[] = [];
  const inFlight = new Map<number, number>();
  const send = async (ctx: RequestContext): Promise<UnaryReply> => {
    const index = ctx.worker % clients.length;
    const client = clients[index] as PoolClient;
    const requestId = `${prefix}-${ctx.worker}-${ctx.seq}`;
    issuedIds.push(requestId);
    inFlight.set(index, (inFlight.get(index) ?? 0) + 1);
    try {
      return await client.call({ ...input(ctx), requestId });
    } finally {
      const left = (inFlight.get(index) ?? 1) - 1;
      if (left === 0) inFlight.delete(index);
      else inFlight.set(index, left);
    }
  };
  return Object.assign(send, { prefix, issuedIds, activeClients: () => inFlight.size });
}

/**
 * Every request succeeded, the pattern and the sender agree on how many were issued (`planned`),
 * and the server's ledger holds exactly the ids the sender issued, each once: nothing missing,
 * nothing twice, nothing it was not sent.
 */
export function expectAllServedOnce(
  server: TestServer,
  sender: RecordingSender,
  result: Pick<LoadResult, 'issued' | 'succeeded' | 'failed'>,
  planned: number,
): void {
  expect({ issued: result.issued, succeeded: result.succeeded, failed: result.failed }).toEqual({
    issued: planned,
    succeeded: planned,
    failed: 0,
  });
  expect(sender.issuedIds).toHaveLength(planned);
  const r = reconcileIds(sender.issuedIds, server.ledger.entries(`${sender.prefix}-`));
  expect({ missing: r.missing, duplicated: r.duplicated, unexpected: r.unexpected, issuedTwice: r.issuedTwice }).toEqual({
    missing: [],
    duplicated: [],
    unexpected: [],
    issuedTwice: [],
  });
}

/** Adds the counts of several load results (the stages of a ramp, a spike and its cool-down). */
export function addResults(results: readonly LoadResult[]): Pick<LoadResult, 'issued' | 'succeeded' | 'failed'> {
  return results.reduce(
    (a, r) => ({ issued: a.issued + r.issued, succeeded: a.succeeded + r.succeeded, failed: a.failed + r.failed }),
    {
      issued: 0,
      succeeded: 0,
      failed: 0,
    },
  );
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

/** Latency figures are consistent with each other (min <= avg <= max, none zero). */
export function expectConsistentLatency(s: MetricsSummary): void {
  expect(s.minLatencyUs).toBeGreaterThan(0);
  expect(s.minLatencyUs).toBeLessThanOrEqual(s.avgLatencyUs);
  expect(s.avgLatencyUs).toBeLessThanOrEqual(s.maxLatencyUs);
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
