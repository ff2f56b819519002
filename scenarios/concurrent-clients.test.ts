import { describe, expect, it } from 'vitest';
import { runClosedLoop } from '../src/load/closed-loop.js';
import { expectAllServedOnce, expectServerConnections, inEnvironment, printSummary, sendVia } from './support.js';

// Category 1: multiple concurrent clients. Clients are created concurrently over one pool.
describe.each([
  ['test_10_concurrent_clients', 10, 5],
  ['test_50_concurrent_clients', 50, 3],
  ['test_100_concurrent_clients', 100, 2],
])('%s', (name, clients, perClient) => {
  it(`${name}: ${clients} clients x ${perClient} requests`, async () => {
    await inEnvironment(async (env) => {
      const made = await Promise.all(Array.from({ length: clients }, async () => env.client()));
      const result = await runClosedLoop({ workers: clients, requestsPerWorker: perClient }, sendVia(made, name));
      expectAllServedOnce(env.server, name, result, clients * perClient);
      expectServerConnections(env.server, 1);
      const s = printSummary(name, env);
      expect(s.totalRequests).toBe(clients * perClient);
      expect(s.activeClients).toBe(0);
    });
  });
});
