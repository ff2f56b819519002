import { describe, expect, it, vi } from 'vitest';
import { runClosedLoop } from './closed-loop.js';
import { FixedRateRun, runFixedRate } from './fixed-rate.js';
import { describeFailureKey, failureKey, mergeFailures, type RequestContext } from './load-result.js';
import { reconcileIds } from './reconcile-ids.js';
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

  it('fixed rate: sends every slot of the schedule, each at its intended time or later, and reports from what it saw', async () => {
    const starts: Array<{ intended: number; actual: number }> = [];
    const r = await runFixedRate({ ratePerSec: 200, durationMs: 250, workers: 4 }, async (ctx) => {
      const actual = performance.now();
      starts.push({ intended: ctx.intendedStartMs ?? Number.NaN, actual });
      // The 10th send holds the event loop for 20 ms: the sends after it are late by construction.
      if (starts.length === 10) while (performance.now() < actual + 20) {}
    });
    // Counted by the send function itself, not derived from rate x duration.
    expect(starts).toHaveLength(50);
    expect(r).toMatchObject({ issued: 50, succeeded: 50, notSentSaturated: 0, stoppedEarly: false });
    const intended = starts.map((s) => s.intended);
    // The schedule is against the clock: intended starts are 5 ms apart, whatever the sends took.
    for (let k = 1; k < intended.length; k++) expect((intended[k] as number) - (intended[k - 1] as number)).toBeCloseTo(5, 6);
    for (const s of starts) expect(s.actual).toBeGreaterThanOrEqual(s.intended);
    // The achieved rate agrees with the send times seen by the send function.
    const first = starts[0]?.actual ?? 0;
    const last = starts.at(-1)?.actual ?? 0;
    expect(r.achievedRatePerSec).toBeCloseTo((49 / (last - first)) * 1000, -1);
    // The run reads its clock just before each send, after the previous send function read its
    // own: the lateness it reports lies between those two views, by order alone (no tolerance that
    // a busy machine could break: a 3 ms preemption between the two reads once did).
    const seen = Math.max(...starts.map((s) => s.actual - s.intended));
    const before = Math.max(0, ...starts.slice(1).map((s, k) => (starts[k]?.actual ?? 0) - s.intended));
    // Slot 11 went out 20 ms after slot 10 started, which was no earlier than its own time: slot 12
    // (10 ms after slot 10) saw the run read its clock at least 10 ms late.
    expect(before).toBeGreaterThanOrEqual(10);
    expect(r.maxLatenessMs).toBeLessThanOrEqual(seen);
    expect(r.maxLatenessMs).toBeGreaterThanOrEqual(before);
    expect(r.latenessUs.totalCount).toBe(50);
  });

  it('fixed rate is open loop: it sends on while earlier requests are unanswered', async () => {
    // Request k is answered only once request k + 2 has been sent: a sender that waited for replies
    // (even one that then caught up in a burst) would never send k + 2, and never finish.
    const held = new Map<number, () => void>();
    const send = (ctx: RequestContext) =>
      new Promise<void>((resolve) => {
        held.set(ctx.seq, resolve);
        held.get(ctx.seq - 2)?.();
        if (ctx.seq >= 18) resolve();
      });
    const r = await Promise.race([
      runFixedRate({ ratePerSec: 200, durationMs: 100 }, send),
      new Promise<never>((_, reject) =>
        setTimeout(
          () => reject(new Error('the sender waited for replies: 20 requests at 200/s not done in 10 s')),
          10_000,
        ).unref(),
      ),
    ]);
    expect(r).toMatchObject({ issued: 20, succeeded: 20 });
    expect(r.maxInFlightSeen).toBeGreaterThanOrEqual(2);
  });

  it('fixed rate schedules floor(rate x duration) slots, whatever binary rounding does to the product', async () => {
    // 4.1/s for 30 s is 123 slots; in binary 4.1 x 30 000 is 122 999.99999999999, whose floor is 122.
    vi.useFakeTimers({ toFake: ['setTimeout', 'clearTimeout', 'performance'] });
    try {
      let sent = 0;
      const run = runFixedRate({ ratePerSec: 4.1, durationMs: 30_000 }, async () => {
        sent += 1;
      });
      await vi.advanceTimersByTimeAsync(30_000);
      const r = await run;
      expect(sent).toBe(123);
      expect(r).toMatchObject({ scheduled: 123, issued: 123, notSentSaturated: 0 });
    } finally {
      vi.useRealTimers();
    }
  });

  it('fixed rate measures latency from the intended start, and the service time apart', async () => {
    const r = await runFixedRate({ ratePerSec: 100, durationMs: 200 }, () => new Promise((res) => setTimeout(res, 30)));
    expect(r.issued).toBe(20);
    expect(r.serviceTimeUs.getValueAtPercentile(50)).toBeGreaterThanOrEqual(29_000);
    // From the intended start = lateness + service time, so never below the service time.
    expect(r.fromIntendedStartUs.getValueAtPercentile(1)).toBeGreaterThanOrEqual(r.serviceTimeUs.getValueAtPercentile(1));
    expect(r.fromIntendedStartUs.totalCount).toBe(20);
    expect(r.latenessUs.totalCount).toBe(20);
  });

  it('fixed rate bounds what it has in flight: a slot that comes at the bound is counted as not sent, not queued', async () => {
    const release: Array<() => void> = [];
    const run = new FixedRateRun(
      { ratePerSec: 1_000, durationMs: 100, maxInFlight: 2 },
      () => new Promise<void>((res) => release.push(res)),
    );
    const done = run.run();
    // Hold both until the schedule is over: every later slot finds 2 in flight.
    while (run.snapshot().scheduled < 100) await new Promise((res) => setTimeout(res, 5));
    expect(run.snapshot()).toMatchObject({ issued: 2, notSentSaturated: 98, maxInFlightSeen: 2 });
    for (const f of release) f();
    const r = await done;
    expect(r).toMatchObject({ scheduled: 100, issued: 2, succeeded: 2, notSentSaturated: 98 });
  });

  it('fixed rate stops its schedule on abort and says so', async () => {
    const controller = new AbortController();
    let sent = 0;
    const r = await runFixedRate({ ratePerSec: 100, durationMs: 60_000, signal: controller.signal }, async () => {
      if (++sent === 3) controller.abort();
    });
    expect(r).toMatchObject({ issued: 3, stoppedEarly: true, scheduled: 3 });
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

  it('a spike given a duration cools down until that long after the spike started', async () => {
    const started = performance.now();
    const r = await runSpike({ spikeClients: 5, durationMs: 60 }, () => new Promise((res) => setTimeout(res, 5)));
    expect(performance.now() - started).toBeGreaterThanOrEqual(60);
    expect(r.spike.issued).toBe(5);
    expect(r.cooldown.issued).toBeGreaterThan(0);
  });

  it('closed loop and bursts stop on abort', async () => {
    const controller = new AbortController();
    let n = 0;
    const send = async () => {
      if (++n === 5) controller.abort();
    };
    const r = await runClosedLoop({ workers: 1, durationMs: 60_000, signal: controller.signal }, send);
    expect(r.issued).toBe(5);
    const b = await runBursts({ bursts: 100, size: 2, signal: controller.signal }, send);
    expect(b.issued).toBe(0);
  });

  it('rejects parameters it cannot run with', async () => {
    const send = async () => {};
    await expect(runClosedLoop({ workers: 0, requestsPerWorker: 1 }, send)).rejects.toMatchObject({ code: 'ERR_LOAD_PATTERN' });
    await expect(runClosedLoop({ workers: 1 }, send)).rejects.toThrow(/exactly one of/);
    await expect(runFixedRate({ ratePerSec: -1, durationMs: 10 }, send)).rejects.toThrow(/ratePerSec must be a positive/);
    await expect(runRamp({ stages: [], requestsPerClient: 1 }, send)).rejects.toThrow(/at least one stage/);
    await expect(runBursts({ bursts: 1.5, size: 1 }, send)).rejects.toThrow(/whole number/);
    await expect(runFixedRate({ ratePerSec: 1, durationMs: 10, maxInFlight: 0 }, send)).rejects.toThrow(/maxInFlight/);
    await expect(runSpike({ spikeClients: 1 }, send)).rejects.toThrow(/exactly one of cooldownRequests or durationMs/);
  });
});

describe('failure keys', () => {
  it('names gRPC statuses for people and merges runs', () => {
    expect(describeFailureKey('ERR_GRPC_STATUS:14')).toBe('UNAVAILABLE(14)');
    expect(describeFailureKey('ERR_GRPC_STATUS:4')).toBe('DEADLINE_EXCEEDED(4)');
    expect(describeFailureKey('ERR_POOL_CLOSED')).toBe('ERR_POOL_CLOSED');
    expect(failureKey(Object.assign(new Error('x'), { code: 'ERR_GRPC_STATUS', status: 14 }))).toBe('ERR_GRPC_STATUS:14');
    expect(mergeFailures([{ failures: { a: 1 } }, { failures: { a: 2, b: 1 } }])).toEqual({ a: 3, b: 1 });
  });
});

describe('reconcileIds', () => {
  it('finds ids missing on the server, seen twice, never issued, or issued twice', () => {
    const r = reconcileIds(
      ['a', 'b', 'c', 'c'],
      [
        { requestId: 'a', count: 1 },
        { requestId: 'b', count: 2 },
        { requestId: 'z', count: 1 },
      ],
    );
    expect(r).toEqual({
      issued: 4,
      seen: 3,
      missing: ['c'],
      duplicated: [{ requestId: 'b', count: 2 }],
      unexpected: ['z'],
      issuedTwice: ['c'],
    });
  });

  it('is clean when both sides agree', () => {
    const r = reconcileIds(
      ['a', 'b'],
      [
        { requestId: 'b', count: 1 },
        { requestId: 'a', count: 1 },
      ],
    );
    expect([r.missing, r.duplicated, r.unexpected, r.issuedTwice]).toEqual([[], [], [], []]);
  });
});
