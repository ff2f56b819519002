import { createHash } from 'node:crypto';
import fc from 'fast-check';
import { describePoolInput, describePoolOutput, poolSpec } from '../../models/pool-spec.js';
import { checkOperations, nondeterministic, renderTimelineHtml } from '../../src/harness/linearizability/index.js';
import { preciseModelApplies } from '../adapter/adapter.js';
import { checkContract } from '../adapter/contract-checks.js';
import { firstErrorWins, type PropertyConstraints, type PropertyResult } from '../check-runner.js';
import { checkMetricsAgainstRecord, type MetricsRecord } from '../checks/metrics-check.js';
import { type Recording, recordFromWorkers, SharedMetricsWorkers } from '../checks/shared-metrics.js';
import { checkLoadAccounting, describeLoadOp, LOAD_KINDS, loadCountName } from '../load-op.js';
import { PROGRAM_SHAPE } from '../minimise.js';
import { ModelDisagreement, observe } from '../outcomes.js';
import { checkProperty, minimiseBy, type PropertySpec, withEvidence } from '../property-skeleton.js';
import { pctScheduler } from '../scheduling/pct-scheduler.js';
import {
  checkClosesBeforeReturn,
  checkLatency,
  checkNothingOpen,
  checkRequestsOnServers,
  recordServers,
  type ServerRecord,
} from './end-checks.js';
import { type PoolOperation, toOperations } from './history-ops.js';
import { historyLines } from './observer.js';
import { ParallelRun } from './parallel-run.js';
import { describeProgram, type Program, programArbitrary, programSize } from './program.js';
import { parseProgram } from './program-text.js';

export const PARALLEL_PROPERTY = 'pool-linearizable';

/** Longest the checker may search one history before it answers `unknown` (not a counterexample). */
const CHECK_TIMEOUT_MS = 10_000;
/**
 * What a history check gets once the check's budget is spent: most violations are found in
 * milliseconds, and a fuzz batch must end near its budget (one hard history searched for the full
 * 10 s made a 10 s fuzz take 23 s).
 */
const CHECK_AFTER_DEADLINE_MS = 500;

/** The history search's time: 10 s, or what is left of the check's budget (at least 0.5 s). */
export function historyCheckTimeoutMs(now: number, deadline: number | undefined): number {
  if (deadline === undefined) return CHECK_TIMEOUT_MS;
  return Math.min(CHECK_TIMEOUT_MS, Math.max(CHECK_AFTER_DEADLINE_MS, deadline - now));
}

/** A history found not linearizable, with its HTML timeline (the result carries it beside the failure file). */
export class NotLinearizable extends ModelDisagreement {
  constructor(
    message: string,
    readonly timelineHtml: string,
  ) {
    super(message);
  }
}

/**
 * Parallel programs (a prefix, 2 to 4 clients at once, a nemesis) against the pool; each run's
 * history is checked for linearizability against the pool's model (where the model describes the
 * pool), plus what the model cannot see and the contract the pool's adapter declares: remove and
 * close return only after their connections closed, bounded latency at the caller, requests on the
 * servers' ledgers, metrics against the history, and nothing left open.
 */
const PARALLEL_SPEC: PropertySpec<Program> = {
  name: PARALLEL_PROPERTY,
  needs: { features: ['seam'] },
  defaults: { runs: 100, maxCommands: 12, addresses: 2 },
  supportsTarget: true,
  networkFaults: true,
  scheduler: (c) => (c.scheduler === 'pct' ? pctScheduler({ depth: 3 }) : fc.scheduler()),
  cases: ({ constraints: c, addresses, maxCommands, ownServers, adapter }) =>
    c.steps
      ? fc.constant(parseProgram(c.steps))
      : programArbitrary({
          addresses,
          maxOps: maxCommands,
          controllable: ownServers,
          networkFaults: ownServers,
          offers: adapter.features,
          // A fixed rate paces on real timers: the simulated layer's runs must replay exactly.
          loadKinds: c.layer === 'live' || c.targets?.length ? LOAD_KINDS : LOAD_KINDS.filter((k) => k !== 'fixed-rate'),
        }),
  size: programSize,
  counts: (program) => {
    const counts: Record<string, number> = {};
    for (const op of [...program.prefix, ...program.branches.flat(), ...program.nemesis]) {
      const name =
        op.f === 'fault'
          ? `fault:${op.kind}`
          : op.f === 'load'
            ? loadCountName(op.shape)
            : op.f === 'call' && op.late
              ? 'call:late'
              : op.f;
      counts[name] = (counts[name] ?? 0) + 1;
    }
    return counts;
  },
  describe: describeProgram,
  async prepare({ adapter }) {
    if (adapter.features.metrics) await metricsWorkers();
  },
  async run(env, program) {
    const { backend, scheduler, adapter, runId, layer, tally } = env;
    const run = new ParallelRun(backend, scheduler, adapter, program, runId);
    // Accepted connections are counted from here: a --target server has served runs before.
    await firstErrorWins(
      async () => {
        const acceptedBefore = await observe('read accepted connections', () =>
          Promise.all(backend.addresses.map((_, i) => backend.observer.acceptedConnections(i))),
        );
        // In a program that says so (one in four), two other threads record into the run's metrics meanwhile.
        const lists = adapter.features.metrics && program.sharedMetrics ? sharedLists(program) : undefined;
        const sharing = lists
          ? recordFromWorkers(lists, { metrics: run.metrics, workers: await metricsWorkers(), spreadMs: SHARE_SPREAD_MS[layer] })
          : undefined;
        try {
          await run.execute();
        } finally {
          await sharing;
        }
        run.otherThreads = lists?.flat();
        if (lists) tally('metrics-shared-with-workers');
        await checkRun(run, layer, acceptedBefore, { deadline: env.deadline, tally });
        tallyRun(run, tally);
      },
      async () => {
        run.gate.open();
        // A pool whose close cannot finish (the failure itself, often) is not waited for.
        await run.closeForTeardown(2_000);
        await backend.dispose();
      },
    ).catch((error: unknown) => {
      throw withEvidence(error, {
        history: historyLines(run.ops),
        ...(error instanceof NotLinearizable ? { timelineHtml: error.timelineHtml } : {}),
      });
    });
  },
  minimise: minimiseBy(parseProgram, PROGRAM_SHAPE),
};

export function checkParallelProperty(c: PropertyConstraints = {}): Promise<PropertyResult> {
  return checkProperty(PARALLEL_SPEC, c);
}

/** How the history check is bounded: by the check's deadline, and where an inconclusive search is counted. */
export interface HistoryCheckLimits {
  readonly deadline?: number;
  readonly tally?: (name: string) => void;
}

export async function checkRun(
  run: ParallelRun,
  layer: 'live' | 'simulated',
  acceptedBefore?: readonly number[],
  limits: HistoryCheckLimits = {},
): Promise<void> {
  // Let the observer's last after-a-turn marks land (the simulated layer runs in microtasks only).
  await new Promise((resolve) => setImmediate(resolve));
  // Everything the servers know, read once; from here on the checks read records only.
  const servers = await recordServers(run, acceptedBefore);
  const accepted = servers.accepted;
  // The precise model where it describes the pool; the declared contract always.
  if (preciseModelApplies(run.adapter)) checkHistory(run, layer, accepted, limits);
  const faulted = run.backend.addresses.map((_, i) =>
    run.ops.some((o) => o.client === 'nemesis' && o.i === i && o.f !== 'serving'),
  );
  checkContract({ addresses: run.backend.addresses, ops: run.ops, seen: run.seen, accepted, faulted }, run.adapter.contract);
  checkClosesBeforeReturn(run);
  checkLatency(run);
  checkRequestsOnServers(run, servers);
  await checkLoads(run, servers);
  if (run.adapter.features.metrics) {
    const problems = checkMetricsAgainstRecord(metricsRecord(run), run.metrics);
    if (problems.length) throw new ModelDisagreement(`metrics against the history: ${problems.join('; ')}`);
  }
  checkNothingOpen(servers);
}

/**
 * The run's calls as the metrics check reads them: caller-side interval, outcome, the caller (a
 * client per address: the own adapter's clients are per key), and the seam interval (from the first
 * connect the call made, or its handover to the connector, to its result).
 */
function metricsRecord(run: ParallelRun): MetricsRecord {
  const connectCall = new Map(run.seen.connects.map((c) => [c.conn, c.call]));
  const calls = run.ops
    .filter((r) => r.f === 'call' && r.ret !== undefined)
    .map((r) => {
      const made = r.made.map((id) => connectCall.get(id)).filter((t): t is number => t !== undefined);
      return {
        start: r.call,
        end: r.ret as number,
        ok: r.outcome === 'ok',
        client: String(r.i),
        connectAt: made.length ? Math.min(...made) : undefined,
        acquiredAt: r.acquiredAt,
        rpcDoneAt: r.rpcDoneAt,
      };
    });
  return { calls, activeClients: run.activeSamples, otherThreads: run.otherThreads };
}

/** How long the worker threads spread their records over (so they land among the run's own). */
const SHARE_SPREAD_MS = { live: 100, simulated: 5 } as const;

let workersStarted: Promise<SharedMetricsWorkers> | undefined;
/** Two metrics worker threads per process, started once (unref'd: they never keep it alive). */
function metricsWorkers(): Promise<SharedMetricsWorkers> {
  workersStarted ??= SharedMetricsWorkers.start(2).then((w) => w.unref());
  return workersStarted;
}

/**
 * What two other threads record into the run's metrics when the program shares them: a few calls
 * each, latencies and outcomes from a hash of the program's text (so that a replay records the same).
 */
function sharedLists(program: Program): Recording[][] {
  const digest = createHash('sha256').update(describeProgram(program).join('\n')).digest();
  return [0, 1].map((w) =>
    Array.from({ length: 2 + ((digest[1 + w] as number) % 6) }, (_, k) => {
      const b = digest[3 + w * 8 + k] as number;
      return { latencyUs: 50 + b * 997, ok: b % 5 !== 0 };
    }),
  );
}

/** What a passing run saw of each dimension, for `--json`: refused connects, late answers, load requests. */
function tallyRun(run: ParallelRun, tally: (name: string, n?: number) => void): void {
  tally('connect-refused', run.seen.failedConnects.length);
  const outcomes = (f: (o: (typeof run.ops)[number]) => boolean) => run.ops.filter(f).length;
  tally(
    'get-connect-failed',
    outcomes((o) => o.outcome === 'connect-failed'),
  );
  tally(
    'late-call-deadline-exceeded',
    outcomes((o) => o.late === true && o.outcome === 'status:4'),
  );
  tally(
    'load-requests-accounted',
    run.loads.reduce((n, l) => n + l.record.requests.length, 0),
  );
  tally('contract-checked');
}

/** Every load pattern sent what it planned, each request settled once, the server saw each at most once, and each phase waited where it promises to. */
async function checkLoads(run: ParallelRun, servers: ServerRecord): Promise<void> {
  for (const load of run.loads) {
    const problems = await checkLoadAccounting(load.record, async (id) => servers.timesSeen.get(id) ?? 0);
    if (problems.length) throw new ModelDisagreement(`${load.client} ${describeLoadOp(load.op)}: ${problems.join('; ')}`);
  }
}

/** The history, as operations, must be linearizable for the pool's model (for this layer). */
function checkHistory(
  run: ParallelRun,
  layer: 'live' | 'simulated',
  accepted: readonly number[],
  limits: HistoryCheckLimits,
): void {
  const ops = toOperations(run, accepted, performance.now());
  const model = nondeterministic(poolSpec({ addresses: run.backend.addresses.length, backoff: layer === 'live' }));
  const report = checkOperations(model, ops, { timeoutMs: historyCheckTimeoutMs(performance.now(), limits.deadline) });
  // A search the time ran out on proves nothing either way: counted (`seen:history-inconclusive`), not failed.
  if (report.result === 'unknown') limits.tally?.('history-inconclusive');
  if (report.result !== 'not-linearizable') return;
  if (process.env.DUMP_OPS) console.error(JSON.stringify(ops));
  const part = report.partitions.find((p) => p.result === 'not-linearizable');
  const byId = new Map(ops.map((o) => [o.id, o]));
  const name = (id: number) => {
    const o = byId.get(id) as PoolOperation;
    return `${o.client} ${describePoolInput(o.input)} -> ${describePoolOutput(o.output)}`;
  };
  const timelineHtml = renderTimelineHtml({
    title: `${PARALLEL_PROPERTY} history`,
    ops,
    result: report,
    describe: (input, output) => `${describePoolInput(input)} -> ${describePoolOutput(output)}`,
  });
  throw new NotLinearizable(
    `history not linearizable: after ${part?.longestPrefix.length ?? 0} of ${ops.length} operations, none of ` +
      `[${(part?.stuck?.opIds ?? []).map(name).join('; ')}] can come next (model state: ${part?.stuck?.state ?? '?'})`,
    timelineHtml,
  );
}
