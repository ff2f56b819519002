import { describe, expect, it } from 'vitest';
import { runFixedRate } from '../src/load/fixed-rate.js';
import { runBursts } from '../src/load/shapes.js';
import { expectConnectionsBesideBaseline, expectLatencyWithinBounds, measureBareBaseline } from './bare-baseline.js';
import { expectAllServedOnce, expectConsistentLatency, inEnvironment, printSummary, sendVia } from './support.js';

// Category 2: high-volume request tests.
describe('high volume', () => {
  it('test_high_volume_sustained_load: 10 workers x 3 s at a 100 req/s target (open loop)', async () => {
    const name = 'test_high_volume_sustained_load';
    await inEnvironment(async (env) => {
      const clients = Array.from({ length: 10 }, () => env.client());
      const send = sendVia(clients, name);
      // The sender's own record of when each request really went out, apart from the run's figures.
      const sentAt: number[] = [];
      const bareRun = measureBareBaseline(env.address, name, (b) => runFixedRate({ ratePerSec: 100, durationMs: 3_000 }, b));
      const r = await runFixedRate({ ratePerSec: 100, durationMs: 3_000, workers: 10 }, (ctx) => {
        sentAt.push(performance.now());
        return send(ctx);
      });
      // What went out is what the server saw: 300 ids issued, each seen once, none skipped.
      expect(r.notSentSaturated).toBe(0);
      expectAllServedOnce(env.server, send, r, 300);
      // The rate from real send times (first to last send), checked against the sender's own record.
      const observedRate = ((sentAt.length - 1) / ((sentAt.at(-1) ?? 0) - (sentAt[0] ?? 0))) * 1000;
      expect(r.achievedRatePerSec).toBeCloseTo(observedRate, 0);
      console.log(
        `${name}: achieved ${r.achievedRatePerSec.toFixed(1)} req/s of 100 requested (from send times), ` +
          `max lateness ${r.maxLatenessMs.toFixed(1)} ms, p99 lateness ${(r.latenessUs.getValueAtPercentile(99) / 1000).toFixed(1)} ms`,
      );
      // Open loop holds the schedule: no request sent a second behind its slot, and the rate over the
      // run within 25% of the target (a sender that waits for replies, or drifts, falls out of both).
      expect(r.maxLatenessMs).toBeLessThan(1_000);
      expect(r.achievedRatePerSec).toBeGreaterThan(75);
      expect(r.achievedRatePerSec).toBeLessThan(125);
      const pooled = printSummary(name, env);
      expectConsistentLatency(pooled);
      expectLatencyWithinBounds(name, pooled, await bareRun);
      await expectConnectionsBesideBaseline(env.server, 1);
    });
  });

  it('test_burst_traffic_pattern: 3 bursts x 50 requests', async () => {
    const name = 'test_burst_traffic_pattern';
    await inEnvironment(async (env) => {
      const clients = Array.from({ length: 50 }, () => env.client());
      const send = sendVia(clients, name);
      const bareRun = measureBareBaseline(env.address, name, (b) => runBursts({ bursts: 3, size: 50 }, b));
      const r = await runBursts({ bursts: 3, size: 50 }, send);
      expectAllServedOnce(env.server, send, r, 150);
      const pooled = printSummary(name, env);
      expectConsistentLatency(pooled);
      expectLatencyWithinBounds(name, pooled, await bareRun);
      await expectConnectionsBesideBaseline(env.server, 1);
    });
  });
});
