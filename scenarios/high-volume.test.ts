import { describe, expect, it } from 'vitest';
import { runFixedRate } from '../src/load/fixed-rate.js';
import { runBursts } from '../src/load/shapes.js';
import {
  expectAllServedOnce,
  expectSeedLatencyBounds,
  expectServerConnections,
  inEnvironment,
  printSummary,
  sendVia,
} from './support.js';

// Category 2: high-volume request tests.
describe('high volume', () => {
  it('test_high_volume_sustained_load: 10 workers x 3 s at a 100 req/s target (open loop)', async () => {
    const name = 'test_high_volume_sustained_load';
    await inEnvironment(async (env) => {
      const clients = Array.from({ length: 10 }, () => env.client());
      const r = await runFixedRate({ ratePerSec: 100, durationMs: 3_000, workers: 10 }, sendVia(clients, name));
      // The target is held by the schedule: exactly rate x duration requests, none sent far behind its slot.
      expect(r.scheduled).toBe(300);
      expectAllServedOnce(env.server, name, r, 300);
      expect(r.maxLatenessMs).toBeLessThan(1_000);
      expectServerConnections(env.server, 1);
      console.log(
        `${name}: achieved ${r.achievedRatePerSec.toFixed(1)} req/s of 100 requested, max lateness ${r.maxLatenessMs.toFixed(1)} ms`,
      );
      expectSeedLatencyBounds(printSummary(name, env));
    });
  });

  it('test_burst_traffic_pattern: 3 bursts x 50 requests', async () => {
    const name = 'test_burst_traffic_pattern';
    await inEnvironment(async (env) => {
      const clients = Array.from({ length: 50 }, () => env.client());
      const r = await runBursts({ bursts: 3, size: 50 }, sendVia(clients, name));
      expectAllServedOnce(env.server, name, r, 150);
      expectServerConnections(env.server, 1);
      expectSeedLatencyBounds(printSummary(name, env));
    });
  });
});
