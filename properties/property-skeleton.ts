import { randomBytes } from 'node:crypto';
import fc, { type Scheduler } from 'fast-check';
import type { Layer } from '../models/vocabulary.js';
import type { PoolAdapter } from './adapter/adapter.js';
import { adapterFor } from './adapter/registry.js';
import { type Needs, notForThisPool, unmetNeeds } from './adapter/requirements.js';
import type { Backend } from './backend.js';
import { type PropertyConstraints, type PropertyResult, runCheck } from './check-runner.js';
import { assertNoLeaks, takeResourceSnapshot } from './leak-check.js';
import { LiveBackend } from './live-backend.js';
import { type CaseShape, minimiseFailure, shouldMinimise } from './minimise.js';
import { HarnessFailure, setUp } from './outcomes.js';
import { runLengths } from './run-lengths.js';
import { endRun, type RunMark, startRun } from './runs-in-flight.js';
import { SimulatedBackend } from './simulated-backend.js';
import { TargetBackend } from './target-backend.js';

/** What a run of a property gets from the skeleton: everything set up, nothing of the property's own. */
export interface RunEnv {
  readonly layer: Layer;
  readonly backend: Backend;
  readonly scheduler: Scheduler;
  readonly adapter: PoolAdapter;
  /** Unique across runs and processes (a shared `--target` server's ledger is read per run). */
  readonly runId: string;
  /** Whether the servers are this run's own (not `--target`): the nemesis may act on them. */
  readonly ownServers: boolean;
  /**
   * Counts something the run saw happen (a refused connect, a late answer, a leak check), beside
   * the generated operations in `commandCounts`, as `seen:NAME`: what `--json` shows per dimension.
   */
  tally(name: string, n?: number): void;
  /**
   * When the check's time budget ends (`performance.now()` time), if it has one: work inside a run
   * that can stop early with a weaker answer (the history check's search) stops there.
   */
  readonly deadline?: number;
}

/** What the property may attach to the error its run throws: kept for the result of the last failing run. */
export interface RunEvidence {
  /** The run's history as its order of events. */
  readonly history?: readonly string[];
  /** A self-contained HTML timeline of the history. */
  readonly timelineHtml?: string;
}

const EVIDENCE = Symbol('run evidence');

/** Attaches `evidence` to `error` (rethrown by the caller): the skeleton puts it in the result if this run is the last to fail. */
export function withEvidence(error: unknown, evidence: RunEvidence): unknown {
  if (error !== null && typeof error === 'object') (error as { [EVIDENCE]?: RunEvidence })[EVIDENCE] = evidence;
  return error;
}

/**
 * One property, as the skeleton runs it: the property says what a case is, how to run one, and
 * what it needs of the pool; the skeleton does the rest (defaults, the adapter and what it cannot
 * express, `--target`, the backend per run, run ids, void runs, the result and minimising).
 */
export interface PropertySpec<Case> {
  readonly name: string;
  readonly needs: Needs;
  readonly defaults: { readonly runs: number; readonly maxCommands: number; readonly addresses: number };
  /** Whether `--target` servers may stand in for the suite's own (the property needs no control over them). */
  readonly supportsTarget: boolean;
  /** Start live servers behind fault proxies (the network nemesis needs them). */
  readonly networkFaults?: boolean;
  /** The scheduler each run gets (default fast-check's). */
  scheduler?(c: PropertyConstraints): fc.Arbitrary<Scheduler>;
  /** Once before the first run (after the adapter is known): start what every run shares, so that no run's leak check counts it. */
  prepare?(ctx: CaseContext): Promise<void>;
  /** Cases: generated, or (`steps`) read back from a failure file's recorded steps. */
  cases(ctx: CaseContext): fc.Arbitrary<Case>;
  /** One run of one case. Throws when the pool is wrong (`HarnessFailure` when the harness could not act). */
  run(env: RunEnv, value: Case): Promise<void>;
  /** Commands in a case, for run lengths. */
  size(value: Case): number;
  /** Operations by name in a case, for `--json` counts. */
  counts?(value: Case): Readonly<Record<string, number>>;
  /** The case's readable steps (a failure file holds them). */
  describe(value: Case): string[];
  /** How to minimise a failure after shrinking (its steps read back, and their shape). */
  readonly minimise?: MinimiseBy<unknown>;
}

/** A failure's steps read back into something `shape` can make smaller candidates of. */
export interface MinimiseBy<T> {
  read(steps: readonly string[]): T;
  readonly shape: CaseShape<T>;
}

export function minimiseBy<T>(read: (steps: readonly string[]) => T, shape: CaseShape<T>): MinimiseBy<unknown> {
  return { read, shape } as MinimiseBy<unknown>;
}

export interface CaseContext {
  readonly constraints: PropertyConstraints;
  readonly adapter: PoolAdapter;
  readonly addresses: number;
  readonly maxCommands: number;
  /** The suite's own servers (not `--target`): they can be stopped, faulted and counted. */
  readonly ownServers: boolean;
}

/** Checks running in this process now (their resource counts would mix). */
let activeChecks = 0;

export { noRunsInFlight } from './runs-in-flight.js';

/** How long a check waits, once fast-check has returned, for its own runs still going. */
const OWN_RUNS_BOUND_MS = { simulated: 2_000, live: 20_000 } as const;

async function settleOwnRuns(runs: ReadonlySet<Promise<void>>, layer: Layer): Promise<void> {
  if (runs.size === 0) return;
  let timer: NodeJS.Timeout | undefined;
  const bound = new Promise<void>((resolve) => {
    timer = setTimeout(resolve, OWN_RUNS_BOUND_MS[layer]);
  });
  await Promise.race([Promise.all(runs), bound]);
  clearTimeout(timer);
}

/** Runs a property through the skeleton. */
export async function checkProperty<Case>(spec: PropertySpec<Case>, c: PropertyConstraints): Promise<PropertyResult> {
  const adapter = await adapterFor(c);
  const skip = unmetNeeds(adapter, spec.needs);
  if (skip) return notForThisPool(spec.name, c, skip);
  const deadline = c.timeLimitMs === undefined ? undefined : performance.now() + c.timeLimitMs;
  const layer = c.layer ?? 'simulated';
  const runs = c.runs ?? spec.defaults.runs;
  const maxCommands = c.maxCommands ?? spec.defaults.maxCommands;
  const target = spec.supportsTarget && c.targets?.length ? await TargetBackend.connect(c.targets) : undefined;
  const addresses = target ? target.addresses.length : (c.addresses ?? spec.defaults.addresses);
  const ctx: CaseContext = { constraints: c, adapter, addresses, maxCommands, ownServers: !target };
  await spec.prepare?.(ctx);
  const runPrefix = randomBytes(3).toString('hex');
  const sizes: number[] = [];
  const counts: Record<string, number> = {};
  const seen: Record<string, number> = {};
  const voidRuns: string[] = [];
  let runNo = 0;
  let lastCase: string[] = [];
  let evidence: RunEvidence | undefined;
  const effectiveLayer: Layer = target ? 'live' : layer;
  /** This check's runs still going (one a time limit cut off goes on after fast-check returns). */
  const ownRuns = new Set<Promise<void>>();

  const property = fc.asyncProperty(spec.scheduler?.(c) ?? fc.scheduler(), spec.cases(ctx), async (s, value) => {
    sizes.push(spec.size(value));
    for (const [k, n] of Object.entries(spec.counts?.(value) ?? {})) counts[k] = (counts[k] ?? 0) + n;
    lastCase = spec.describe(value);
    // Handles are counted process-wide: only a check running alone here can tell its own leaks, and
    // only from a run no other run (one a time limit cut off, say) overlapped.
    const thisRun = startRun();
    const running = oneRun(s, value, thisRun);
    const settled = running.then(
      () => undefined,
      () => undefined,
    );
    ownRuns.add(settled);
    void settled.then(() => ownRuns.delete(settled));
    try {
      await running;
    } finally {
      endRun(thisRun);
    }
  });
  const oneRun = async (s: Scheduler, value: Case, thisRun: RunMark): Promise<void> => {
    const leaksBefore = !target && activeChecks === 1 ? takeResourceSnapshot() : undefined;
    const backend: Backend =
      target ??
      (await setUp<Backend>(`start ${addresses} ${layer} test server(s)${spec.networkFaults ? ' with fault proxies' : ''}`, () =>
        layer === 'live'
          ? LiveBackend.start(addresses, { networkFaults: spec.networkFaults === true })
          : new SimulatedBackend(addresses),
      ));
    const env: RunEnv = {
      layer: effectiveLayer,
      backend,
      scheduler: s,
      adapter,
      runId: `${runPrefix}-${++runNo}`,
      ownServers: !target,
      tally: (name, n = 1) => {
        seen[`seen:${name}`] = (seen[`seen:${name}`] ?? 0) + n;
      },
      deadline,
    };
    try {
      await spec.run(env, value);
      // After teardown (the pool closed, the servers gone): nothing the run opened may be left.
      if (leaksBefore) {
        const leak = thisRun.overlapped
          ? undefined
          : await assertNoLeaks(leaksBefore, { layer: effectiveLayer, when: 'after the run and its teardown' }).then(
              () => undefined,
              (error: unknown) => error,
            );
        // A run that started beside this one, even during the settle, may have made what is left.
        if (thisRun.overlapped) env.tally('leak-check-skipped');
        else if (leak) throw leak;
        else env.tally('leak-check');
      }
    } catch (error) {
      if (error instanceof HarnessFailure) {
        // The run says nothing about the pool: set aside (fast-check counts it skipped), and counted.
        voidRuns.push(error.message);
        fc.pre(false);
      }
      // The last run to fail is the shrunk counterexample's: its evidence goes into the result.
      evidence = (error as { [EVIDENCE]?: RunEvidence } | null)?.[EVIDENCE];
      throw error;
    }
  };
  property.toString = () => spec.name;
  activeChecks += 1;
  const result = await runCheck(property, {
    name: spec.name,
    layer: effectiveLayer,
    constraints: c,
    runs,
    shape: { maxCommands, addresses, runs },
    onDone: () => target?.close(),
    lastCase: () => lastCase.join('\n'),
    counterexampleSteps: (value) => spec.describe((value as [unknown, Case])[1]),
  }).finally(() => {
    activeChecks -= 1;
  });
  // A check returns once its runs have ended, so that a run its time limit cut off (still
  // reconnecting, closing its pool, holding ports) never runs beside the next check's runs and
  // skews what they observe. Only after a pass (a time limit that cut a run off returns one): a
  // failed check's leftover is a run that hangs, whose hang is the finding, and shrinking must not
  // wait it out. Bounded all the same.
  if (result.passed) await settleOwnRuns(ownRuns, effectiveLayer);
  const final: PropertyResult = {
    ...result,
    ...(!result.passed && evidence?.timelineHtml ? { timelineHtml: evidence.timelineHtml } : {}),
    ...(!result.passed && evidence?.history ? { failingHistory: [...evidence.history] } : {}),
    runLengths: runLengths(sizes),
    ...(spec.counts || Object.keys(seen).length ? { commandCounts: { ...counts, ...seen } } : {}),
    voidRuns: { count: voidRuns.length, first: voidRuns[0] ?? null },
  };
  const m = spec.minimise;
  if (!m || !shouldMinimise(c, final)) return final;
  return minimiseFailure(c, final, m.read(final.counterexample ?? []), m.shape, (cc) => checkProperty(spec, cc));
}
