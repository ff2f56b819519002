import { AsyncLocalStorage } from 'node:async_hooks';
import { fc, test } from '@fast-check/vitest';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { LoadTestMetrics } from '../../src/metrics/load-test-metrics.js';
import { summarize } from '../../src/metrics/metrics-summary.js';
import type { Connector, UnaryReply } from '../../src/pool/connector.js';
import { GrpcStatusError } from '../../src/pool/errors.js';
import type { PoolAdapter } from '../adapter/adapter.js';
import { ownAdapter } from '../adapter/adapters/own-pool.js';
import { loadPatchedStack, type SourcePatch } from '../variants/patched-stack.js';
import {
  checkMetricsAgainstRecord,
  checkSnapshotAgainstRecord,
  type MetricsRecord,
  nearestRank,
  type RecordedCall,
  reportedPercentiles,
  snapshotOf,
  traceActiveClients,
} from './metrics-check.js';
import { type Recording, SharedMetricsWorkers } from './shared-metrics.js';

/**
 * A hand-made run, times in ms as `performance.now()` gives them, written here (not computed by the
 * code under test). Two clients (one per address, as the own adapter has): client 0 makes call A,
 * which opens the connection, and B at once beside it (a wave), which waits for that connection on
 * the creation lock; then C, failed by the server, and D, which waits out a 3 s deadline. Client 1
 * opens its own connection for E, then F, G (refused after a failed connect: nothing reached the
 * seam) and H. `clock` is where the client's own clock ran: inside the caller's interval, outside
 * the seam's, a few to a few tens of µs from each.
 */
interface HandMade extends RecordedCall {
  readonly name: string;
  readonly clock: readonly [number, number];
}
const RUN: readonly HandMade[] = [
  // biome-ignore format: one call a line
  { name: 'A', client: '0', ok: true, start: 4711.204, connectAt: 4711.251, acquiredAt: 4718.932, rpcDoneAt: 4723.415, end: 4723.47, clock: [4711.219, 4723.441] },
  // biome-ignore format: one call a line
  { name: 'B', client: '0', ok: true, start: 4711.23, acquiredAt: 4718.957, rpcDoneAt: 4721.83, end: 4721.902, clock: [4711.244, 4721.851] },
  // biome-ignore format: one call a line
  { name: 'C', client: '0', ok: false, start: 4724.01, acquiredAt: 4724.041, rpcDoneAt: 4726.388, end: 4726.42, clock: [4724.022, 4726.401] },
  // biome-ignore format: one call a line
  { name: 'D', client: '0', ok: false, start: 4726.5, acquiredAt: 4726.53, rpcDoneAt: 7726.561, end: 7726.61, clock: [4726.512, 7726.59] },
  // biome-ignore format: one call a line
  { name: 'E', client: '1', ok: true, start: 4712.003, connectAt: 4712.04, acquiredAt: 4715.118, rpcDoneAt: 4716.901, end: 4716.95, clock: [4712.015, 4716.922] },
  // biome-ignore format: one call a line
  { name: 'F', client: '1', ok: true, start: 4717.1, acquiredAt: 4717.121, rpcDoneAt: 4719.65, end: 4719.69, clock: [4717.11, 4719.668] },
  // biome-ignore format: one call a line
  { name: 'G', client: '1', ok: false, start: 4719.7, end: 4720.98, clock: [4719.712, 4720.951] },
  // biome-ignore format: one call a line
  { name: 'H', client: '1', ok: true, start: 4727.3, acquiredAt: 4727.322, rpcDoneAt: 4730.005, end: 4730.05, clock: [4727.311, 4730.027] },
];

/** How a client turns one call into what it records (a bug changes one of these). */
interface Client {
  /** The µs it records for a call, or undefined to record nothing. */
  latencyUs(c: HandMade): number | undefined;
  /** Which metrics it records into (a second view of the same counters, for the wrong-set bug). */
  into?(c: HandMade, metrics: LoadTestMetrics): LoadTestMetrics;
  /** Counts itself active per client (right) or per call (a bug). */
  readonly activePer: 'client' | 'call';
}

const RIGHT: Client = { latencyUs: (c) => (c.clock[1] - c.clock[0]) * 1000, activePer: 'client' };

/**
 * Replays the hand-made run into a fresh LoadTestMetrics as `client` would have recorded it, in the
 * order of the client clocks, with `activeClients` traced on that same clock.
 */
function replay(client: Client, run: readonly HandMade[] = RUN): { record: MetricsRecord; metrics: LoadTestMetrics } {
  const metrics = new LoadTestMetrics();
  let now = 0;
  const samples = traceActiveClients(metrics, () => now);
  const events = run.flatMap((c) => [
    { t: c.clock[0], c, begin: true },
    { t: c.clock[1], c, begin: false },
  ]);
  events.sort((a, b) => a.t - b.t);
  const inFlight = new Map<string, number>();
  for (const e of events) {
    now = e.t;
    const key = client.activePer === 'client' ? (e.c.client as string) : e.c.name;
    const before = inFlight.get(key) ?? 0;
    if (e.begin) {
      inFlight.set(key, before + 1);
      if (before === 0) metrics.clientStarted();
      continue;
    }
    const us = client.latencyUs(e.c);
    const view = client.into?.(e.c, metrics) ?? metrics;
    if (us !== undefined) (e.c.ok ? view.recordSuccess : view.recordFailure).call(view, us);
    inFlight.set(key, before - 1);
    if (before === 1) metrics.clientFinished();
  }
  return { record: { calls: run, activeClients: samples }, metrics };
}

describe('checkMetricsAgainstRecord on a hand-made run', () => {
  it('passes a correct LoadTestMetrics fed the run', () => {
    const { record, metrics } = replay(RIGHT);
    expect(checkMetricsAgainstRecord(record, metrics)).toEqual([]);
    // The step function a right client makes (worked out by hand from the clocks above).
    expect(record.activeClients?.map((s) => s.active)).toEqual([1, 2, 1, 2, 1, 2, 1, 0, 1, 0, 1, 2, 1, 0]);
  });

  it('catches latency in ms recorded as µs (the client forgot x1000)', () => {
    const { record, metrics } = replay({ ...RIGHT, latencyUs: (c) => c.clock[1] - c.clock[0] });
    const problems = checkMetricsAgainstRecord(record, metrics);
    // Bounds by hand: D's seam 3000.031 ms less 1 µs, its caller interval 3000.110 ms plus 1 µs;
    // the sums of the per-call bounds (G, with no seam interval, adds 0 below).
    expect(problems).toContain(
      'maxLatencyUs 3000 us, the history allows 3000030..3000110 us (largest seam and caller durations; 7 of 8 calls with a seam interval)',
    );
    expect(problems).toContain(
      'totalLatencyUs 3037 us, the history allows 3027481..3037029 us (sums of seam and caller durations; 7 of 8 calls with a seam interval)',
    );
  });

  it('catches latency in ns (x1e6 from ms, the catalogue variant latency-in-nanoseconds)', () => {
    const { record, metrics } = replay({ ...RIGHT, latencyUs: (c) => (c.clock[1] - c.clock[0]) * 1e6 });
    expect(checkMetricsAgainstRecord(record, metrics).join('\n')).toMatch(
      /^minLatencyUs 1239000 us, the history allows 0\.\.1280 us/m,
    );
  });

  it("catches a clock started after the pool's wait (when the pool hands the call to the connector)", () => {
    // The client restarts its clock 2 µs before the connector sees the call: the connects of A
    // and E, and B's wait on the creation lock, drop out of what it records.
    const handedOver = (c: HandMade) => (c.acquiredAt === undefined ? c.clock[0] : c.acquiredAt - 0.002);
    const { record, metrics } = replay({ ...RIGHT, latencyUs: (c) => (c.clock[1] - handedOver(c)) * 1000 });
    const problems = checkMetricsAgainstRecord(record, metrics);
    // A records 4.511 ms (seam from its connect: 12.164 ms), E 1.806 ms (seam 4.861 ms), B 2.896
    // ms: the sum falls 9 ms under the sum of seam intervals, and the median under rank 4's bounds.
    expect(problems.some((p) => p.startsWith('totalLatencyUs 3018132 us, the history allows 3027481..3037029 us'))).toBe(true);
    expect(
      problems.some((p) => p.startsWith('summary p50LatencyUs 2549 us, the history allows 2680..2753 us (rank 4 of 8')),
    ).toBe(true);
  });

  it('catches percentiles computed over the wrong set (failures recorded through a view whose histogram is never merged)', () => {
    // The failure path records into a second view of the same counters (as a worker would), and
    // nobody merges its histogram back: the counts are right, the percentiles are over successes.
    const { record, metrics } = replay({ ...RIGHT, into: (c, m) => (c.ok ? m : failuresOf(m)) });
    const problems = checkMetricsAgainstRecord(record, metrics);
    expect(problems).toContain('histogram holds 5 latencies, the history has 8 calls');
    // p90 over the 5 successes is their largest, 12.222 ms (12223 in its histogram bucket); over all
    // 8 calls it is the 8th, D's 3 s deadline: 3000030..3000110 µs, widened by 0.1%.
    expect(
      problems.some((p) => p.startsWith('summary p90LatencyUs 12223 us, the history allows 2997030..3003110 us (rank 8 of 8')),
    ).toBe(true);
    // The counters themselves are right: only the histogram saw the wrong set.
    expect(problems.filter((p) => p.startsWith('counts'))).toEqual([]);
  });

  it('catches a failure not counted (recordFailure dropped on the error path)', () => {
    const { record, metrics } = replay({ ...RIGHT, latencyUs: (c) => (c.ok ? RIGHT.latencyUs(c) : undefined) });
    expect(checkMetricsAgainstRecord(record, metrics)).toContain('counts total/ok/failed 5/5/0, the history has 8/5/3');
  });

  it('catches activeClients counted per call instead of per client', () => {
    const { record, metrics } = replay({ ...RIGHT, activePer: 'call' });
    const problems = checkMetricsAgainstRecord(record, metrics);
    expect(problems).toEqual([
      // B joins A on client 0: 2 for one client; then 3 at E, F and G's starts, and at 4 seam middles.
      'activeClients 2 at 4711.244 ms (after a change), but only 1 client(s) had a call in flight (and 7 more); peak 3, most clients in flight at once 2',
    ]);
  });

  it('catches a client that leaves activeClients when its first call ends, not its last', () => {
    // Client 0's B ends while A is still at the connector: a right client stays active.
    const { metrics } = replay(RIGHT);
    const trace = [
      { at: 4711.219, active: 1 },
      { at: 4712.015, active: 2 },
      { at: 4716.922, active: 1 },
      { at: 4717.11, active: 2 },
      { at: 4719.668, active: 1 },
      { at: 4719.712, active: 2 },
      { at: 4720.951, active: 1 },
      { at: 4721.851, active: 0 }, // the bug: B's end took client 0 out while A was still at the connector
      { at: 4724.022, active: 1 },
      { at: 4726.401, active: 0 },
      { at: 4726.512, active: 1 },
      { at: 4727.311, active: 2 },
      { at: 4730.027, active: 1 },
      { at: 7726.59, active: 0 },
    ];
    const problems = checkMetricsAgainstRecord({ calls: RUN, activeClients: trace }, metrics);
    expect(problems).toEqual(['activeClients 0 at 4721.851 ms (after a change), but 1 client(s) had a call at the connector']);
  });

  it('catches a client that never counts itself (an empty trace while calls reached the connector)', () => {
    const { metrics } = replay(RIGHT);
    const problems = checkMetricsAgainstRecord({ calls: RUN, activeClients: [] }, metrics);
    expect(problems).toEqual([
      // A's seam middle, where F is at the connector too; then the 6 other seam middles.
      'activeClients 0 at 4717.333 ms (in the middle of a seam interval), but 2 client(s) had a call at the connector (and 6 more)',
    ]);
  });

  it('catches activeClients left above 0 at the end (a clientFinished missed)', () => {
    const { record, metrics } = replay(RIGHT);
    metrics.clientStarted();
    expect(checkMetricsAgainstRecord({ calls: record.calls }, metrics)).toEqual([
      'activeClients is 1 once every call has ended, not 0',
    ]);
  });
});

/** The view the failure path of the wrong-set client records into, one per metrics instance. */
const failureViews = new WeakMap<LoadTestMetrics, LoadTestMetrics>();
function failuresOf(m: LoadTestMetrics): LoadTestMetrics {
  let v = failureViews.get(m);
  if (!v) {
    v = LoadTestMetrics.attach(m.buffer);
    failureViews.set(m, v);
  }
  return v;
}

describe('the conventions the check relies on', () => {
  it('reads every percentile summarize() reports', () => {
    expect(reportedPercentiles(summarize(new LoadTestMetrics())).map((p) => p.percentile)).toEqual([50, 90, 99, 99.9]);
  });

  test.prop([fc.uniqueArray(fc.integer({ min: 1, max: 999 }), { minLength: 1, maxLength: 999 })])(
    "summarize's percentiles are nearest ranks (exact below 1000 us)",
    (values) => {
      const m = new LoadTestMetrics();
      for (const v of values) m.recordSuccess(v);
      const sorted = [...values].sort((a, b) => a - b);
      const s = summarize(m);
      for (const { key, percentile } of reportedPercentiles(s)) {
        expect(s[key], key).toBe(sorted[nearestRank(percentile, values.length) - 1]);
      }
    },
  );
});

/**
 * A call timeline a correct client could live through: the caller's start, then (maybe) a connect
 * and the handover, the result, the end; the client's clock somewhere between the caller's and the
 * seam's ends. Offsets in ms, down to 0 (equal times) and sub-µs.
 */
const offset = fc.oneof(
  fc.constant(0),
  fc.double({ min: 0, max: 0.002, noNaN: true }),
  fc.double({ min: 0, max: 40, noNaN: true }),
);
const generatedCall = fc
  .record({
    start: fc.double({ min: 1_000, max: 100_000, noNaN: true }),
    toClock: offset,
    toConnect: fc.option(offset),
    toHandover: offset,
    rpc: offset,
    toClockEnd: offset,
    toEnd: offset,
    ok: fc.boolean(),
    client: fc.constantFrom('0', '1', '2'),
    seamKnown: fc.boolean(),
  })
  .map((g): HandMade => {
    const clock0 = g.start + g.toClock;
    const connectAt = g.toConnect === null ? undefined : clock0 + g.toConnect;
    const acquiredAt = (connectAt ?? clock0) + g.toHandover;
    const rpcDoneAt = acquiredAt + g.rpc;
    const clock1 = rpcDoneAt + g.toClockEnd;
    return {
      name: `${g.start}`,
      client: g.client,
      ok: g.ok,
      start: g.start,
      end: clock1 + g.toEnd,
      clock: [clock0, clock1],
      ...(g.seamKnown ? { connectAt, acquiredAt, rpcDoneAt } : {}),
    };
  });

describe('no false alarm', () => {
  test.prop([fc.array(generatedCall, { maxLength: 40 })])('a correct client passes on any timeline', (run) => {
    const { record, metrics } = replay(RIGHT, run);
    expect(checkMetricsAgainstRecord(record, metrics)).toEqual([]);
  });

  it('an empty run: everything 0', () => {
    expect(checkMetricsAgainstRecord({ calls: [], activeClients: [] }, new LoadTestMetrics())).toEqual([]);
    const m = new LoadTestMetrics();
    m.recordFailure(5);
    expect(checkSnapshotAgainstRecord({ calls: [] }, snapshotOf(m))).toEqual([
      'counts total/ok/failed 1/0/1, the history has 0/0/0',
      'histogram holds 1 latencies, the history has 0 calls',
      'minLatencyUs 5 with no call',
      'maxLatencyUs 5 with no call',
      'totalLatencyUs 5 with no call',
      'summary p50LatencyUs 5 with no call',
      'summary p90LatencyUs 5 with no call',
      'summary p99LatencyUs 5 with no call',
      'summary p999LatencyUs 5 with no call',
    ]);
  });
});

// The real PoolClient and ConnectionPool (through the own adapter, as the parallel property drives
// them) over an in-memory connector with real timers; the record is made the way the property's
// observer makes it. The same run through patched copies of the client shows the bugs caught
// in the code itself, not only in hand-made numbers.

interface Live {
  start: number;
  end: number;
  ok: boolean;
  client: string;
  connectAt?: number;
  acquiredAt?: number;
  rpcDoneAt?: number;
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

function timedConnector(context: AsyncLocalStorage<Live>): Connector {
  let nextId = 1;
  return {
    connect: async (target) => {
      const op = context.getStore();
      if (op && op.connectAt === undefined) op.connectAt = performance.now();
      await sleep(6);
      return { id: nextId++, keyId: target.keyId, address: target.address };
    },
    close: async () => {},
    call: (connection, request) => {
      const op = context.getStore();
      if (op) op.acquiredAt = performance.now();
      const done = (async (): Promise<UnaryReply> => {
        await sleep(request.delayMs ?? 1);
        if (request.failCode) throw new GrpcStatusError(request.failCode, 'asked to fail', 'Call');
        return { requestId: request.requestId, payload: new Uint8Array(), timesSeen: 1, serverId: connection.address };
      })();
      return done.then(
        (v) => {
          if (op) op.rpcDoneAt = performance.now();
          return v;
        },
        (error: unknown) => {
          if (op) op.rpcDoneAt = performance.now();
          throw error;
        },
      );
    },
    health: async () => 'SERVING',
  };
}

/** Worker threads recording into the run's own metrics while it runs: what they record, and whether their histograms are merged. */
interface Sharing {
  readonly workers: SharedMetricsWorkers;
  readonly lists: readonly (readonly Recording[])[];
  readonly merge: boolean;
}

async function liveRun(adapter: PoolAdapter, sharing?: Sharing): Promise<string[]> {
  const context = new AsyncLocalStorage<Live>();
  const metrics = new LoadTestMetrics();
  const samples = traceActiveClients(metrics);
  // Started before the calls and spread over about the run's length, so that the workers' records
  // land among the client's.
  const shared = sharing?.workers.record(metrics.buffer, sharing.lists, { spreadMs: 20 });
  const pool = adapter.create({ connector: timedConnector(context), name: 'metrics-check', deadlineMs: 1_000, metrics });
  const addresses = ['127.0.0.1:50051', '127.0.0.2:50051'];
  const calls: Live[] = [];
  let id = 0;
  const call = async (i: number, delayMs: number, failCode = 0) => {
    const rec: Live = { start: performance.now(), end: 0, ok: false, client: String(i) };
    calls.push(rec);
    await context.run(rec, async () => {
      try {
        await pool.call(addresses[i] as string, { requestId: `r${id++}`, delayMs, failCode });
        rec.ok = true;
      } catch {
        rec.ok = false;
      }
    });
    rec.end = performance.now();
  };
  // Client 0: a wave of three (one opens the connection, two wait on it), then two in a row.
  // Client 1, at the same time: one call opens its connection, then a failure and a success overlap.
  await Promise.all([
    (async () => {
      await Promise.all([call(0, 3), call(0, 1), call(0, 2, 13)]);
      await call(0, 2);
      await call(0, 1, 14);
    })(),
    (async () => {
      await call(1, 2);
      await Promise.all([call(1, 4, 4), call(1, 1)]);
    })(),
  ]);
  await pool.close();
  if (sharing) {
    const histograms = (await shared) as string[];
    if (sharing.merge) for (const h of histograms) metrics.mergeHistogram(h);
  }
  return checkMetricsAgainstRecord({ calls, activeClients: samples, otherThreads: sharing?.lists.flat() }, metrics);
}

const CLIENT = 'client/pool-client.ts';
const CLIENT_BUGS: Record<string, readonly SourcePatch[]> = {
  'ms-as-us': [
    {
      file: CLIENT,
      find: 'this.#metrics?.recordSuccess((performance.now() - started) * 1000);',
      replace: 'this.#metrics?.recordSuccess(performance.now() - started);',
    },
  ],
  'clock-after-pool-wait': [
    { file: CLIENT, find: 'const started = performance.now();', replace: 'let started = performance.now();' },
    {
      file: CLIENT,
      find: '(c) => this.pool.connector.call(c, request, deadlineMs));',
      replace:
        '(c) => {\n        started = performance.now();\n        return this.pool.connector.call(c, request, deadlineMs);\n      });',
    },
  ],
  'failure-not-counted': [
    { file: CLIENT, find: '      this.#metrics?.recordFailure((performance.now() - started) * 1000);\n', replace: '' },
  ],
  'active-per-call': [
    {
      file: CLIENT,
      find: 'if (this.#callsInFlight++ === 0) this.#metrics?.clientStarted();',
      replace: 'this.#callsInFlight++;\n    this.#metrics?.clientStarted();',
    },
    {
      file: CLIENT,
      find: 'if (--this.#callsInFlight === 0) this.#metrics?.clientFinished();',
      replace: '--this.#callsInFlight;\n      this.#metrics?.clientFinished();',
    },
  ],
};

describe('the real client over timed seams', () => {
  it('passes: every bound holds with the real clocks', async () => {
    // Repeated: the bounds must hold however the timers fall.
    for (let k = 0; k < 5; k++) expect(await liveRun(ownAdapter)).toEqual([]);
  });

  it.each(Object.entries(CLIENT_BUGS))('catches the bug typed into the client: %s', async (name, patches) => {
    const adapter = await loadPatchedStack(`metrics-check-${name}`, patches);
    const problems = await liveRun(adapter);
    const expected: Record<string, RegExp> = {
      // Successes 1000x too small: the sum falls under the sum of seam intervals.
      'ms-as-us': /^totalLatencyUs \d+ us, the history allows \d+\.\.\d+ us/m,
      // The two connects (6 ms each) drop out of what the calls that made them record.
      'clock-after-pool-wait': /^totalLatencyUs \d+ us, the history allows \d+\.\.\d+ us/m,
      'failure-not-counted': /^counts total\/ok\/failed 5\/5\/0, the history has 8\/5\/3$/m,
      'active-per-call': /^activeClients 2 at [\d.]+ ms \(after a change\), but only 1 client\(s\) had a call in flight/m,
    };
    expect(problems.join('\n')).toMatch(expected[name] as RegExp);
  });
});

describe('the real client over timed seams, its metrics shared by worker_threads during the run', () => {
  let workers: SharedMetricsWorkers;
  beforeAll(async () => {
    workers = await SharedMetricsWorkers.start(2);
  });
  afterAll(async () => {
    await workers?.close();
  });
  // Known latencies, recorded by two threads into the run's own buffer while the client records.
  const lists: Recording[][] = [
    Array.from({ length: 40 }, (_, k) => ({ latencyUs: 200 + 37 * k, ok: k % 4 !== 0 })),
    Array.from({ length: 25 }, (_, k) => ({ latencyUs: 3_000_000 + k, ok: k % 2 === 0 })),
  ];

  it('passes: the history plus what the threads recorded, exactly', async () => {
    expect(await liveRun(ownAdapter, { workers, lists, merge: true })).toEqual([]);
  });

  it("catches the threads' histograms not merged back", async () => {
    expect(await liveRun(ownAdapter, { workers, lists, merge: false })).toContain(
      'histogram holds 8 latencies, the history has 73 calls (8 in the history, 65 from other threads)',
    );
  });
});
