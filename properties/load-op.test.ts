import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { History } from '../src/harness/history.js';
import type { FixedRateOptions, FixedRateResult } from '../src/load/fixed-rate.js';
import { failureKey, type LoadResult, LoadTally, type RequestContext, type SendRequest } from '../src/load/load-result.js';
import { createLatencyHistogram } from '../src/metrics/latency-histogram.js';
import { LoadTestMetrics } from '../src/metrics/load-test-metrics.js';
import { GrpcStatusError, PoolClosedError } from '../src/pool/errors.js';
import { GrpcConnector } from '../src/pool/grpc-connector.js';
import { TestServer } from '../src/server/test-server.js';
import { ownAdapter } from './adapter/adapters/own-pool.js';
import { CALL_DEADLINE_MS } from './backend.js';
import {
  checkLoadAccounting,
  describeLoadOp,
  describeLoadShape,
  LOAD_KINDS,
  LOAD_REQUESTS,
  type LoadKind,
  type LoadRunners,
  type LoadShape,
  LoadShapeTextError,
  loadCallFailure,
  loadCountName,
  loadShapeArbitrary,
  parseLoadOp,
  parseLoadShape,
  planLoadShape,
  runLoadShape,
  smallerLoadShapes,
} from './load-op.js';
import { SimulatedBackend } from './simulated-backend.js';

// ---------------------------------------------------------------------------------------------
// A small in-memory server: a ledger of ids, and per request (in arrival order, cycling through a
// generated list) how it is answered: when (at once, after a few turns, after setImmediate) and
// whether it fails before reaching the server, after it, or with the pool closed.

interface Behaviour {
  readonly delay: 'resolved' | 'turns' | 'immediate';
  readonly fail: 'no' | 'unavailable-before' | 'internal-after' | 'pool-closed' | 'throws-sync';
}

const behaviourArb: fc.Arbitrary<Behaviour> = fc.record({
  delay: fc.constantFrom('resolved', 'turns', 'immediate'),
  fail: fc.constantFrom('no', 'no', 'no', 'unavailable-before', 'internal-after', 'pool-closed', 'throws-sync'),
});
const behavioursArb = fc.array(behaviourArb, { minLength: 1, maxLength: 6 });

function fakeServer(behaviours: readonly Behaviour[]) {
  const ledger = new Map<string, number>();
  const metrics = new LoadTestMetrics();
  let k = 0;
  const wait = async (delay: Behaviour['delay']) => {
    if (delay === 'turns') for (let t = 0; t < 3; t++) await Promise.resolve();
    if (delay === 'immediate') await new Promise<void>((r) => setImmediate(r));
  };
  const send = (id: string): Promise<unknown> => {
    const b = behaviours[k++ % behaviours.length] as Behaviour;
    const started = performance.now();
    if (b.fail === 'throws-sync') {
      metrics.recordFailure(1);
      throw new GrpcStatusError(3, 'thrown before any promise', 'Call');
    }
    return (async () => {
      try {
        await wait(b.delay);
        if (b.fail === 'unavailable-before') throw new GrpcStatusError(14, 'connection refused', 'Call');
        if (b.fail === 'pool-closed') throw new PoolClosedError('get a connection');
        ledger.set(id, (ledger.get(id) ?? 0) + 1);
        await wait(b.delay);
        if (b.fail === 'internal-after') throw new GrpcStatusError(13, 'failed on request', 'Call');
        metrics.recordSuccess((performance.now() - started) * 1000);
        return { requestId: id };
      } catch (error) {
        metrics.recordFailure((performance.now() - started) * 1000);
        throw error;
      }
    })();
  };
  return { send, seen: async (id: string) => ledger.get(id) ?? 0, metrics };
}

const idsFrom = (prefix: string) => {
  let n = 0;
  return () => `${prefix}-${++n}`;
};

async function runOnFake(shape: LoadShape, behaviours: readonly Behaviour[], runners: Partial<LoadRunners> = {}) {
  const server = fakeServer(behaviours);
  const record = await runLoadShape(shape, server.send, idsFrom('fake'), runners);
  return { record, problems: await checkLoadAccounting(record, server.seen, server.metrics.counts()) };
}

const kindArb = (kind: LoadKind) => loadShapeArbitrary({ kinds: [kind] });

// ---------------------------------------------------------------------------------------------

describe('load shapes: generation and text', () => {
  it('generates small shapes of every kind, 2 to 12 requests', () => {
    const seen = new Set<string>();
    fc.assert(
      fc.property(loadShapeArbitrary(), (shape) => {
        seen.add(shape.kind);
        const planned = planLoadShape(shape).reduce((n, p) => n + p.slots.length, 0);
        expect(planned).toBeGreaterThanOrEqual(LOAD_REQUESTS.min);
        expect(planned).toBeLessThanOrEqual(LOAD_REQUESTS.max);
        if (shape.kind === 'fixed-rate') {
          expect(shape.durationMs).toBeGreaterThanOrEqual(20);
          expect(shape.durationMs).toBeLessThanOrEqual(60);
          // At most 10 ms between sends: a simulated run's deadlock watch (60 ms quiet) never fires on the pacing.
          expect(1000 / shape.ratePerSec).toBeLessThanOrEqual(10);
        }
      }),
      { numRuns: 300 },
    );
    expect([...seen].sort()).toEqual([...LOAD_KINDS].sort());
  });

  it('text round-trips exactly, both ways', () => {
    fc.assert(
      fc.property(loadShapeArbitrary(), fc.nat(3), (shape, i) => {
        const text = describeLoadShape(shape);
        expect(parseLoadShape(text)).toStrictEqual(shape);
        expect(describeLoadShape(parseLoadShape(text))).toBe(text);
        expect(text).not.toMatch(/[,();]/); // a program line splits on those
        const op = describeLoadOp({ i, shape });
        expect(parseLoadOp(op)).toStrictEqual({ i, shape });
      }),
      { numRuns: 300 },
    );
    expect(describeLoadOp({ i: 0, shape: { kind: 'ramp', stages: [2, 4, 6], requestsPerClient: 1 } })).toBe(
      'load(0, ramp 2→4→6 x1)',
    );
    expect(parseLoadShape('fixed-rate 300/s 40ms w2 max3')).toStrictEqual({
      kind: 'fixed-rate',
      ratePerSec: 300,
      durationMs: 40,
      workers: 2,
      maxInFlight: 3,
    });
    expect(loadCountName(parseLoadShape('spike 6 then 3'))).toBe('load:spike');
  });

  it('refuses text it did not write, with a typed error naming the text', () => {
    for (const text of [
      '',
      'ramp',
      'wave 3',
      'closed-loop 03 x2',
      'closed-loop 0 x2',
      'closed-loop 3x2',
      'burst 2 x 3',
      'ramp 1->2 x1',
      'ramp 1→ x1',
      'spike 5 then 0',
      'fixed-rate 100/s 20ms w1',
      'fixed-rate 100/s 20ms max2 w2',
      'fixed-rate 100/s 20 ms',
      'burst 99999999999999999999 x1',
      ' burst 2 x2',
      'burst 2 x2 ',
    ]) {
      let error: unknown;
      try {
        parseLoadShape(text);
      } catch (e) {
        error = e;
      }
      expect(error, text).toBeInstanceOf(LoadShapeTextError);
      expect((error as LoadShapeTextError).code).toBe('ERR_LOAD_SHAPE_TEXT');
      expect((error as Error).message).toContain(JSON.stringify(text));
    }
    expect(() => parseLoadOp('load(0 burst 2 x2)')).toThrow(LoadShapeTextError);
    expect(() => parseLoadOp('load(0, burst 2 x0)')).toThrow(/cannot read load shape "burst 2 x0"/);
  });

  it('offers a minimiser smaller shapes: fewer requests or fewer parameters, always runnable', () => {
    const planned = (s: LoadShape) => planLoadShape(s).reduce((n, p) => n + p.slots.length, 0);
    const weight = (s: LoadShape) =>
      planned(s) +
      (s.kind === 'fixed-rate' ? s.workers + (s.maxInFlight === undefined ? 0 : 1) : 0) +
      (s.kind === 'ramp' ? s.stages.length : 0);
    fc.assert(
      fc.property(loadShapeArbitrary(), (shape) => {
        for (const smaller of smallerLoadShapes(shape)) {
          expect(planned(smaller)).toBeGreaterThanOrEqual(1);
          expect(weight(smaller)).toBeLessThan(weight(shape));
          expect(parseLoadShape(describeLoadShape(smaller))).toStrictEqual(smaller);
        }
      }),
      { numRuns: 200 },
    );
    expect(smallerLoadShapes(parseLoadShape('burst 1 x1'))).toEqual([]);
  });

  it("maps a parallel run's call outcomes to the failures the runners count", () => {
    expect(failureKey(loadCallFailure('status:14'))).toBe('ERR_GRPC_STATUS:14');
    expect(failureKey(loadCallFailure('pool-closed'))).toBe('ERR_POOL_CLOSED');
    expect(failureKey(loadCallFailure('connect-failed'))).toBe('ERR_CONNECT');
    expect(failureKey(loadCallFailure('unexpected:boom'))).toBe('ERR_LOAD_CALL');
  });
});

describe("src/load's runners keep their accounts", () => {
  it('every generated shape, on a fake server that fails and delays some requests', async () => {
    await fc.assert(
      fc.asyncProperty(loadShapeArbitrary(), behavioursArb, async (shape, behaviours) => {
        const { record, problems } = await runOnFake(shape, behaviours);
        expect(problems).toEqual([]);
        // Recorded per request and per phase, as the op promises.
        expect(record.requests.every((r) => r.settledAt !== undefined && r.settledAt >= r.issuedAt)).toBe(true);
        for (const p of record.phases)
          if (p.planned > 0 && shape.kind !== 'fixed-rate') expect(p.end).toBeGreaterThanOrEqual(p.start ?? 0);
      }),
      { numRuns: 80 },
    );
  });

  it('on the simulated layer: results released by the scheduler, awaited with s.waitFor, servers killed mid-shape', async () => {
    let run = 0;
    await fc.assert(
      fc.asyncProperty(
        fc.scheduler(),
        loadShapeArbitrary(),
        fc.integer({ min: 0, max: 2 * LOAD_REQUESTS.max }),
        fc.constantFrom(0, 3),
        async (s, shape, killAt, failEvery) => {
          const backend = new SimulatedBackend(1);
          const metrics = new LoadTestMetrics();
          const address = backend.addresses[0] as string;
          const pool = ownAdapter.create({
            connector: backend.connector(s, new History()),
            name: `load-sim-${++run}`,
            deadlineMs: CALL_DEADLINE_MS,
            metrics,
          });
          let n = 0;
          const send = (requestId: string) => {
            const k = n++;
            if (k === killAt) void backend.kill(0);
            return pool.call(address, { requestId, failCode: failEvery && k % failEvery === 2 ? 13 : 0 });
          };
          try {
            const record = await s.waitFor(runLoadShape(shape, send, idsFrom(`sim${run}`)));
            const problems = await checkLoadAccounting(record, (id) => backend.timesSeen(0, id), metrics.counts());
            expect(problems).toEqual([]);
          } finally {
            await s.waitFor(pool.close());
            await backend.dispose();
          }
        },
      ),
      { numRuns: 40 },
    );
  });
});

// ---------------------------------------------------------------------------------------------
// Broken runners, each a small copy of the real one with one realistic mistake. Each must be
// caught by the property over generated shapes of its kind (and the shrunk case says how).

/** The ramp with an off-by-one: its last stage never runs (and has no result). */
const rampDropsLastStage: LoadRunners['ramp'] = async (options, send) => {
  const results: LoadResult[] = [];
  let workerBase = 0;
  for (let s = 0; s < options.stages.length - 1; s++) {
    const clients = options.stages[s] as number;
    const tally = new LoadTally();
    const base = workerBase;
    await Promise.all(
      Array.from({ length: clients }, async (_, c) => {
        for (let seq = 0; seq < options.requestsPerClient; seq++) await tally.send(send, { worker: base + c, seq });
      }),
    );
    workerBase += clients;
    results.push(tally.result());
  }
  return results;
};

/** The ramp with one tally for every stage: each stage's result carries the stages before it. */
const rampSharedTally: LoadRunners['ramp'] = async (options, send) => {
  const results: LoadResult[] = [];
  let workerBase = 0;
  const tally = new LoadTally();
  for (const clients of options.stages) {
    const base = workerBase;
    await Promise.all(
      Array.from({ length: clients }, async (_, c) => {
        for (let seq = 0; seq < options.requestsPerClient; seq++) await tally.send(send, { worker: base + c, seq });
      }),
    );
    workerBase += clients;
    results.push(tally.result());
  }
  return results;
};

/** Open loop that forgets the last wait: it resolves once the schedule ends, its last requests still in flight. */
const fixedRateResolvesEarly: LoadRunners['fixedRate'] = async (options: FixedRateOptions, send: SendRequest) => {
  const tally = new LoadTally();
  const total = Math.floor((options.ratePerSec * options.durationMs) / 1000);
  const interval = 1000 / options.ratePerSec;
  const workers = options.workers ?? 1;
  const lateness = createLatencyHistogram();
  const fromIntended = createLatencyHistogram();
  const service = createLatencyHistogram();
  const start = performance.now();
  let next = 0;
  let most = 0;
  let maxLateness = 0;
  let first: number | undefined;
  let last: number | undefined;
  await new Promise<void>((resolve) => {
    const tick = () => {
      while (next < total && start + next * interval <= performance.now()) {
        const seq = next++;
        const intended = start + seq * interval;
        const sentAt = performance.now();
        first ??= sentAt;
        last = sentAt;
        maxLateness = Math.max(maxLateness, sentAt - intended);
        void tally.send(send, { worker: seq % workers, seq, intendedStartMs: intended }).then(() => {
          fromIntended.recordValue(Math.max(1, Math.round((performance.now() - intended) * 1000)));
          service.recordValue(Math.max(1, Math.round((performance.now() - sentAt) * 1000)));
        });
        lateness.recordValue(Math.max(1, Math.round((sentAt - intended) * 1000)));
        most = Math.max(most, tally.inFlight);
      }
      if (next >= total)
        resolve(); // the bug: no wait for what is still in flight
      else setTimeout(tick, Math.max(0, start + next * interval - performance.now()));
    };
    tick();
  });
  const r = tally.result();
  return {
    ...r,
    requestedRatePerSec: options.ratePerSec,
    scheduled: next,
    notSentSaturated: 0,
    firstSendMs: first,
    lastSendMs: last,
    achievedRatePerSec: 0,
    maxLatenessMs: maxLateness,
    latenessUs: lateness,
    fromIntendedStartUs: fromIntended,
    serviceTimeUs: service,
    maxInFlightSeen: most,
    stoppedEarly: false,
  } satisfies FixedRateResult;
};

/** A closed loop that retries a failed request once, and counts the failure and the retry's outcome both. */
const closedLoopRetryCountedTwice: LoadRunners['closedLoop'] = async (options, send) => {
  let issued = 0;
  let succeeded = 0;
  let failed = 0;
  const failures: Record<string, number> = {};
  const count = async (ctx: RequestContext) => {
    try {
      await send(ctx);
      succeeded += 1;
      return true;
    } catch (error) {
      failed += 1;
      failures[failureKey(error)] = (failures[failureKey(error)] ?? 0) + 1;
      return false;
    }
  };
  const started = performance.now();
  await Promise.all(
    Array.from({ length: options.workers }, async (_, w) => {
      for (let seq = 0; seq < (options.requestsPerWorker ?? 0); seq++) {
        issued += 1;
        if (!(await count({ worker: w, seq }))) await count({ worker: w, seq }); // the retry, counted again
      }
    }),
  );
  return { issued, succeeded, failed, failures, elapsedMs: performance.now() - started };
};

/** A closed loop whose workers do not wait for their replies. */
const closedLoopFireAndForget: LoadRunners['closedLoop'] = async (options, send) => {
  const tally = new LoadTally();
  await Promise.all(
    Array.from({ length: options.workers }, async (_, w) => {
      const mine: Promise<void>[] = [];
      for (let seq = 0; seq < (options.requestsPerWorker ?? 0); seq++) mine.push(tally.send(send, { worker: w, seq }));
      await Promise.all(mine);
    }),
  );
  return tally.result();
};

/** Bursts that start the next burst without waiting for the previous one. */
const burstsDoNotWait: LoadRunners['bursts'] = async (options, send) => {
  const tally = new LoadTally();
  const all: Promise<void>[] = [];
  for (let b = 0; b < options.bursts; b++) {
    all.push(...Array.from({ length: options.size }, (_, i) => tally.send(send, { worker: i, seq: b })));
  }
  await Promise.all(all);
  return tally.result();
};

/** A spike whose cool-down starts while the spike is still in flight. */
const spikeCooldownEarly: LoadRunners['spike'] = async (options, send) => {
  const spikeTally = new LoadTally();
  const spike = Promise.all(Array.from({ length: options.spikeClients }, (_, i) => spikeTally.send(send, { worker: i, seq: 0 })));
  const coolTally = new LoadTally();
  for (let seq = 0; seq < (options.cooldownRequests ?? 0); seq++) {
    await coolTally.send(send, { worker: options.spikeClients, seq });
  }
  await spike;
  return { spike: spikeTally.result(), cooldown: coolTally.result() };
};

/** Bursts whose tally keys every failure by the error's class name, not its code. */
const burstsMiskeyFailures: LoadRunners['bursts'] = async (options, send) => {
  let issued = 0;
  let succeeded = 0;
  let failed = 0;
  const failures: Record<string, number> = {};
  for (let b = 0; b < options.bursts; b++) {
    await Promise.all(
      Array.from({ length: options.size }, async (_, i) => {
        issued += 1;
        try {
          await send({ worker: i, seq: b });
          succeeded += 1;
        } catch (error) {
          failed += 1;
          const key = error instanceof Error ? error.name : 'unknown';
          failures[key] = (failures[key] ?? 0) + 1;
        }
      }),
    );
  }
  return { issued, succeeded, failed, failures, elapsedMs: 0 };
};

const BROKEN: readonly {
  readonly name: string;
  readonly kind: LoadKind;
  readonly runners: Partial<LoadRunners>;
  readonly caught: RegExp;
}[] = [
  {
    name: 'a ramp that drops its last stage',
    kind: 'ramp',
    runners: { ramp: rampDropsLastStage },
    caught: /^planned: .* never issued/,
  },
  {
    name: 'a ramp with one tally for all stages',
    kind: 'ramp',
    runners: { ramp: rampSharedTally },
    caught: /^counts: phase 1 \(stage 1\)/,
  },
  {
    name: 'a fixed rate that resolves before its requests settle',
    kind: 'fixed-rate',
    runners: { fixedRate: fixedRateResolvesEarly },
    // Said from the record when a request settles after the runner resolved, and from the runner's
    // own counts when one settled in the turns between its result and its return.
    caught:
      /^settled: the runner returned with \d+ request\(s\) still in flight|^counts: the runner's own counts do not add up: sent (\d+) != ok/,
  },
  {
    name: 'a closed loop that retries and counts both',
    kind: 'closed-loop',
    runners: { closedLoop: closedLoopRetryCountedTwice },
    caught: /^planned: the request of worker \d+ seq \d+ .* was issued 2 times/,
  },
  {
    name: 'a closed loop that does not wait for replies',
    kind: 'closed-loop',
    runners: { closedLoop: closedLoopFireAndForget },
    caught: /^order: loop: worker \d+ sent .* while its previous .* was in flight/,
  },
  {
    name: 'bursts that do not wait for the previous burst',
    kind: 'burst',
    runners: { bursts: burstsDoNotWait },
    caught: /^order: burst 1 started .* while burst 0 still had .* in flight/,
  },
  {
    name: 'a spike whose cool-down does not wait',
    kind: 'spike',
    runners: { spike: spikeCooldownEarly },
    caught: /^order: cool-down started .* while spike still had .* in flight/,
  },
  {
    name: 'bursts that key failures by class name',
    kind: 'burst',
    runners: { bursts: burstsMiskeyFailures },
    caught: /^counts: the runner reports .*GrpcStatusError/,
  },
];

describe('broken runners are caught by the property', () => {
  for (const b of BROKEN) {
    it(b.name, async () => {
      const out = await fc.check(
        fc.asyncProperty(kindArb(b.kind), behavioursArb, async (shape, behaviours) => {
          const { problems } = await runOnFake(shape, behaviours, b.runners);
          expect(problems).toEqual([]);
        }),
        { numRuns: 100, seed: 19 },
      );
      expect(out.failed, `${b.name} was not caught`).toBe(true);
      const [shape, behaviours] = out.counterexample as [LoadShape, Behaviour[]];
      const { problems } = await runOnFake(shape, behaviours, b.runners);
      // What the failing property prints, shrunk.
      console.log(`${b.name}: ${describeLoadShape(shape)} -> ${problems.join(' | ')}`);
      expect(problems.some((p) => b.caught.test(p))).toBe(true);
      // The same shape through src/load's own runner holds.
      expect((await runOnFake(shape, behaviours)).problems).toEqual([]);
    });
  }
});

describe('on the live path', () => {
  it("a real TestServer, this project's pool over GrpcConnector, the server's ledger", async () => {
    const server = await TestServer.start();
    const metrics = new LoadTestMetrics();
    const pool = ownAdapter.create({ connector: new GrpcConnector(), name: 'load-live', deadlineMs: CALL_DEADLINE_MS, metrics });
    const ids = idsFrom('live');
    const shapes = [
      ...[
        'closed-loop 3 x2',
        'fixed-rate 300/s 40ms w2',
        'fixed-rate 400/s 30ms max2',
        'burst 4 x3',
        'ramp 1→2→3 x2',
        'spike 6 then 3',
      ].map(parseLoadShape),
      ...fc.sample(loadShapeArbitrary(), { numRuns: 6, seed: 19 }),
    ];
    try {
      for (const shape of shapes) {
        const before = metrics.counts();
        let n = 0;
        const record = await runLoadShape(
          shape,
          (requestId) => pool.call(server.address, { requestId, failCode: n++ % 4 === 3 ? 13 : 0 }),
          ids,
        );
        const after = metrics.counts();
        const problems = await checkLoadAccounting(record, async (id) => server.ledger.timesSeen(id), {
          totalRequests: after.totalRequests - before.totalRequests,
          successfulRequests: after.successfulRequests - before.successfulRequests,
          failedRequests: after.failedRequests - before.failedRequests,
        });
        expect(problems, describeLoadShape(shape)).toEqual([]);
        expect(record.requests.some((r) => r.failure === 'ERR_GRPC_STATUS:13') || record.requests.length < 4).toBe(true);
        // Well under a second here, alone; the bound leaves a loaded machine room and stays under one
        // call deadline (3 s), so a request that waits its deadline out still fails it.
        expect(record.endedAt - record.startedAt, describeLoadShape(shape)).toBeLessThan(2_500);
      }
    } finally {
      await pool.close();
      await server.close();
    }
  });
});
