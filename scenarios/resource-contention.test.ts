import { describe, expect, it } from 'vitest';
import { runClosedLoop } from '../src/load/closed-loop.js';
import { expectAllServedOnce, expectServerConnections, inEnvironment, printSummary, sendVia } from './support.js';

// Category 3: resource contention.
describe('resource contention', () => {
  it('test_shared_connection_pool_contention: 20 clients x 5 requests on one shared pool', async () => {
    const name = 'test_shared_connection_pool_contention';
    await inEnvironment(async (env) => {
      const shared = env.newPool('shared');
      const clients = Array.from({ length: 20 }, () => env.client({ pool: shared }));
      const send = sendVia(clients, name);
      const r = await runClosedLoop({ workers: 20, requestsPerWorker: 5 }, send);
      expectAllServedOnce(env.server, send, r, 100);
      expectServerConnections(env.server, 1);
      // Reuse as the pool reports it must agree with what the server saw: one connection, 100 gets.
      expect(shared.stats()).toMatchObject({ created: 1, reused: 99, liveKeys: 1, inFlight: 0 });
      printSummary(name, env);
    });
  });

  it('test_multiple_pools_concurrent_access: 2 pools x 10 workers x 3 requests', async () => {
    const name = 'test_multiple_pools_concurrent_access';
    await inEnvironment(async (env) => {
      const pools = [env.newPool('a'), env.newPool('b')];
      const clients = pools.flatMap((pool) => Array.from({ length: 10 }, () => env.client({ pool })));
      const send = sendVia(clients, name);
      const r = await runClosedLoop({ workers: 20, requestsPerWorker: 3 }, send);
      expectAllServedOnce(env.server, send, r, 60);
      // Independent pools: one connection each, as the server counts them.
      expectServerConnections(env.server, 2);
      for (const p of pools) expect(p.stats()).toMatchObject({ created: 1, reused: 29 });
      printSummary(name, env);
    });
  });
});
