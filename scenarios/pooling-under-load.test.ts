import { describe, expect, it } from 'vitest';
import { runClosedLoop } from '../src/load/closed-loop.js';
import { expectAllServedOnce, expectServerConnections, inEnvironment, printSummary, sendVia } from './support.js';

// Category 5: connection pooling under load. Efficiency is judged by the server's connection count.
describe('pooling under load', () => {
  it('test_pool_efficiency_under_load: 30 workers x 10 requests, one connection', async () => {
    const name = 'test_pool_efficiency_under_load';
    await inEnvironment(async (env) => {
      const clients = Array.from({ length: 30 }, () => env.client());
      const send = sendVia(clients, name);
      const r = await runClosedLoop({ workers: 30, requestsPerWorker: 10 }, send);
      expectAllServedOnce(env.server, send, r, 300);
      // Pool size optimal (1 connection for a single address), and the pool's own view agrees.
      expectServerConnections(env.server, 1);
      expect(env.pool.size).toBe(1);
      expect(env.pool.stats().reuseRate).toBeCloseTo(299 / 300, 10);
      printSummary(name, env);
    });
  });

  it('test_pool_reuse_pattern_validation: 5 waves of 10 clients x 3, the same connection throughout', async () => {
    const name = 'test_pool_reuse_pattern_validation';
    await inEnvironment(async (env) => {
      const answeredBy = new Set<string>();
      for (let wave = 0; wave < 5; wave++) {
        // New client objects each wave, as short-lived clients would be: the pool must still reuse.
        const clients = Array.from({ length: 10 }, () => env.client());
        const prefix = `${name}-w${wave}`;
        const send = sendVia(clients, prefix);
        const r = await runClosedLoop({ workers: 10, requestsPerWorker: 3 }, async (ctx) => {
          const reply = await send(ctx);
          answeredBy.add(reply.serverId);
        });
        expectAllServedOnce(env.server, send, r, 30);
        // After every wave: still the one connection, never re-created.
        expectServerConnections(env.server, 1);
        expect(env.pool.stats()).toMatchObject({ created: 1, closed: 0, reused: (wave + 1) * 30 - 1 });
      }
      expect(answeredBy.size).toBe(1);
      printSummary(name, env);
    });
  });
});
