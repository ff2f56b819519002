import fc from 'fast-check';
import { grpcJsRelease } from '../src/pool/grpc-js-release.js';
import { describeError, SetupFailure } from './outcomes.js';
import type { BrokenVariant } from './variants/index.js';

export type { Layer } from '../models/vocabulary.js';

import type { Layer } from '../models/vocabulary.js';

/** Options of one property check; every field optional with the default given. */
export interface PropertyConstraints {
  /** Default `simulated`. */
  readonly layer?: Layer;
  /** Runs to try (default 100); with `timeLimitMs`, the most to try. */
  readonly runs?: number;
  /** Default: fresh, from fast-check. */
  readonly seed?: number;
  /** fast-check's replay path of a failing run (with `seed`). */
  readonly path?: string;
  /** The commands' replay path (fc.commands `replayPath`), to replay the exact shrunk commands. */
  readonly commandsReplayPath?: string;
  /** Stop trying new runs after this long (the budget is never overrun by more than one run). */
  readonly timeLimitMs?: number;
  /** Most commands in one run (default 12). */
  readonly maxCommands?: number;
  /** Servers per run (default 2). */
  readonly addresses?: number;
  /** Run against a known-broken pool instead of the real one. */
  readonly variant?: BrokenVariant;
  /**
   * The pool under test (`--pool`): a built-in adapter's name (default `own`) or the absolute path
   * of an adapter file (see properties/adapter/registry.ts).
   */
  readonly pool?: string;
  /** Run the live layer against these servers (host:port) instead of embedded ones. */
  readonly targets?: readonly string[];
  /**
   * How the parallel property's scheduler picks the next task: fast-check's random scheduler
   * (default) or PCT (random priorities with depth-1 change points, depth 3).
   */
  readonly scheduler?: 'random' | 'pct';
  /**
   * Replay these recorded steps instead of generating (pool-linearizable: the program's lines, as
   * a failure file holds them); each run draws a new schedule for the same program.
   */
  readonly steps?: readonly string[];
  /** Skip shrinking (fuzzing a time budget: report the first failure as found). */
  readonly noShrink?: boolean;
  /**
   * Asked before every run (shrinking runs included; the event loop turns at least every 50 ms
   * between runs, so a signal or message can set it): once it says true, the check ends as
   * interrupted, keeping what it found so far (another worker found a failure, or Ctrl-C).
   */
  readonly interruptWhen?: () => boolean;
}

/** What a property run found, as plain data (it goes into reports and failure files). */
export interface PropertyResult {
  readonly property: string;
  readonly layer: Layer;
  readonly variant: string | undefined;
  /** The adapter the runs used (`--pool`), when not this project's own pool. */
  readonly pool?: string;
  readonly passed: boolean;
  readonly interrupted: boolean;
  readonly runs: number;
  readonly seed: number;
  readonly wallMs: number;
  /** fast-check's path to the shrunk counterexample (with `seed`). */
  readonly path: string | undefined;
  readonly commandsReplayPath: string | undefined;
  /** The shrunk counterexample as readable steps. */
  readonly counterexample: string[] | undefined;
  /** The steps of the last case run (for a replay: the case the seed and path named, pass or fail). */
  readonly lastSteps: string[] | undefined;
  readonly error: string | undefined;
  readonly shrinks: number;
  readonly fastCheckVersion: string;
  /**
   * The @grpc/grpc-js release the client stack ran on, read in the process that ran the check (a
   * worker's own); the simulated layer never opens a channel, but the release is recorded all the same.
   */
  readonly grpcJs?: string;
  readonly constraints: { maxCommands: number; addresses: number; runs: number };
  /** Operations per generated run: mean, max, share of runs with none, the total run, and over how many runs. */
  readonly runLengths?: { mean: number; max: number; emptyShare: number; total: number; count: number };
  /** Runs set aside because the harness could not act or observe (never counterexamples), and the first reason. */
  readonly voidRuns?: { readonly count: number; readonly first: string | null };
  /** A self-contained HTML timeline of the failing history, when the property draws one. */
  readonly timelineHtml?: string;
  /** How many of each operation the generated runs held (faults included), by name. */
  readonly commandCounts?: Readonly<Record<string, number>>;
  /** Worker processes the runs were spread over, in streams of their own seeds (absent: one stream, in process). */
  readonly workers?: number;
  /**
   * Set when the failing program was minimised after fast-check's shrinking: its size before, and
   * the candidates tried. Seed and path then name the schedule it failed on (the run index), not a
   * case the generators make: its failure file replays it.
   */
  readonly minimised?: { readonly fromCommands: number; readonly toCommands: number; readonly candidates: number };
  /** The failing run's history as its order of events (`historyLines`), where the property records one. */
  readonly failingHistory?: readonly string[];
  /** The `--target` servers the runs went to (absent: the suite's own servers or the simulated network). */
  readonly targets?: readonly string[];
  /** Set when the property cannot be expressed on this layer: why (nothing was run, `runs` is 0). */
  readonly skipped?: string;
}

/** The pool property's options (the same as every property's). */
export type PoolPropertyConstraints = PropertyConstraints;

interface RunCheckOptions {
  readonly name: string;
  readonly layer: Layer;
  readonly constraints: PropertyConstraints;
  readonly runs: number;
  readonly shape: PropertyResult['constraints'];
  readonly onDone?: () => void;
  /** The readable steps of the last case the property ran. */
  readonly lastCase?: () => string;
  /** Readable steps of a counterexample (default: the last generated value's text, split at top-level commas). */
  readonly counterexampleSteps?: (value: unknown) => string[];
}

/**
 * Runs `body`, then `teardown` whatever happened. If both fail, the body's error is the one
 * reported (a teardown that fails because the body left things broken must not hide why).
 */
export async function firstErrorWins(body: () => Promise<void>, teardown: () => Promise<void>): Promise<void> {
  let failure: { error: unknown } | undefined;
  try {
    await body();
  } catch (error) {
    failure = { error };
  }
  try {
    await teardown();
  } catch (error) {
    failure ??= { error };
  }
  if (failure) throw failure.error;
}

/**
 * Checks `property` with fast-check (seed, path, run count, time budget, no-shrink for fuzzing)
 * and turns the outcome into a `PropertyResult`: plain data for reports and failure files.
 */
export async function runCheck<T extends unknown[]>(
  property: fc.IAsyncPropertyWithHooks<T>,
  o: RunCheckOptions,
): Promise<PropertyResult> {
  const c = o.constraints;
  const started = performance.now();
  const plugins = [fc.timeout(o.layer === 'live' ? 60_000 : 15_000)];
  if (c.timeLimitMs !== undefined) plugins.push(fc.interruptAfterTimeLimit(c.timeLimitMs));
  const setup: { failure?: SetupFailure } = {};
  const interruptWhen = c.interruptWhen ?? (() => false);
  plugins.push(
    turnsAndInterrupts(() => setup.failure !== undefined || interruptWhen()),
    setupFailureStops(setup),
  );
  const details = await withoutStackTraces(() =>
    fc.check(property, { numRuns: o.runs, seed: c.seed, path: c.path, endOnFailure: c.noShrink ?? false, plugins }),
  ).finally(() => o.onDone?.());
  // The harness could not set a run up: not a finding about the pool, and no use shrinking it.
  if (setup.failure) throw setup.failure;
  const wallMs = performance.now() - started;
  // fast-check reports a check its time limit interrupted before the first run as failed, with no
  // counterexample: nothing was checked, so it is "no runs" (passed, interrupted, runs 0), not a failure.
  const noRuns = details.failed && details.interrupted && details.counterexample === null;
  const failed = details.failed && !noRuns;
  const failure = failed ? details.counterexample : undefined;
  // The last generated value holds the steps (commands, or a list of steps with readable toString).
  const stepsText = failure ? String((failure as unknown[])[(failure as unknown[]).length - 1]) : undefined;
  return {
    property: o.name,
    layer: o.layer,
    variant: c.variant?.name,
    ...(c.pool !== undefined && c.pool !== 'own' ? { pool: c.pool } : {}),
    passed: !failed,
    interrupted: details.interrupted,
    runs: details.numRuns,
    seed: details.seed,
    wallMs,
    path: details.counterexamplePath ?? undefined,
    commandsReplayPath: stepsText ? /replayPath="([^"]*)"/.exec(stepsText)?.[1] : undefined,
    counterexample:
      failure && o.counterexampleSteps ? o.counterexampleSteps(failure) : stepsText ? readableSteps(stepsText) : undefined,
    lastSteps: o.lastCase?.() ? (o.counterexampleSteps ? o.lastCase().split('\n') : readableSteps(o.lastCase())) : undefined,
    error: failed ? describeError(details.errorInstance) : undefined,
    shrinks: details.numShrinks,
    fastCheckVersion: fc.__version,
    grpcJs: grpcJsRelease(),
    constraints: o.shape,
    ...(c.targets?.length ? { targets: [...c.targets] } : {}),
  };
}

let stacklessChecks = 0;
let savedStackTraceLimit = Error.stackTraceLimit;

/**
 * Runs `work` with stack traces off. A run throws and catches thousands of errors the harness reads
 * only by code and message (a closed pool refusing every request of a wave, gRPC statuses), and
 * capturing their stacks was a tenth of the simulated layer's time (profiled); no report prints a
 * stack. Checks may overlap (vitest, concurrent streams): the first in sets the limit, the last out
 * restores it. `PROPERTY_STACKS=1` keeps them, for a developer chasing an error from the harness
 * itself (a TypeError, say) through a debugger.
 */
async function withoutStackTraces<T>(work: () => Promise<T>): Promise<T> {
  if (process.env.PROPERTY_STACKS === '1') return work();
  if (stacklessChecks++ === 0) {
    savedStackTraceLimit = Error.stackTraceLimit;
    Error.stackTraceLimit = 0;
  }
  try {
    return await work();
  } finally {
    if (--stacklessChecks === 0) Error.stackTraceLimit = savedStackTraceLimit;
  }
}

/** How often a check lets the event loop turn between runs (signals, IPC messages, timers). */
const TURN_EVERY_MS = 50;

/**
 * A fast-check plugin run before every run (shrinking runs included): at most every 50 ms it lets
 * the event loop turn once, then asks `stop`; once `stop` says true, the check ends interrupted.
 * The simulated layer runs on promises alone, which never let the loop turn: without the turn a
 * Ctrl-C, or a worker's "interrupt" message, would wait for the whole check to end.
 */
function turnsAndInterrupts(stop: () => boolean): fc.UniversalPlugin {
  return <Ts>(): fc.PluginInstance<Ts> => {
    let lastTurn = performance.now();
    return {
      decorateRun: (next) => (value) => {
        const go = () => (stop() ? new fc.PreconditionFailure(true) : next(value));
        if (performance.now() - lastTurn < TURN_EVERY_MS) return go();
        return new Promise<void>((resolve) => setImmediate(resolve)).then(() => {
          lastTurn = performance.now();
          return go();
        });
      },
    };
  };
}

/**
 * A fast-check plugin that watches each run's outcome: a run that failed because the harness could
 * not set itself up (`SetupFailure`) is kept in `holder`, and `turnsAndInterrupts` then ends the
 * check before any shrinking (each shrink would fail the same way, slowly).
 */
function setupFailureStops(holder: { failure?: SetupFailure }): fc.UniversalPlugin {
  return <Ts>(): fc.PluginInstance<Ts> => ({
    decorateRun: (next) => (value) => {
      const seen = (outcome: fc.PreconditionFailure | fc.PropertyFailure | null) => {
        const error = (outcome as fc.PropertyFailure | null)?.error;
        if (error instanceof SetupFailure) holder.failure ??= error;
        return outcome;
      };
      const outcome = next(value);
      return outcome instanceof Promise ? outcome.then(seen) : seen(outcome);
    },
  });
}

/** `add(0),wave(...) /*replayPath="..."*\/` -> ['add(0)', 'wave(...)']. */
export function readableSteps(commandsText: string): string[] {
  const body = commandsText.replace(/\s*\/\*replayPath=.*\*\/\s*$/, '');
  const steps: string[] = [];
  let depth = 0;
  let current = '';
  for (const ch of body) {
    if (ch === ',' && depth === 0) {
      if (current.trim()) steps.push(current.trim());
      current = '';
      continue;
    }
    if (ch === '(' || ch === '[') depth++;
    if (ch === ')' || ch === ']') depth--;
    current += ch;
  }
  if (current.trim()) steps.push(current.trim());
  return steps;
}
