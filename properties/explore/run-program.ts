import type { Scheduler } from 'fast-check';
import type { PoolAdapter } from '../adapter/adapter.js';
import { checkRun } from '../parallel/parallel-property.js';
import { ParallelRun } from '../parallel/parallel-run.js';
import type { Program } from '../parallel/program.js';
import { ControlledScheduler, RunAborted, type SchedulingStrategy, StrategyError } from '../scheduling/controlled-scheduler.js';
import { SimulatedBackend } from '../simulated-backend.js';
import { RunView } from './state-hash.js';

/** How one run of a program under a controlled schedule ended. */
export interface RunOutcome {
  /** `passed`: ran to the end and every check held; `aborted`: the strategy stopped it (pruned). */
  readonly kind: 'passed' | 'failed' | 'aborted';
  readonly error?: string;
  /** The index chosen at each step. */
  readonly trail: readonly number[];
  /** The released tasks in order, as `lane: label`. */
  readonly schedule: readonly string[];
}

/**
 * Runs `program` once on a fresh simulated network with the pool (of `stack`) under a controlled
 * scheduler, and checks the run as the parallel property does (`checkRun`). The strategy is made
 * once the run exists, so that it can look at it (`RunView`).
 */
export async function runProgram(
  program: Program,
  adapter: PoolAdapter,
  addresses: number,
  strategyFor: (view: RunView) => SchedulingStrategy,
): Promise<RunOutcome> {
  let strategy: SchedulingStrategy | undefined;
  const s = new ControlledScheduler({
    choose: (ready, step) => (strategy as SchedulingStrategy).choose(ready, step),
    describe: () => strategy?.describe() ?? 'none',
  });
  return runWith(program, adapter, addresses, s, (run) => {
    strategy = strategyFor(new RunView(run));
  });
}

/** Runs `program` under any scheduler (fast-check's own too) and checks it; `ready` sees the run before it starts. */
export async function runWith(
  program: Program,
  adapter: PoolAdapter,
  addresses: number,
  s: Scheduler,
  ready: (run: ParallelRun) => void = () => {},
): Promise<RunOutcome> {
  const backend = new SimulatedBackend(addresses);
  const run = new ParallelRun(backend, s, adapter, program, 'mc');
  ready(run);
  const trailOf = () =>
    s instanceof ControlledScheduler ? { trail: [...s.trail], schedule: [...s.released] } : { trail: [], schedule: [] };
  try {
    await run.execute();
  } catch (error) {
    if (error instanceof StrategyError) throw error;
    if (error instanceof RunAborted || (s instanceof ControlledScheduler && s.aborted)) return { kind: 'aborted', ...trailOf() };
    await cleanUp(run, s);
    return { kind: 'failed', error: message(error), ...trailOf() };
  }
  try {
    await checkRun(run, 'simulated');
  } catch (error) {
    await cleanUp(run, s);
    return { kind: 'failed', error: message(error), ...trailOf() };
  }
  await backend.dispose();
  return { kind: 'passed', ...trailOf() };
}

async function cleanUp(run: ParallelRun, s: Scheduler): Promise<void> {
  run.gate.open();
  if (s instanceof ControlledScheduler) s.abort();
  await run.backend.dispose();
}

function message(error: unknown): string {
  return error instanceof Error ? `${error.name === 'Error' ? '' : `${error.name}: `}${error.message}` : String(error);
}
