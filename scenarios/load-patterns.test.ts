import { describe, expect, it } from 'vitest';
import { runClosedLoop } from '../src/load/closed-loop.js';
import { runRamp, runSpike } from '../src/load/shapes.js';
import {
  expectAllServedOnce,
  expectSeedLatencyBounds,
  expectServerConnections,
  inEnvironment,
  printSummary,
  sendVia,
} from './support.js';

// Category 7: various load patterns.
describe('load patterns', () => {
  it('test_gradual_ramp_up_pattern: 5 -> 10 -> 15 -> 20 clients', async () => {
    const name = 'test_gradual_ramp_up_pattern';
    await inEnvironment(async (env) => {
      const clients = Array.from({ length: 50 }, () => env.client());
      const stages = await runRamp({ stages: [5, 10, 15, 20], requestsPerClient: 3 }, sendVia(clients, name));
      expect(stages.map((s) => [s.issued, s.succeeded])).toEqual([
        [15, 15],
        [30, 30],
        [45, 45],
        [60, 60],
      ]);
      expectAllServedOnce(env.server, name, { issued: 150, succeeded: 150, failed: 0 }, 150);
      expectServerConnections(env.server, 1);
      expectSeedLatencyBounds(printSummary(name, env));
    });
  });

  it('test_spike_and_cooldown_pattern: a spike of 50, then 10 sequential requests', async () => {
    const name = 'test_spike_and_cooldown_pattern';
    await inEnvironment(async (env) => {
      const clients = Array.from({ length: 51 }, () => env.client());
      const { spike, cooldown } = await runSpike({ spikeClients: 50, cooldownRequests: 10 }, sendVia(clients, name));
      expect([spike.succeeded, cooldown.succeeded]).toEqual([50, 10]);
      expectAllServedOnce(env.server, name, { issued: 60, succeeded: 60, failed: 0 }, 60);
      // Cool-down returns to normal: the same single connection, nothing left in flight.
      expectServerConnections(env.server, 1);
      expect(env.pool.stats()).toMatchObject({ inFlight: 0, liveKeys: 1, created: 1 });
      expectSeedLatencyBounds(printSummary(name, env));
    });
  });

  it('test_mixed_client_configurations: 10 default clients + 10 custom-pool clients', async () => {
    const name = 'test_mixed_client_configurations';
    await inEnvironment(async (env) => {
      const custom = env.newPool('custom');
      const clients = [
        ...Array.from({ length: 10 }, () => env.client()),
        ...Array.from({ length: 10 }, () => env.client({ pool: custom, deadlineMs: 2_000 })),
      ];
      const r = await runClosedLoop({ workers: 20, requestsPerWorker: 3 }, sendVia(clients, name));
      expectAllServedOnce(env.server, name, r, 60);
      // The two configurations coexist: one connection for the default pool, one for the custom pool.
      expectServerConnections(env.server, 2);
      expect([env.pool.stats().created, custom.stats().created]).toEqual([1, 1]);
      printSummary(name, env);
    });
  });
});
