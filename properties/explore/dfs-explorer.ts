import type { PoolAdapter } from '../adapter/adapter.js';
import type { Program } from '../parallel/program.js';
import { type PendingTask, type SchedulingStrategy, StrategyError } from '../scheduling/controlled-scheduler.js';
import { TrailStrategy } from '../scheduling/strategies.js';
import { type RunOutcome, runProgram } from './run-program.js';
import type { RunView } from './state-hash.js';
import { independent, type TaskKey } from './task-keys.js';

/** What the depth-first search uses to cut the space; every field optional, all on by default. */
export interface ExploreConstraints {
  /** Sleep sets over the independence relation of `task-keys.ts` (default true). */
  readonly sleepSets?: boolean;
  /** Skip a state already explored with no larger sleep set (default true). */
  readonly stateHash?: boolean;
  /** Most runs for one program before it is reported as not exhausted (default 200 000). */
  readonly maxRuns?: number;
  /** Checked between runs: true stops the search (time budget, SIGINT). */
  readonly shouldStop?: () => boolean;
}

/** The search of one program's schedules. */
export interface ProgramExploration {
  /** Runs started (each a re-execution from the start along a trail). */
  readonly runs: number;
  /** Runs that reached the end and were checked. */
  readonly complete: number;
  /** Runs cut at a state already explored. */
  readonly prunedByHash: number;
  /** Runs cut because every ready task was asleep (an equivalent order was explored). */
  readonly prunedBySleep: number;
  /** Distinct states (hashes) met; with the hash off, decision points. */
  readonly states: number;
  /**
   * Failures that did not reproduce when their trail was run twice more (a wall-clock check
   * tripped by a stalled machine): reported, not counted as violations.
   */
  readonly flakes: readonly string[];
  /** Every schedule was explored (or a violation ended the search). */
  readonly exhausted: boolean;
  readonly failure?: RunOutcome;
}

interface Node {
  readonly ready: readonly number[];
  readonly keys: ReadonlyMap<number, TaskKey>;
  readonly sleep: ReadonlySet<number>;
  readonly done: Set<number>;
  chosen: number;
}

/** The program did not run the same way twice along one trail: exploration cannot be trusted. */
export class NondeterminismError extends StrategyError {
  override readonly code = 'ERR_NONDETERMINISM';
  constructor(step: number, expected: readonly number[], got: readonly number[]) {
    super(
      `step ${step}: replaying the trail met ready tasks [${got}] where the first run had [${expected}]: the run is not deterministic`,
    );
  }
}

/**
 * Stateless depth-first search (as CHESS and loom do): every run re-executes the program from
 * the start, following the trail of choices down the current branch, and the search backtracks
 * to the deepest decision with a ready task not yet tried. Sleep sets (Godefroid) skip orders
 * that only swap independent tasks; the state hash skips a state met before with a sleep set no
 * larger than now (storing, per state, the intersection of the sleep sets it was explored with,
 * which keeps the combination sound).
 */
export async function exploreProgram(
  program: Program,
  adapter: PoolAdapter,
  addresses: number,
  c: ExploreConstraints = {},
): Promise<ProgramExploration> {
  const sleepSets = c.sleepSets ?? true;
  const stateHash = c.stateHash ?? true;
  const maxRuns = c.maxRuns ?? 200_000;
  const nodes: Node[] = [];
  const visited = new Map<string, readonly string[]>();
  let runs = 0;
  let complete = 0;
  let prunedByHash = 0;
  let prunedBySleep = 0;
  let decisions = 0;
  const flakes: string[] = [];

  const strategyFor = (view: RunView): SchedulingStrategy => ({
    describe: () => 'depth-first',
    choose: async (ready: readonly PendingTask[], step: number) => {
      const ids = ready.map((t) => t.id);
      const known = nodes[step];
      if (known) {
        if (known.ready.length !== ids.length || known.ready.some((id, k) => id !== ids[k])) {
          throw new NondeterminismError(step, known.ready, ids);
        }
        return known.ready.indexOf(known.chosen);
      }
      const keys = new Map(ready.map((t) => [t.id, view.key(t)]));
      const parent = nodes[step - 1];
      const sleep = new Set<number>();
      if (sleepSets && parent) {
        const chosenKey = parent.keys.get(parent.chosen) ?? 'global';
        for (const id of [...parent.sleep, ...parent.done]) {
          if (id !== parent.chosen && keys.has(id) && independent(parent.keys.get(id) ?? 'global', chosenKey)) sleep.add(id);
        }
      }
      if (stateHash) {
        const h = await view.hash(ready);
        const asleep = ready.filter((t) => sleep.has(t.id)).map((t) => view.descriptor(t));
        const before = visited.get(h);
        if (before?.every((d) => asleep.includes(d))) {
          prunedByHash++;
          return 'abort';
        }
        visited.set(h, before ? before.filter((d) => asleep.includes(d)) : asleep);
      }
      const first = ready.find((t) => !sleep.has(t.id));
      if (!first) {
        prunedBySleep++;
        return 'abort';
      }
      decisions++;
      nodes.push({ ready: ids, keys, sleep, done: new Set(), chosen: first.id });
      return ready.indexOf(first);
    },
  });

  const ended = (exhausted: boolean): ProgramExploration => ({
    runs,
    complete,
    prunedByHash,
    prunedBySleep,
    states: stateHash ? visited.size : decisions,
    flakes,
    exhausted,
  });
  for (;;) {
    if (runs >= maxRuns || c.shouldStop?.()) return ended(false);
    runs++;
    const outcome = await runProgram(program, adapter, addresses, strategyFor);
    if (outcome.kind === 'passed') complete++;
    if (outcome.kind === 'failed') {
      if (await reproduces(program, adapter, addresses, outcome.trail)) return { ...ended(true), failure: outcome };
      flakes.push(outcome.error ?? '');
    }
    // Backtrack: the deepest decision with a ready task neither tried nor asleep.
    for (;;) {
      const top = nodes[nodes.length - 1];
      if (!top) return ended(true);
      top.done.add(top.chosen);
      const next = top.ready.find((id) => !top.done.has(id) && !top.sleep.has(id));
      if (next !== undefined) {
        top.chosen = next;
        break;
      }
      nodes.pop();
    }
  }
}

/** A violation counts only if its trail fails twice more: the checks that read a clock can trip on a stalled machine. */
async function reproduces(program: Program, adapter: PoolAdapter, addresses: number, trail: readonly number[]): Promise<boolean> {
  for (let k = 0; k < 2; k++) {
    if ((await runProgram(program, adapter, addresses, () => new TrailStrategy(trail))).kind !== 'failed') return false;
  }
  return true;
}
