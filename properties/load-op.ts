/**
 * Load shapes as one more client operation (issue 19): a generated closed loop, fixed rate, burst,
 * ramp or spike, run through `src/load`'s own runners (the code under test), recorded request by
 * request, and checked for accounting: every planned request issued once, settled once, seen by
 * the server once, counted once by the runners and the metrics, and each phase waiting for the last
 * where its runner promises it.
 *
 * What each runner promises, and so what `checkLoadAccounting` holds it to (the quotes are from
 * `src/load`; every check also says which promise it holds in its message):
 *
 * - every runner: `RequestContext` names each request by worker and sequence number, so a plan is a
 *   set of (worker, seq) slots; `LoadResult`: "Every request issued is counted once, as succeeded or
 *   failed: none is dropped", so a runner resolves only once what it issued has settled.
 * - closed loop (`runClosedLoop`): "Workers sending concurrently, each one request at a time";
 *   "each worker sends its next request as soon as the previous one ends". One phase.
 * - fixed rate (`FixedRateRun`): open loop, "request k is due at start + k / rate ... whether or not
 *   earlier requests have finished": no wait between requests, but each is sent at its intended
 *   start or later, intended starts 1/rate apart; "Runs the schedule, then waits for the requests in
 *   flight"; `scheduled` is "floor(rate x duration) ... Sent + not sent"; `maxInFlight` bounds what
 *   is in flight; each sent request is measured once in each histogram. One phase.
 * - burst (`runBursts`): "`size` requests at once, then the next burst when all have ended".
 * - ramp (`runRamp`): "Stage by stage, more clients at once ..., each sending `requestsPerClient`
 *   requests one after another; a stage starts when the previous has ended"; one result per stage.
 * - spike (`runSpike`): "A spike of `spikeClients` requests at once, then a cool-down of requests
 *   sent one after another" (worker `spikeClients`); one result for each.
 */
import fc from 'fast-check';
import { runClosedLoop } from '../src/load/closed-loop.js';
import { runFixedRate } from '../src/load/fixed-rate.js';
import { failureKey, type LoadResult, type RequestContext, type SendRequest } from '../src/load/load-result.js';
import { runBursts, runRamp, runSpike } from '../src/load/shapes.js';
import type { MetricsCounts } from '../src/metrics/load-test-metrics.js';
import { describeError } from './outcomes.js';

// ---------------------------------------------------------------------------------------------
// Shapes

export type LoadShape =
  /** `workers` workers, each sending `requestsPerWorker` requests one after another. */
  | { readonly kind: 'closed-loop'; readonly workers: number; readonly requestsPerWorker: number }
  /** Open loop: `ratePerSec` for `durationMs`, labelled over `workers`, at most `maxInFlight` in flight (runner default when absent). */
  | {
      readonly kind: 'fixed-rate';
      readonly ratePerSec: number;
      readonly durationMs: number;
      readonly workers: number;
      readonly maxInFlight?: number;
    }
  /** `size` requests at once, `bursts` times. */
  | { readonly kind: 'burst'; readonly size: number; readonly bursts: number }
  /** Stage by stage, `stages[k]` clients at once, each sending `requestsPerClient` one after another. */
  | { readonly kind: 'ramp'; readonly stages: readonly number[]; readonly requestsPerClient: number }
  /** `spikeClients` requests at once, then `cooldownRequests` one after another. */
  | { readonly kind: 'spike'; readonly spikeClients: number; readonly cooldownRequests: number };

export type LoadKind = LoadShape['kind'];
export const LOAD_KINDS: readonly LoadKind[] = ['closed-loop', 'fixed-rate', 'burst', 'ramp', 'spike'];

/** Fewest and most requests a generated shape plans. */
export const LOAD_REQUESTS = { min: 2, max: 12 } as const;

/**
 * Small shapes of each kind: 2 to 12 requests; a fixed rate runs 20 to 60 ms at 100/s or more (at
 * most 10 ms between sends, so a simulated run's deadlock watch, 60 ms of quiet, never sees its
 * pacing as a hang). Closed loops and spikes are given counts, not durations: their request count
 * is then fixed by the shape, and no pattern but the fixed rate reads the clock, so on the
 * simulated layer only a fixed rate's schedule depends on wall time (leave it out with `kinds`
 * where a run must replay exactly, as in the model checker).
 */
export function loadShapeArbitrary(options: { readonly kinds?: readonly LoadKind[] } = {}): fc.Arbitrary<LoadShape> {
  const kinds = options.kinds ?? LOAD_KINDS;
  const all: Record<LoadKind, fc.Arbitrary<LoadShape>> = {
    'closed-loop': fc
      .record({ workers: fc.integer({ min: 1, max: 4 }), requestsPerWorker: fc.integer({ min: 1, max: 3 }) })
      .map(({ workers, requestsPerWorker }) => ({
        kind: 'closed-loop' as const,
        workers,
        requestsPerWorker: workers * requestsPerWorker < LOAD_REQUESTS.min ? LOAD_REQUESTS.min : requestsPerWorker,
      })),
    'fixed-rate': fc
      .record({
        tens: fc.integer({ min: 2, max: 6 }),
        extra: fc.integer({ min: 0, max: 10 }),
        workers: fc.integer({ min: 1, max: 3 }),
        maxInFlight: fc.option(fc.integer({ min: 1, max: 4 }), { freq: 2, nil: undefined }),
      })
      .map(({ tens, extra, workers, maxInFlight }) => {
        const durationMs = tens * 10;
        // At least one request per 10 ms (a rate of 100/s or more), at most 12 in all.
        const count = Math.min(LOAD_REQUESTS.max, Math.max(LOAD_REQUESTS.min, tens) + extra);
        // The smallest whole rate with floor(rate x duration / 1000) = count.
        const ratePerSec = Math.ceil((count * 1000) / durationMs);
        return {
          kind: 'fixed-rate' as const,
          ratePerSec,
          durationMs,
          workers,
          ...(maxInFlight === undefined ? {} : { maxInFlight }),
        };
      }),
    burst: fc
      .record({ size: fc.integer({ min: 1, max: 4 }), bursts: fc.integer({ min: 1, max: 3 }) })
      .map(({ size, bursts }) => ({ kind: 'burst' as const, size, bursts: size * bursts < LOAD_REQUESTS.min ? 2 : bursts })),
    ramp: fc
      .record({
        stages: fc.array(fc.integer({ min: 1, max: 4 }), { minLength: 1, maxLength: 3 }),
        requestsPerClient: fc.integer({ min: 1, max: 2 }),
      })
      .map(({ stages, requestsPerClient }) => {
        const sorted = [...stages].sort((a, b) => a - b);
        const clients = sorted.reduce((n, c) => n + c, 0);
        const perClient =
          clients < LOAD_REQUESTS.min ? 2 : clients * requestsPerClient > LOAD_REQUESTS.max ? 1 : requestsPerClient;
        return { kind: 'ramp' as const, stages: sorted, requestsPerClient: perClient };
      }),
    spike: fc
      .record({ spikeClients: fc.integer({ min: 1, max: 8 }), cooldownRequests: fc.integer({ min: 1, max: 4 }) })
      .map(({ spikeClients, cooldownRequests }) => ({ kind: 'spike' as const, spikeClients, cooldownRequests })),
  };
  const chosen = kinds.map((k) => all[k]);
  if (chosen.length === 0) throw new RangeError('loadShapeArbitrary needs at least one kind');
  return fc.oneof(...chosen);
}

/** The name a load operation is counted under in `--json` (`load:ramp`, `load:fixed-rate`, ...). */
export function loadCountName(shape: LoadShape): string {
  return `load:${shape.kind}`;
}

/**
 * Most requests of the shape that run one after another: what a live phase limit must allow for
 * (each may wait out its deadline behind a black hole). A fixed rate sends on regardless: 1.
 */
export function loadSequentialDepth(shape: LoadShape): number {
  switch (shape.kind) {
    case 'closed-loop':
      return shape.requestsPerWorker;
    case 'fixed-rate':
      return 1;
    case 'burst':
      return shape.bursts;
    case 'ramp':
      return shape.stages.length * shape.requestsPerClient;
    case 'spike':
      return 1 + shape.cooldownRequests;
  }
}

/**
 * Shapes one step smaller than `shape` (fewer workers, requests, stages, bursts; no in-flight
 * bound; one worker), for a minimiser that shrinks programs itself (`properties/minimise.ts`
 * `simpler`). Each still plans at least one request; fast-check shrinks generated ones on its own.
 */
export function smallerLoadShapes(shape: LoadShape): LoadShape[] {
  const out: LoadShape[] = [];
  switch (shape.kind) {
    case 'closed-loop':
      if (shape.workers > 1) out.push({ ...shape, workers: shape.workers - 1 });
      if (shape.requestsPerWorker > 1) out.push({ ...shape, requestsPerWorker: shape.requestsPerWorker - 1 });
      break;
    case 'fixed-rate': {
      const { maxInFlight, ...unbounded } = shape;
      if (maxInFlight !== undefined) out.push(unbounded);
      if (shape.workers > 1) out.push({ ...shape, workers: 1 });
      const count = Math.floor((shape.ratePerSec * shape.durationMs) / 1000);
      if (count > 1) out.push({ ...shape, ratePerSec: Math.ceil(((count - 1) * 1000) / shape.durationMs) });
      break;
    }
    case 'burst':
      if (shape.bursts > 1) out.push({ ...shape, bursts: shape.bursts - 1 });
      if (shape.size > 1) out.push({ ...shape, size: shape.size - 1 });
      break;
    case 'ramp':
      shape.stages.forEach((c, k) => {
        if (shape.stages.length > 1) out.push({ ...shape, stages: shape.stages.filter((_, j) => j !== k) });
        if (c > 1) out.push({ ...shape, stages: shape.stages.map((x, j) => (j === k ? x - 1 : x)) });
      });
      if (shape.requestsPerClient > 1) out.push({ ...shape, requestsPerClient: shape.requestsPerClient - 1 });
      break;
    case 'spike':
      if (shape.spikeClients > 1) out.push({ ...shape, spikeClients: shape.spikeClients - 1 });
      if (shape.cooldownRequests > 1) out.push({ ...shape, cooldownRequests: shape.cooldownRequests - 1 });
      break;
  }
  return out;
}

// ---------------------------------------------------------------------------------------------
// Text: `closed-loop 3 x2`, `fixed-rate 300/s 40ms w2 max3`, `burst 4 x3`, `ramp 1→2→4 x2`,
// `spike 6 then 3`; as an operation, `load(0, ramp 1→2→4 x2)`. No commas, parentheses or `;`, so
// a program line splits around it. Only the canonical form is read: text round-trips exactly.

/** A load shape's text that cannot be read back. */
export class LoadShapeTextError extends Error {
  readonly code = 'ERR_LOAD_SHAPE_TEXT';
  constructor(
    readonly text: string,
    why: string,
  ) {
    super(`cannot read load shape ${JSON.stringify(text)}: ${why}`);
    this.name = 'LoadShapeTextError';
  }
}

export function describeLoadShape(shape: LoadShape): string {
  switch (shape.kind) {
    case 'closed-loop':
      return `closed-loop ${shape.workers} x${shape.requestsPerWorker}`;
    case 'fixed-rate':
      return (
        `fixed-rate ${shape.ratePerSec}/s ${shape.durationMs}ms` +
        (shape.workers === 1 ? '' : ` w${shape.workers}`) +
        (shape.maxInFlight === undefined ? '' : ` max${shape.maxInFlight}`)
      );
    case 'burst':
      return `burst ${shape.size} x${shape.bursts}`;
    case 'ramp':
      return `ramp ${shape.stages.join('→')} x${shape.requestsPerClient}`;
    case 'spike':
      return `spike ${shape.spikeClients} then ${shape.cooldownRequests}`;
  }
}

const N = '([1-9]\\d*)';
const SHAPE_FORMS: readonly { readonly re: RegExp; readonly form: string; readonly read: (m: string[]) => LoadShape }[] = [
  {
    re: new RegExp(`^closed-loop ${N} x${N}$`),
    form: 'closed-loop W xN',
    read: (m) => ({ kind: 'closed-loop', workers: int(m[1]), requestsPerWorker: int(m[2]) }),
  },
  {
    re: new RegExp(`^fixed-rate ${N}/s ${N}ms(?: w([2-9]|[1-9]\\d+))?(?: max${N})?$`),
    form: 'fixed-rate R/s Dms [wW (W >= 2)] [maxM]',
    read: (m) => ({
      kind: 'fixed-rate',
      ratePerSec: int(m[1]),
      durationMs: int(m[2]),
      workers: m[3] === undefined ? 1 : int(m[3]),
      ...(m[4] === undefined ? {} : { maxInFlight: int(m[4]) }),
    }),
  },
  {
    re: new RegExp(`^burst ${N} x${N}$`),
    form: 'burst S xB',
    read: (m) => ({ kind: 'burst', size: int(m[1]), bursts: int(m[2]) }),
  },
  {
    re: new RegExp(`^ramp ${N}((?:→${N.slice(1, -1)})*) x${N}$`),
    form: 'ramp C1→C2→… xN',
    read: (m) => ({
      kind: 'ramp',
      stages: [int(m[1]), ...(m[2] ?? '').split('→').slice(1).map(int)],
      requestsPerClient: int(m[3]),
    }),
  },
  {
    re: new RegExp(`^spike ${N} then ${N}$`),
    form: 'spike S then N',
    read: (m) => ({ kind: 'spike', spikeClients: int(m[1]), cooldownRequests: int(m[2]) }),
  },
];

function int(s: string | undefined): number {
  return Number(s);
}

/** Reads what `describeLoadShape` wrote; anything else throws `LoadShapeTextError` naming the text. */
export function parseLoadShape(text: string): LoadShape {
  const kind = text.split(' ', 1)[0] ?? '';
  const form = SHAPE_FORMS.find((f) => f.form.startsWith(`${kind} `));
  if (!form) throw new LoadShapeTextError(text, `unknown pattern "${kind}" (${LOAD_KINDS.join(', ')})`);
  const m = form.re.exec(text);
  if (!m) throw new LoadShapeTextError(text, `a ${kind} reads "${form.form}" (whole numbers >= 1, no leading zeros)`);
  const shape = form.read(m);
  if (
    !Object.values(shape).every((v) =>
      Array.isArray(v) ? v.every(Number.isSafeInteger) : typeof v !== 'number' || Number.isSafeInteger(v),
    )
  ) {
    throw new LoadShapeTextError(text, 'a number is too large');
  }
  return shape;
}

/** `load(0, ramp 1→2 x2)`: the operation as a program line shows it. */
export function describeLoadOp(op: { readonly i: number; readonly shape: LoadShape }): string {
  return `load(${op.i}, ${describeLoadShape(op.shape)})`;
}

export function parseLoadOp(text: string): { i: number; shape: LoadShape } {
  const m = /^load\((0|[1-9]\d*), (.*)\)$/.exec(text);
  if (!m) throw new LoadShapeTextError(text, 'a load operation reads "load(i, SHAPE)"');
  return { i: Number(m[1]), shape: parseLoadShape(m[2] as string) };
}

// ---------------------------------------------------------------------------------------------
// Plans: what a shape sends, phase by phase, and what each phase promises.

export interface LoadSlot {
  readonly worker: number;
  readonly seq: number;
}

export interface PlannedPhase {
  readonly name: string;
  readonly slots: readonly LoadSlot[];
  /** Every worker of the phase sends its first request before any request of the phase settles. */
  readonly atOnce: boolean;
  /** Each worker's requests go one after another: the next only once the previous settled. */
  readonly oneAfterAnother: boolean;
  /** The phase starts only once every request of the previous phase has settled. */
  readonly afterPrevious: boolean;
  /** The runner reports this phase's counts on their own. */
  readonly reportedApart: boolean;
  /** Where the runner promises it (quoted in messages). */
  readonly promise: string;
}

const PROMISE = {
  'closed-loop':
    'runClosedLoop: "Workers sending concurrently, each one request at a time"; "each worker sends its next request as soon as the previous one ends"',
  'fixed-rate':
    'FixedRateRun: open loop, "request k is due at start + k / rate"; "Runs the schedule, then waits for the requests in flight"',
  burst: 'runBursts: "`size` requests at once, then the next burst when all have ended"',
  ramp: 'runRamp: "more clients at once, each sending `requestsPerClient` requests one after another; a stage starts when the previous has ended"',
  spike: 'runSpike: "A spike of `spikeClients` requests at once, then a cool-down of requests sent one after another"',
} as const satisfies Record<LoadKind, string>;

const range = (n: number): number[] => Array.from({ length: n }, (_, k) => k);

/** The planned phases of a shape, each with its (worker, seq) slots as the runner labels them. */
export function planLoadShape(shape: LoadShape): PlannedPhase[] {
  const promise = PROMISE[shape.kind];
  const phase = (name: string, slots: LoadSlot[], p: Omit<PlannedPhase, 'name' | 'slots' | 'promise'>): PlannedPhase => ({
    name,
    slots,
    promise,
    ...p,
  });
  switch (shape.kind) {
    case 'closed-loop':
      return [
        phase(
          'loop',
          range(shape.workers).flatMap((worker) => range(shape.requestsPerWorker).map((seq) => ({ worker, seq }))),
          { atOnce: true, oneAfterAnother: true, afterPrevious: false, reportedApart: false },
        ),
      ];
    case 'fixed-rate': {
      const total = Math.floor((shape.ratePerSec * shape.durationMs) / 1000);
      return [
        phase(
          'schedule',
          range(total).map((seq) => ({ worker: seq % shape.workers, seq })),
          { atOnce: false, oneAfterAnother: false, afterPrevious: false, reportedApart: false },
        ),
      ];
    }
    case 'burst':
      return range(shape.bursts).map((b) =>
        phase(
          `burst ${b}`,
          range(shape.size).map((worker) => ({ worker, seq: b })),
          { atOnce: true, oneAfterAnother: false, afterPrevious: b > 0, reportedApart: false },
        ),
      );
    case 'ramp': {
      let base = 0;
      return shape.stages.map((clients, s) => {
        const first = base;
        base += clients;
        return phase(
          `stage ${s}`,
          range(clients).flatMap((c) => range(shape.requestsPerClient).map((seq) => ({ worker: first + c, seq }))),
          { atOnce: true, oneAfterAnother: true, afterPrevious: s > 0, reportedApart: true },
        );
      });
    }
    case 'spike':
      return [
        phase(
          'spike',
          range(shape.spikeClients).map((worker) => ({ worker, seq: 0 })),
          { atOnce: true, oneAfterAnother: false, afterPrevious: false, reportedApart: true },
        ),
        phase(
          'cool-down',
          range(shape.cooldownRequests).map((seq) => ({ worker: shape.spikeClients, seq })),
          { atOnce: false, oneAfterAnother: true, afterPrevious: true, reportedApart: true },
        ),
      ];
  }
}

// ---------------------------------------------------------------------------------------------
// Running a shape, recording every request.

/** One request as the load op saw it: `issued*` when the runner called send, `settled*` when send's promise settled. */
export interface LoadRequestRecord {
  readonly id: string;
  readonly worker: number;
  readonly seq: number;
  readonly intendedStartMs: number | undefined;
  /** Index into the plan's phases; -1 when the plan has no slot (worker, seq). */
  readonly phase: number;
  readonly issuedAt: number;
  /** Order of events within the record (issues, settles, the runner's return): exact, unlike the clock. */
  readonly issuedTick: number;
  settledAt: number | undefined;
  settledTick: number | undefined;
  outcome: 'ok' | 'failed' | undefined;
  /** The failure's key (`failureKey`: `ERR_GRPC_STATUS:14`, `ERR_POOL_CLOSED`, ...). */
  failure: string | undefined;
  /** Times its send settled (one; counted, not assumed). */
  settles: number;
}

export interface LoadPhaseRecord {
  readonly index: number;
  readonly name: string;
  readonly planned: number;
  /** First issue and last settle among its requests (performance clock); undefined when none was issued / one never settled. */
  readonly start: number | undefined;
  readonly end: number | undefined;
}

export interface LoadCounts {
  readonly issued: number;
  readonly succeeded: number;
  readonly failed: number;
  readonly failures: Readonly<Record<string, number>>;
}

/** What `FixedRateRun` reported beside its counts. */
export interface FixedRateReport {
  readonly requestedRatePerSec: number;
  readonly scheduled: number;
  readonly notSentSaturated: number;
  readonly maxInFlightSeen: number;
  readonly maxLatenessMs: number;
  readonly firstSendMs: number | undefined;
  readonly lastSendMs: number | undefined;
  readonly stoppedEarly: boolean;
  readonly latenessCount: number;
  readonly fromIntendedCount: number;
  readonly serviceTimeCount: number;
}

/** What the runner reported: its counts in all, per phase where it reports phases apart (ramp, spike), and a fixed rate's extras. */
export interface LoadRunnerReport {
  readonly total: LoadCounts;
  readonly phases?: readonly LoadCounts[];
  readonly fixedRate?: FixedRateReport;
}

export interface LoadRecord {
  readonly shape: LoadShape;
  readonly text: string;
  readonly requests: readonly LoadRequestRecord[];
  readonly phases: readonly LoadPhaseRecord[];
  /** Undefined when the runner threw. */
  readonly reported: LoadRunnerReport | undefined;
  readonly runnerError: string | undefined;
  readonly startedAt: number;
  readonly runnerReturnedAt: number;
  readonly runnerReturnedTick: number;
  /** When the last request settled (the op waits for stragglers of a runner that returned early). */
  readonly endedAt: number;
}

/** The runners a shape is run through: `src/load`'s own, or (tests) broken copies. */
export interface LoadRunners {
  readonly closedLoop: typeof runClosedLoop;
  readonly fixedRate: typeof runFixedRate;
  readonly bursts: typeof runBursts;
  readonly ramp: typeof runRamp;
  readonly spike: typeof runSpike;
}

export const SRC_LOAD_RUNNERS: LoadRunners = {
  closedLoop: runClosedLoop,
  fixedRate: runFixedRate,
  bursts: runBursts,
  ramp: runRamp,
  spike: runSpike,
};

function counts(r: LoadResult): LoadCounts {
  return { issued: r.issued, succeeded: r.succeeded, failed: r.failed, failures: { ...r.failures } };
}

function sumCounts(parts: readonly LoadCounts[]): LoadCounts {
  const failures: Record<string, number> = {};
  for (const p of parts) for (const [k, v] of Object.entries(p.failures)) failures[k] = (failures[k] ?? 0) + v;
  return {
    issued: parts.reduce((n, p) => n + p.issued, 0),
    succeeded: parts.reduce((n, p) => n + p.succeeded, 0),
    failed: parts.reduce((n, p) => n + p.failed, 0),
    failures,
  };
}

/** Runs the shape's runner; `returned` is called the moment the runner's own promise resolves (before any reshaping). */
async function runRunner(
  shape: LoadShape,
  send: SendRequest,
  runners: LoadRunners,
  returned: () => void,
): Promise<LoadRunnerReport> {
  const seen = <T>(p: Promise<T>): Promise<T> =>
    p.then(
      (v) => {
        returned();
        return v;
      },
      (error: unknown) => {
        returned();
        throw error;
      },
    );
  switch (shape.kind) {
    case 'closed-loop':
      return {
        total: counts(
          await seen(runners.closedLoop({ workers: shape.workers, requestsPerWorker: shape.requestsPerWorker }, send)),
        ),
      };
    case 'fixed-rate': {
      const r = await seen(
        runners.fixedRate(
          {
            ratePerSec: shape.ratePerSec,
            durationMs: shape.durationMs,
            workers: shape.workers,
            ...(shape.maxInFlight === undefined ? {} : { maxInFlight: shape.maxInFlight }),
          },
          send,
        ),
      );
      return {
        total: counts(r),
        fixedRate: {
          requestedRatePerSec: r.requestedRatePerSec,
          scheduled: r.scheduled,
          notSentSaturated: r.notSentSaturated,
          maxInFlightSeen: r.maxInFlightSeen,
          maxLatenessMs: r.maxLatenessMs,
          firstSendMs: r.firstSendMs,
          lastSendMs: r.lastSendMs,
          stoppedEarly: r.stoppedEarly,
          latenessCount: r.latenessUs.totalCount,
          fromIntendedCount: r.fromIntendedStartUs.totalCount,
          serviceTimeCount: r.serviceTimeUs.totalCount,
        },
      };
    }
    case 'burst':
      return { total: counts(await seen(runners.bursts({ bursts: shape.bursts, size: shape.size }, send))) };
    case 'ramp': {
      const phases = (await seen(runners.ramp({ stages: shape.stages, requestsPerClient: shape.requestsPerClient }, send))).map(
        counts,
      );
      return { total: sumCounts(phases), phases };
    }
    case 'spike': {
      const r = await seen(runners.spike({ spikeClients: shape.spikeClients, cooldownRequests: shape.cooldownRequests }, send));
      const phases = [counts(r.spike), counts(r.cooldown)];
      return { total: sumCounts(phases), phases };
    }
  }
}

/**
 * Runs `shape` through the runners (by default `src/load`'s), sending each request with `send`
 * under an id from `ids()`, and records every request (its slot, phase, issue and settle times,
 * outcome), every phase (first issue, last settle) and what the runner reported. Never rejects: a
 * runner that throws is recorded. Once the runner returns, it still waits for any request the
 * runner left in flight, so the record is complete (a send must settle; bound the whole with the
 * caller's own limit, as `ParallelRun.bounded` does).
 */
export async function runLoadShape(
  shape: LoadShape,
  send: (requestId: string) => Promise<unknown>,
  ids: () => string,
  runners: Partial<LoadRunners> = {},
): Promise<LoadRecord> {
  const use: LoadRunners = { ...SRC_LOAD_RUNNERS, ...runners };
  const plan = planLoadShape(shape);
  const phaseOf = new Map<string, number>();
  plan.forEach((p, k) => {
    for (const s of p.slots) phaseOf.set(`${s.worker}/${s.seq}`, k);
  });
  let tick = 0;
  const requests: LoadRequestRecord[] = [];
  const marking = new Set<Promise<void>>();
  const wrapped: SendRequest = (ctx: RequestContext) => {
    const r: LoadRequestRecord = {
      id: ids(),
      worker: ctx.worker,
      seq: ctx.seq,
      intendedStartMs: ctx.intendedStartMs,
      phase: phaseOf.get(`${ctx.worker}/${ctx.seq}`) ?? -1,
      issuedAt: performance.now(),
      issuedTick: ++tick,
      settledAt: undefined,
      settledTick: undefined,
      outcome: undefined,
      failure: undefined,
      settles: 0,
    };
    requests.push(r);
    const settle = (outcome: 'ok' | 'failed', failure?: string) => {
      r.settles += 1;
      r.settledAt ??= performance.now();
      r.settledTick ??= ++tick;
      r.outcome ??= outcome;
      r.failure ??= failure;
    };
    let sent: Promise<unknown>;
    try {
      sent = Promise.resolve(send(r.id));
    } catch (error) {
      sent = Promise.reject(error);
    }
    const out = sent.then(
      (v) => {
        settle('ok');
        return v;
      },
      (error: unknown) => {
        settle('failed', failureKey(error));
        throw error;
      },
    );
    const mark = out.then(
      () => undefined,
      () => undefined,
    );
    marking.add(mark);
    void mark.then(() => marking.delete(mark));
    return out;
  };
  const startedAt = performance.now();
  let reported: LoadRunnerReport | undefined;
  let runnerError: string | undefined;
  let runnerReturnedAt: number | undefined;
  let runnerReturnedTick: number | undefined;
  const returned = () => {
    runnerReturnedAt = performance.now();
    runnerReturnedTick = ++tick;
  };
  try {
    reported = await runRunner(shape, wrapped, use, returned);
  } catch (error) {
    runnerError = describeError(error);
  }
  // A runner that threw before returning a promise (bad parameters) returned here.
  if (runnerReturnedTick === undefined) returned();
  while (marking.size > 0) await Promise.all([...marking]);
  const snapshot = [...requests];
  const phases: LoadPhaseRecord[] = plan.map((p, index) => {
    const mine = snapshot.filter((r) => r.phase === index);
    const settled = mine.map((r) => r.settledAt);
    return {
      index,
      name: p.name,
      planned: p.slots.length,
      start: mine.length ? mine.reduce((m, r) => Math.min(m, r.issuedAt), Number.POSITIVE_INFINITY) : undefined,
      end:
        mine.length && settled.every((t) => t !== undefined)
          ? (settled as number[]).reduce((m, t) => Math.max(m, t), Number.NEGATIVE_INFINITY)
          : undefined,
    };
  });
  return {
    shape,
    text: describeLoadShape(shape),
    requests: snapshot,
    phases,
    reported,
    runnerError,
    startedAt,
    runnerReturnedAt: runnerReturnedAt as number,
    runnerReturnedTick: runnerReturnedTick as number,
    endedAt: performance.now(),
  };
}

// ---------------------------------------------------------------------------------------------
// Checks

const MAX_LISTED = 4;

function listed(items: readonly string[]): string {
  return items.length <= MAX_LISTED
    ? items.join(', ')
    : `${items.slice(0, MAX_LISTED).join(', ')} and ${items.length - MAX_LISTED} more`;
}

function countsOf(requests: readonly LoadRequestRecord[]): LoadCounts {
  const failures: Record<string, number> = {};
  for (const r of requests) if (r.outcome === 'failed') failures[r.failure ?? '?'] = (failures[r.failure ?? '?'] ?? 0) + 1;
  return {
    issued: requests.length,
    succeeded: requests.filter((r) => r.outcome === 'ok').length,
    failed: requests.filter((r) => r.outcome === 'failed').length,
    failures,
  };
}

function describeCounts(c: LoadCounts): string {
  const kinds = Object.entries(c.failures)
    .filter(([, n]) => n !== 0)
    .sort(([a], [b]) => a.localeCompare(b))
    .map(([k, n]) => `${k} ${n}`)
    .join(', ');
  return `sent ${c.issued}, ok ${c.succeeded}, failed ${c.failed}${kinds ? ` (${kinds})` : ''}`;
}

function sameCounts(a: LoadCounts, b: LoadCounts): boolean {
  return describeCounts(a) === describeCounts(b);
}

const label = (r: LoadRequestRecord) => `${r.id} (worker ${r.worker} seq ${r.seq})`;

/**
 * Checks a load op's record; returns one line per problem (empty: it holds), each starting with
 * what it checks: `planned:`, `settled:`, `server:`, `counts:`, `order:`, `fixed-rate:`, `metrics:`.
 *
 * - planned: every (worker, seq) slot the shape plans was issued exactly once, nothing else was
 *   issued, and every id is new (a fixed rate may skip slots it reports as `notSentSaturated`);
 * - settled: every request settled exactly once, and before the runner returned;
 * - server: a success was seen by the server exactly once, and no request more than once;
 * - counts: the runner's counts (sent, ok, failed, by failure kind; per phase where it reports
 *   phases apart) equal the record's, and its own issued = succeeded + failed;
 * - order: where the runner promises it, a phase's workers start at once, each worker's requests go
 *   one after another, and a phase starts only once the previous one settled;
 * - fixed-rate: the schedule (floor(rate x duration) slots, intended starts 1/rate apart, each sent
 *   no earlier), the in-flight bound and its report, lateness and histograms, one count per request;
 * - metrics (when `metricsCounts` is given: the metrics' counts attributable to this op alone):
 *   total, successful and failed equal the record's.
 */
export async function checkLoadAccounting(
  record: LoadRecord,
  seenOnServer: (id: string) => Promise<number>,
  metricsCounts?: Pick<MetricsCounts, 'totalRequests' | 'successfulRequests' | 'failedRequests'>,
): Promise<string[]> {
  const problems: string[] = [];
  const say = (m: string) => problems.push(m);
  const { shape, requests } = record;
  const plan = planLoadShape(shape);
  const fixed = shape.kind === 'fixed-rate' ? record.reported?.fixedRate : undefined;
  if (record.runnerError !== undefined) say(`runner: it threw: ${record.runnerError}`);

  // planned: each slot once, nothing unplanned, ids unique.
  const bySlot = new Map<string, LoadRequestRecord[]>();
  for (const r of requests) {
    const k = `${r.worker}/${r.seq}`;
    bySlot.set(k, [...(bySlot.get(k) ?? []), r]);
  }
  const notSent: string[] = [];
  plan.forEach((p, k) => {
    for (const s of p.slots) {
      const got = bySlot.get(`${s.worker}/${s.seq}`) ?? [];
      if (got.length === 0) notSent.push(`worker ${s.worker} seq ${s.seq} (${p.name})`);
      if (got.length > 1) {
        say(
          `planned: the request of worker ${s.worker} seq ${s.seq} (phase ${k}, ${p.name}) was issued ${got.length} times: ${got.map((r) => r.id).join(', ')}`,
        );
      }
    }
  });
  const skipped = fixed?.notSentSaturated ?? 0;
  if (notSent.length > 0 && notSent.length !== skipped) {
    say(
      `planned: ${notSent.length} planned request(s) never issued: ${listed(notSent)}` +
        (shape.kind === 'fixed-rate' ? ` (the runner reports ${skipped} not sent for saturation)` : ''),
    );
  }
  const unplanned = requests.filter((r) => r.phase === -1);
  if (unplanned.length > 0)
    say(`planned: ${unplanned.length} request(s) the shape does not plan: ${listed(unplanned.map(label))}`);
  const ids = new Map<string, number>();
  for (const r of requests) ids.set(r.id, (ids.get(r.id) ?? 0) + 1);
  const reused = [...ids].filter(([, n]) => n > 1).map(([id, n]) => `${id} x${n}`);
  if (reused.length > 0) say(`planned: request ids used more than once: ${listed(reused)}`);

  // settled: once each, before the runner returned.
  const never = requests.filter((r) => r.settledTick === undefined);
  if (never.length > 0) say(`settled: ${never.length} request(s) never settled: ${listed(never.map(label))}`);
  const twice = requests.filter((r) => r.settles > 1);
  if (twice.length > 0) say(`settled: request(s) settled more than once: ${listed(twice.map((r) => `${r.id} x${r.settles}`))}`);
  const late = requests.filter((r) => r.settledTick !== undefined && r.settledTick > record.runnerReturnedTick);
  if (late.length > 0) {
    say(
      `settled: the runner returned with ${late.length} request(s) still in flight: ${listed(late.map(label))} (LoadResult: "Every request issued is counted once, as succeeded or failed: none is dropped")`,
    );
  }

  // server: seen once when ok, never more than once.
  for (const r of requests) {
    const seen = await seenOnServer(r.id);
    if (seen > 1) say(`server: request ${label(r)} reached the server ${seen} times`);
    else if (r.outcome === 'ok' && seen !== 1) say(`server: request ${label(r)} succeeded but the server saw it ${seen} times`);
  }

  // counts: the runner's against the record's, in all and per phase.
  const mine = countsOf(requests);
  const rep = record.reported;
  if (rep) {
    if (!sameCounts(rep.total, mine))
      say(`counts: the runner reports ${describeCounts(rep.total)}; the record has ${describeCounts(mine)}`);
    if (rep.total.issued !== rep.total.succeeded + rep.total.failed) {
      say(
        `counts: the runner's own counts do not add up: sent ${rep.total.issued} != ok ${rep.total.succeeded} + failed ${rep.total.failed}`,
      );
    }
    const kinds = Object.values(rep.total.failures).reduce((n, v) => n + v, 0);
    if (kinds !== rep.total.failed)
      say(`counts: the runner's failures by kind add up to ${kinds}, its failed count is ${rep.total.failed}`);
    if (plan.some((p) => p.reportedApart)) {
      if (rep.phases?.length !== plan.length) {
        say(`counts: the runner reports ${rep.phases?.length ?? 0} phase(s); the shape has ${plan.length}`);
      }
      plan.forEach((p, k) => {
        const got = rep.phases?.[k];
        const want = countsOf(requests.filter((r) => r.phase === k));
        if (got && !sameCounts(got, want)) {
          say(
            `counts: phase ${k} (${p.name}): the runner reports ${describeCounts(got)}; the record has ${describeCounts(want)}`,
          );
        }
      });
    }
  }

  // order: at once, one after another, after the previous phase.
  const tickOrInf = (t: number | undefined) => t ?? Number.POSITIVE_INFINITY;
  plan.forEach((p, k) => {
    const reqs = requests.filter((r) => r.phase === k);
    if (reqs.length === 0) return;
    const byWorker = new Map<number, LoadRequestRecord[]>();
    for (const r of reqs) byWorker.set(r.worker, [...(byWorker.get(r.worker) ?? []), r]);
    for (const list of byWorker.values()) list.sort((a, b) => a.seq - b.seq);
    if (p.atOnce) {
      const firstSettle = reqs.reduce((m, r) => Math.min(m, tickOrInf(r.settledTick)), Number.POSITIVE_INFINITY);
      const lateStarters = [...byWorker.values()].map((l) => l[0] as LoadRequestRecord).filter((r) => r.issuedTick > firstSettle);
      if (lateStarters.length > 0) {
        const settledFirst = reqs.find((r) => r.settledTick === firstSettle) as LoadRequestRecord;
        say(
          `order: ${p.name}: ${listed(lateStarters.map(label))} started only after ${settledFirst.id} had settled, not at once (${p.promise})`,
        );
      }
    }
    if (p.oneAfterAnother) {
      for (const list of byWorker.values()) {
        for (let j = 1; j < list.length; j++) {
          const prev = list[j - 1] as LoadRequestRecord;
          const cur = list[j] as LoadRequestRecord;
          if (cur.issuedTick < tickOrInf(prev.settledTick)) {
            say(
              `order: ${p.name}: worker ${cur.worker} sent ${label(cur)} while its previous ${prev.id} was in flight (${p.promise})`,
            );
          }
        }
      }
    }
    if (p.afterPrevious && k > 0) {
      const before = requests.filter((r) => r.phase === k - 1);
      const first = reqs.reduce((a, b) => (b.issuedTick < a.issuedTick ? b : a));
      const pending = before.filter((r) => tickOrInf(r.settledTick) > first.issuedTick);
      if (pending.length > 0) {
        say(
          `order: ${p.name} started (${label(first)} issued) while ${plan[k - 1]?.name} still had ${listed(pending.map((r) => r.id))} in flight (${p.promise})`,
        );
      }
    }
  });

  // fixed-rate: the schedule, the bound, the report.
  if (shape.kind === 'fixed-rate' && rep) {
    if (!fixed) say('fixed-rate: the runner reported no fixed-rate figures');
    else checkFixedRate(shape, plan[0]?.slots.length ?? 0, requests, fixed, say);
  }

  if (metricsCounts) {
    const m = metricsCounts;
    if (m.totalRequests !== mine.issued || m.successfulRequests !== mine.succeeded || m.failedRequests !== mine.failed) {
      say(
        `metrics: LoadTestMetrics counts total/ok/failed ${m.totalRequests}/${m.successfulRequests}/${m.failedRequests}; the record has ${mine.issued}/${mine.succeeded}/${mine.failed}`,
      );
    }
  }
  return problems;
}

function checkFixedRate(
  shape: Extract<LoadShape, { kind: 'fixed-rate' }>,
  total: number,
  requests: readonly LoadRequestRecord[],
  f: FixedRateReport,
  say: (m: string) => void,
): void {
  if (f.stoppedEarly) say('fixed-rate: the run says it stopped early, but nothing stopped it');
  if (f.requestedRatePerSec !== shape.ratePerSec)
    say(`fixed-rate: requested rate reported ${f.requestedRatePerSec}/s, asked ${shape.ratePerSec}/s`);
  if (f.scheduled !== total) say(`fixed-rate: ${f.scheduled} slots scheduled; floor(rate x duration) is ${total}`);
  if (f.scheduled !== requests.length + f.notSentSaturated) {
    say(`fixed-rate: scheduled ${f.scheduled} != sent ${requests.length} + not sent ${f.notSentSaturated} ("Sent + not sent")`);
  }
  if (shape.maxInFlight === undefined && f.notSentSaturated !== 0) {
    say(`fixed-rate: ${f.notSentSaturated} not sent for saturation with the default bound, far above ${total} requests`);
  }
  // Most in flight at any one time, from the record: in flight peaks at a send.
  const events = requests.flatMap((r) => [
    { tick: r.issuedTick, d: 1 },
    ...(r.settledTick === undefined ? [] : [{ tick: r.settledTick, d: -1 }]),
  ]);
  events.sort((a, b) => a.tick - b.tick);
  let inFlight = 0;
  let most = 0;
  for (const e of events) {
    inFlight += e.d;
    most = Math.max(most, inFlight);
  }
  if (shape.maxInFlight !== undefined && most > shape.maxInFlight) {
    say(`fixed-rate: ${most} requests were in flight at once; maxInFlight is ${shape.maxInFlight}`);
  }
  if (f.maxInFlightSeen !== most)
    say(`fixed-rate: maxInFlightSeen reported ${f.maxInFlightSeen}; the record saw at most ${most} in flight`);
  const n = requests.length;
  for (const [name, got] of [
    ['lateness', f.latenessCount],
    ['from-intended-start latency', f.fromIntendedCount],
    ['service time', f.serviceTimeCount],
  ] as const) {
    if (got !== n) say(`fixed-rate: the ${name} histogram holds ${got} values for ${n} requests sent (one per request)`);
  }
  const sent = [...requests].sort((a, b) => a.issuedTick - b.issuedTick);
  const interval = 1000 / shape.ratePerSec;
  const first = sent[0];
  const noIntended = sent.filter((r) => r.intendedStartMs === undefined);
  if (noIntended.length > 0) say(`fixed-rate: request(s) without an intended start: ${listed(noIntended.map(label))}`);
  let lowest = 0;
  let highest = 0;
  sent.forEach((r, k) => {
    if (r.intendedStartMs === undefined || first?.intendedStartMs === undefined) return;
    const want = first.intendedStartMs + (r.seq - first.seq) * interval;
    if (Math.abs(r.intendedStartMs - want) > 1e-6 * Math.max(1, Math.abs(want))) {
      say(
        `fixed-rate: ${label(r)} was meant to start at ${r.intendedStartMs.toFixed(3)} ms; the schedule says ${want.toFixed(3)} (1/rate apart)`,
      );
    }
    if (r.issuedAt < r.intendedStartMs) {
      say(`fixed-rate: ${label(r)} was sent ${(r.intendedStartMs - r.issuedAt).toFixed(3)} ms before its intended start`);
    }
    highest = Math.max(highest, r.issuedAt - r.intendedStartMs);
    // The runner reads its clock for a send after the previous send was made: a lower bound by order alone.
    const prev = sent[k - 1];
    if (prev) lowest = Math.max(lowest, prev.issuedAt - r.intendedStartMs);
  });
  if (n > 0 && (f.maxLatenessMs > highest || f.maxLatenessMs < lowest)) {
    say(
      `fixed-rate: maxLatenessMs ${f.maxLatenessMs.toFixed(3)} lies outside what the sends allow, ${lowest.toFixed(3)}..${highest.toFixed(3)} ms`,
    );
  }
  const last = sent.at(-1);
  if (
    n === 0
      ? f.firstSendMs !== undefined || f.lastSendMs !== undefined
      : f.firstSendMs === undefined || f.lastSendMs === undefined
  ) {
    say(`fixed-rate: first/last send times ${String(f.firstSendMs)}/${String(f.lastSendMs)} for ${n} request(s) sent`);
  } else if (first && last && f.firstSendMs !== undefined && f.lastSendMs !== undefined) {
    const beforeLast = sent.at(-2)?.issuedAt ?? Number.NEGATIVE_INFINITY;
    if (f.firstSendMs > first.issuedAt || f.lastSendMs > last.issuedAt || f.lastSendMs < beforeLast) {
      say(
        `fixed-rate: first/last send reported at ${f.firstSendMs.toFixed(3)}/${f.lastSendMs.toFixed(3)} ms; the sends went out at ${first.issuedAt.toFixed(3)}..${last.issuedAt.toFixed(3)} ms`,
      );
    }
  }
}

// ---------------------------------------------------------------------------------------------
// For the parallel run: a call's outcome as the failure a runner counts.

/**
 * The error a load op's send throws for a call that did not succeed, keyed as `failureKey` keys
 * the pool's own errors: `status:14` -> `ERR_GRPC_STATUS:14`, `pool-closed` -> `ERR_POOL_CLOSED`,
 * `connect-failed` -> `ERR_CONNECT`, anything else `ERR_LOAD_CALL`.
 */
export function loadCallFailure(outcome: string): Error & { code: string; status?: number } {
  const status = /^status:(\d+)$/.exec(outcome);
  const code = status
    ? 'ERR_GRPC_STATUS'
    : outcome === 'pool-closed'
      ? 'ERR_POOL_CLOSED'
      : outcome === 'connect-failed'
        ? 'ERR_CONNECT'
        : 'ERR_LOAD_CALL';
  const e = new Error(`load request failed: ${outcome}`) as Error & { code: string; status?: number };
  e.name = 'LoadCallFailure';
  e.code = code;
  if (status) e.status = Number(status[1]);
  return e;
}
