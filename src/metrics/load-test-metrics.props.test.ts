import { fc, test } from '@fast-check/vitest';
import { describe, expect } from 'vitest';
import { MAX_TRACKED_LATENCY_US } from './latency-histogram.js';
import { LoadTestMetrics } from './load-test-metrics.js';
import { summarize } from './metrics-summary.js';

// The reference: a plain fold over the recorded calls, sharing nothing with LoadTestMetrics.
const call = fc.record({ ok: fc.boolean(), latencyUs: fc.integer({ min: 0, max: 3_600_000_000 }) });

describe('LoadTestMetrics against a fold over the same calls', () => {
  test.prop([fc.array(call, { maxLength: 300 })])('counts, sum, min and max agree', (calls) => {
    const m = new LoadTestMetrics();
    for (const c of calls) (c.ok ? m.recordSuccess : m.recordFailure).call(m, c.latencyUs);
    const ok = calls.filter((c) => c.ok).length;
    // Documented contract: latencies above MAX_TRACKED_LATENCY_US (about 35.8 min) are clamped.
    const lat = calls.map((c) => Math.min(c.latencyUs, MAX_TRACKED_LATENCY_US));
    expect(m.counts()).toEqual({
      totalRequests: calls.length,
      successfulRequests: ok,
      failedRequests: calls.length - ok,
      totalLatencyUs: lat.reduce((a, b) => a + b, 0),
      minLatencyUs: lat.length ? Math.min(...lat) : 0,
      maxLatencyUs: lat.length ? Math.max(...lat) : 0,
      activeClients: 0,
    });
    const s = summarize(m);
    expect(s.successRate).toBe(calls.length ? ok / calls.length : 0);
    expect(m.histogram.totalCount).toBe(calls.length);
  });

  test.prop([fc.array(fc.constantFrom('start', 'finish'), { maxLength: 100 })])(
    'active clients is starts minus finishes',
    (ops) => {
      const m = new LoadTestMetrics();
      for (const op of ops) (op === 'start' ? m.clientStarted : m.clientFinished).call(m);
      expect(m.counts().activeClients).toBe(ops.filter((o) => o === 'start').length - ops.filter((o) => o === 'finish').length);
    },
  );
});
