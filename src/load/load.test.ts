import { describe, expect, it } from 'vitest';
import { runClosedLoop } from './closed-loop.js';
import { runFixedRate } from './fixed-rate.js';
import type { RequestContext } from './load-result.js';
import { runBursts, runRamp, runSpike } from './shapes.js';

const failEvery = (n: number) => {
  const seen: RequestContext[] = [];
  const send = async (ctx: RequestContext) => {
    seen.push(ctx);
    await Promise.resolve();
    if (seen.length % n === 0) throw Object.assign(new Error('boom'), { code: 'ERR_GRPC_STATUS', status: 14 });
  };
  return { seen, send };
};

describe('load patterns', () => {
  it('closed loop: every worker sends its requests in order; failures are counted, not dropped', async () => {
    const { seen, send } = failEvery(4);
    const r = await runClosedLoop({ workers: 3, requestsPerWorker: 4 }, send);
    expect(r).toMatchObject({ issued: 12, succeeded: 9, failed: 3, failures: { 'ERR_GRPC_STATUS:14': 3 } });
    for (let w = 0; w < 3; w++) expect(seen.filter((c) => c.worker === w).map((c) => c.seq)).toEqual([0, 1, 2, 3]);
  });

  it('closed loop by duration stops sending once the time is up', async () => {
    const r = await runClosedLoop({ workers: 2, durationMs: 30 }, () => new Promise((res) => setTimeout(res, 5)));
    expect(r.issued).toBeGreaterThan(0);
    expect(r.issued).toBe(r.succeeded);
  });

  it('fixed rate: sends exactly rate x duration requests, each at its intended time or later', async () => {
    const starts: Array<{ intended: number; actual: number }> = [];
    const r = await runFixedRate({ ratePerSec: 200, durationMs: 250, workers: 4 }, async (ctx) => {
      starts.push({ intended: ctx.intendedStartMs ?? Number.NaN, actual: performance.now() });
    });
    expect(r.scheduled).toBe(50);
    expect(r.issued).toBe(50);
    expect(r.succeeded).toBe(50);
    const intended = starts.map((s) => s.intended);
    // The schedule is against the clock: intended starts are 5 ms apart, whatever the sends took.
    for (let k = 1; k < intended.length; k++) expect((intended[k] as number) - (intended[k - 1] as number)).toBeCloseTo(5, 6);
    for (const s of starts) expect(s.actual).toBeGreaterThanOrEqual(s.intended);
  });

  it('bursts, ramp and spike send the shapes they name', async () => {
    const { seen, send } = failEvery(1_000);
    expect((await runBursts({ bursts: 3, size: 50 }, send)).issued).toBe(150);
    const ramp = await runRamp({ stages: [5, 10, 15, 20], requestsPerClient: 2 }, send);
    expect(ramp.map((s) => s.issued)).toEqual([10, 20, 30, 40]);
    const spike = await runSpike({ spikeClients: 50, cooldownRequests: 10 }, send);
    expect([spike.spike.issued, spike.cooldown.issued]).toEqual([50, 10]);
    expect(seen).toHaveLength(150 + 100 + 60);
  });

  it('rejects parameters it cannot run with', async () => {
    const send = async () => {};
    await expect(runClosedLoop({ workers: 0, requestsPerWorker: 1 }, send)).rejects.toMatchObject({ code: 'ERR_LOAD_PATTERN' });
    await expect(runClosedLoop({ workers: 1 }, send)).rejects.toThrow(/exactly one of/);
    await expect(runFixedRate({ ratePerSec: -1, durationMs: 10 }, send)).rejects.toThrow(/ratePerSec must be a positive/);
    await expect(runRamp({ stages: [], requestsPerClient: 1 }, send)).rejects.toThrow(/at least one stage/);
    await expect(runBursts({ bursts: 1.5, size: 1 }, send)).rejects.toThrow(/whole number/);
  });
});
