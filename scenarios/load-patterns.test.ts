import { describe, expect, it } from 'vitest';
import { runClosedLoop } from '../src/load/closed-loop.js';
import { runRamp, runSpike } from '../src/load/shapes.js';
import { expectConnectionsBesideBaseline, expectLatencyWithinBounds, measureBareBaseline } from './bare-baseline.js';
import {
  addResults,
  expectAllServedOnce,
  expectConsistentLatency,
  expectServerConnections,
  inEnvironment,
  printSummary,
  sendVia,
} from './support.js';

// Category 7: various load patterns.
describe('load patterns', () => {
  it('test_gradual_ramp_up_pattern: 5 -> 10 -> 15 -> 20 clients', async () => {
    const name = 'test_gradual_ramp_up_pattern';
    const ramp = { stages: [5, 10, 15, 20], requestsPerClient: 3 };
    await inEnvironment(async (env) => {
      const clients = Array.from({ length: 50 }, () => env.client());
      const send = sendVia(clients, name);
      const bareRun = measureBareBaseline(env.address, name, (b) => runRamp(ramp, b));
      const stages = await runRamp(ramp, send);
      expect(stages.map((s) => [s.issued, s.succeeded])).toEqual([
        [15, 15],
        [30, 30],
        [45, 45],
        [60, 60],
      ]);
      expectAllServedOnce(env.server, send, addResults(stages), 150);
      const pooled = printSummary(name, env);
      expectConsistentLatency(pooled);
      expectLatencyWithinBounds(name, pooled, await bareRun);
      await expectConnectionsBesideBaseline(env.server, 1);
    });
  });

  it('test_spike_and_cooldown_pattern: a spike of 50, then 10 sequential requests', async () => {
    const name = 'test_spike_and_cooldown_pattern';
    const shape = { spikeClients: 50, cooldownRequests: 10 };
    await inEnvironment(async (env) => {
      const clients = Array.from({ length: 51 }, () => env.client());
      const send = sendVia(clients, name);
      const bareRun = measureBareBaseline(env.address, name, (b) => runSpike(shape, b));
      const { spike, cooldown } = await runSpike(shape, send);
      expect([spike.succeeded, cooldown.succeeded]).toEqual([50, 10]);
      expectAllServedOnce(env.server, send, addResults([spike, cooldown]), 60);
      // Cool-down returns to normal: the same single connection, nothing left in flight.
      expect(env.pool.stats()).toMatchObject({ inFlight: 0, liveKeys: 1, created: 1 });
      expect(env.metrics.counts().activeClients).toBe(0);
      const pooled = printSummary(name, env);
      expectConsistentLatency(pooled);
      expectLatencyWithinBounds(name, pooled, await bareRun);
      await expectConnectionsBesideBaseline(env.server, 1);
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
      const send = sendVia(clients, name);
      const r = await runClosedLoop({ workers: 20, requestsPerWorker: 3 }, send);
      expectAllServedOnce(env.server, send, r, 60);
      // The two configurations coexist: one connection for the default pool, one for the custom pool.
      expectServerConnections(env.server, 2);
      expect([env.pool.stats().created, custom.stats().created]).toEqual([1, 1]);
      printSummary(name, env);
    });
  });
});
