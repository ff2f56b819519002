import { randomBytes } from 'node:crypto';
import fc from 'fast-check';
import { describePoolInput, describePoolOutput, poolSpec } from '../../models/pool-spec.js';
import { checkOperations, nondeterministic, renderTimelineHtml } from '../../src/harness/linearizability/index.js';
import { preciseModelApplies } from '../adapter/adapter.js';
import { checkContract } from '../adapter/contract-checks.js';
import { adapterFor } from '../adapter/registry.js';
import { notForThisPool, unmetNeeds } from '../adapter/requirements.js';
import type { Backend } from '../backend.js';
import { firstErrorWins, type PropertyConstraints, type PropertyResult, runCheck } from '../check-runner.js';
import { pctScheduler } from '../explore/pct-scheduler.js';
import { LiveBackend } from '../live-backend.js';
import { minimiseFailure, PROGRAM_SHAPE, shouldMinimise } from '../minimise.js';
import { HarnessFailure, ModelDisagreement, observe, setUp } from '../outcomes.js';
import { runLengths } from '../run-lengths.js';
import { SimulatedBackend } from '../simulated-backend.js';
import { TargetBackend } from '../target-backend.js';
import {
  checkClosesBeforeReturn,
  checkLatency,
  checkMetricsAgainstHistory,
  checkNothingOpen,
  checkRequestsOnServers,
} from './end-checks.js';
import { type PoolOperation, toOperations } from './history-ops.js';
import { historyLines } from './observer.js';
import { ParallelRun } from './parallel-run.js';
import { describeProgram, type Program, programArbitrary, programSize } from './program.js';
import { parseProgram } from './program-text.js';

export const PARALLEL_PROPERTY = 'pool-linearizable';

/** Longest the checker may search one history before it answers `unknown` (not a counterexample). */
const CHECK_TIMEOUT_MS = 10_000;

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
 * history is checked for linearizability against the pool's model, plus what the model cannot
 * see: remove and close return only after their connections closed, bounded latency at the caller,
 * requests on the servers' ledgers, metrics against the history, and nothing left open.
 */
export async function checkParallelProperty(c: PropertyConstraints = {}): Promise<PropertyResult> {
  const layer = c.layer ?? 'simulated';
  const runs = c.runs ?? 100;
  const maxCommands = c.maxCommands ?? 12;
  const adapter = await adapterFor(c);
  const skip = unmetNeeds(adapter, { features: ['seam'] });
  if (skip) return notForThisPool(PARALLEL_PROPERTY, c, skip);
  const target = c.targets?.length ? await TargetBackend.connect(c.targets) : undefined;
  const addresses = target ? target.addresses.length : (c.addresses ?? 2);
  const runPrefix = randomBytes(3).toString('hex');
  const sizes: number[] = [];
  const counts: Record<string, number> = {};
  const voidRuns: string[] = [];
  let runNo = 0;
  let lastCase = '';
  let failingHistory: string[] | undefined;
  let failingTimeline: string | undefined;
  const property = fc.asyncProperty(
    c.scheduler === 'pct' ? pctScheduler({ depth: 3 }) : fc.scheduler(),
    c.steps
      ? fc.constant(parseProgram(c.steps))
      : programArbitrary({
          addresses,
          maxOps: maxCommands,
          controllable: !target,
          networkFaults: !target,
          offers: adapter.features,
        }),
    async (s, program) => {
      sizes.push(programSize(program));
      for (const op of [...program.prefix, ...program.branches.flat(), ...program.nemesis]) {
        const name = op.f === 'fault' ? `fault:${op.kind}` : op.f;
        counts[name] = (counts[name] ?? 0) + 1;
      }
      const backend: Backend =
        target ??
        (await setUp<Backend>(`start ${addresses} ${layer} test server(s) with fault proxies`, () =>
          layer === 'live' ? LiveBackend.start(addresses, { networkFaults: true }) : new SimulatedBackend(addresses),
        ));
      const run = new ParallelRun(backend, s, adapter, program, `${runPrefix}-${++runNo}`);
      // Accepted connections are counted from here: a --target server has served runs before.
      await firstErrorWins(
        async () => {
          const acceptedBefore = await observe('read accepted connections', () =>
            Promise.all(backend.addresses.map((_, i) => backend.observer.acceptedConnections(i))),
          );
          await run.execute();
          await checkRun(run, layer, acceptedBefore);
        },
        async () => {
          lastCase = describeProgram(program).join('\n');
          run.gate.open();
          // A pool whose close cannot finish (the failure itself, often) is not waited for.
          await run.closeForTeardown(2_000);
          await backend.dispose();
        },
      ).catch((error: unknown) => {
        // The last run to fail is the shrunk counterexample's: its history goes into the result.
        if (!(error instanceof HarnessFailure)) {
          failingHistory = historyLines(run.ops);
          failingTimeline = error instanceof NotLinearizable ? error.timelineHtml : undefined;
          throw error;
        }
        // The run says nothing about the pool: set aside (fast-check counts it skipped), and counted.
        voidRuns.push(error.message);
        fc.pre(false);
      });
    },
  );
  property.toString = () => PARALLEL_PROPERTY;
  const result = await runCheck(property, {
    name: PARALLEL_PROPERTY,
    layer: target ? 'live' : layer,
    constraints: c,
    runs,
    shape: { maxCommands, addresses, runs },
    onDone: () => target?.close(),
    lastCase: () => lastCase,
    counterexampleSteps: (value) => describeProgram((value as [unknown, Program])[1]),
  });
  const timeline = !result.passed ? failingTimeline : undefined;
  const final: PropertyResult = {
    ...result,
    ...(timeline ? { timelineHtml: timeline } : {}),
    ...(!result.passed && failingHistory ? { failingHistory } : {}),
    runLengths: runLengths(sizes),
    commandCounts: counts,
    voidRuns: { count: voidRuns.length, first: voidRuns[0] ?? null },
  };
  return shouldMinimise(c, final)
    ? minimiseFailure(c, final, parseProgram(final.counterexample ?? []), PROGRAM_SHAPE, checkParallelProperty)
    : final;
}

export async function checkRun(run: ParallelRun, layer: 'live' | 'simulated', acceptedBefore?: readonly number[]): Promise<void> {
  // Let the observer's last after-a-turn marks land (the simulated layer runs in microtasks only).
  await new Promise((resolve) => setImmediate(resolve));
  const accepted = await observe('read accepted connections', () =>
    Promise.all(
      run.backend.addresses.map(async (_, i) => (await run.backend.observer.acceptedConnections(i)) - (acceptedBefore?.[i] ?? 0)),
    ),
  );
  // The precise model where it describes the pool; the declared contract always.
  if (preciseModelApplies(run.adapter)) checkHistory(run, layer, accepted);
  const faulted = run.backend.addresses.map((_, i) =>
    run.ops.some((o) => o.client === 'nemesis' && o.i === i && o.f !== 'serving'),
  );
  checkContract({ addresses: run.backend.addresses, ops: run.ops, seen: run.seen, accepted, faulted }, run.adapter.contract);
  checkClosesBeforeReturn(run);
  checkLatency(run);
  await checkRequestsOnServers(run);
  if (run.adapter.features.metrics) checkMetricsAgainstHistory(run);
  await checkNothingOpen(run);
}

/** The history, as operations, must be linearizable for the pool's model (for this layer). */
function checkHistory(run: ParallelRun, layer: 'live' | 'simulated', accepted: readonly number[]): void {
  const ops = toOperations(run, accepted, performance.now());
  const model = nondeterministic(poolSpec({ addresses: run.backend.addresses.length, backoff: layer === 'live' }));
  const report = checkOperations(model, ops, { timeoutMs: CHECK_TIMEOUT_MS });
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
