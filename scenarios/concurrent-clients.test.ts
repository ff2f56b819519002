import { describe, expect, it } from 'vitest';
import { runClosedLoop } from '../src/load/closed-loop.js';
import { expectAllServedOnce, expectServerConnections, inEnvironment, printSummary, sendVia } from './support.js';

// How long the server holds each client's first request, so that the count of active clients can
// be read while every client has a call in flight. Not a barrier: the read waits on the server's
// ledger, and the check compares with what the sender itself has in flight at that instant.
const HOLD_FIRST_MS = 500;

// Category 1: multiple concurrent clients. Clients are created concurrently over one pool.
describe.each([
  ['test_10_concurrent_clients', 10, 5],
  ['test_50_concurrent_clients', 50, 3],
  ['test_100_concurrent_clients', 100, 2],
])('%s', (name, clients, perClient) => {
  it(`${name}: ${clients} clients x ${perClient} requests`, async () => {
    await inEnvironment(async (env) => {
      const made = await Promise.all(Array.from({ length: clients }, async () => env.client()));
      const send = sendVia(made, name, (ctx) => ({ delayMs: ctx.seq === 0 ? HOLD_FIRST_MS : 0 }));
      const run = runClosedLoop({ workers: clients, requestsPerWorker: perClient }, send);
      // Mid-run: once the server holds every client's first request, each client counts itself
      // active (PoolClient counts itself while it has a call in flight).
      const firstIds = new Set(Array.from({ length: clients }, (_, w) => `${name}-${w}-0`));
      await env.server.ledger.waitUntil(
        () => env.server.ledger.entries(`${name}-`).filter((e) => firstIds.has(e.requestId)).length === clients,
        10_000,
        `the server holds the first request of all ${clients} clients`,
      );
      const midRun = env.metrics.counts().activeClients;
      const observed = send.activeClients();
      console.log(`${name}: ${midRun} clients active mid-run (sender sees ${observed} with a call in flight)`);
      expect(observed).toBeGreaterThan(0);
      expect(midRun).toBe(observed);
      const result = await run;
      expectAllServedOnce(env.server, send, result, clients * perClient);
      expectServerConnections(env.server, 1);
      const s = printSummary(name, env);
      expect(s.totalRequests).toBe(clients * perClient);
      expect(s.activeClients).toBe(0);
    });
  });
});
