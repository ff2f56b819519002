import type { PoolAdapter } from '../adapter/adapter.js';
import type { Program } from '../parallel/program.js';
import { seededRandom, TrailStrategy } from '../scheduling/strategies.js';
import { type ExploreConstraints, exploreProgram } from './dfs-explorer.js';
import { type ProgramSpaceConstraints, programsOfSize } from './program-space.js';
import { type RunOutcome, runProgram } from './run-program.js';

/** The bound and the search's settings; every field optional. */
export interface ModelCheckConstraints extends ProgramSpaceConstraints, Omit<ExploreConstraints, 'shouldStop'> {
  /** Largest program, in operations (default 3). */
  readonly maxCommands?: number;
  /** Smallest program (default: one operation per client). */
  readonly minCommands?: number;
  /** Above this many programs of one size, a seeded uniform sample of this many is explored (default 5 000). */
  readonly maxPrograms?: number;
  /** Seed of that sample (default 1). */
  readonly seed?: number;
  /** Wall-clock budget in ms for the whole search (default: none); checked between runs. */
  readonly timeMs?: number;
  /** Checked between runs: true stops the search (SIGINT). */
  readonly shouldStop?: () => boolean;
  /** Called after each program (progress lines). */
  readonly onProgram?: (done: SizeReport, program: Program, index: number) => void;
  /**
   * Explore only this share of each size's programs: those whose place in the (sampled) list
   * leaves `index` when divided by `count` (worker processes split a size this way).
   */
  readonly shard?: { readonly index: number; readonly count: number };
}

/** What the search did with the programs of one size. */
export interface SizeReport {
  readonly size: number;
  /** Programs of this size, one per symmetry class. */
  readonly total: number;
  /** Programs whose schedules were searched (all of them unless sampled or stopped). */
  explored: number;
  readonly sampled: boolean;
}

export interface ModelCheckFailure {
  readonly program: Program;
  /** The trail as found, then simplified (fewest choices off the oldest-first default). */
  readonly trail: readonly number[];
  readonly schedule: readonly string[];
  readonly error: string;
}

export interface ModelCheckReport {
  readonly programs: number;
  readonly runs: number;
  /** Runs that reached their end and were checked (complete schedules, up to the reductions). */
  readonly schedules: number;
  readonly prunedByHash: number;
  readonly prunedBySleep: number;
  readonly states: number;
  /** Failures that did not reproduce on their trail (see `ProgramExploration.flakes`). */
  readonly flakes: readonly string[];
  readonly elapsedMs: number;
  /** Every schedule of every program up to the bound was explored, with no violation. */
  readonly exhausted: boolean;
  readonly interrupted: boolean;
  readonly sizes: readonly SizeReport[];
  readonly failure?: ModelCheckFailure;
}

/**
 * Bounded model checking of the pool on the simulated layer: the programs of each size in
 * increasing order (so the first violation is in a shortest program), and for each every release
 * order of its pending tasks, depth-first with sleep sets and state hashing (`exploreProgram`).
 * A violation ends the search; its trail is simplified before it is reported.
 */
export async function modelCheck(adapter: PoolAdapter, c: ModelCheckConstraints = {}): Promise<ModelCheckReport> {
  const started = performance.now();
  const addresses = c.addresses ?? 2;
  const clients = c.clients ?? 2;
  const maxCommands = c.maxCommands ?? 3;
  const maxPrograms = c.maxPrograms ?? 5_000;
  const deadline = c.timeMs === undefined ? Number.POSITIVE_INFINITY : started + c.timeMs;
  const timeUp = () => performance.now() > deadline;
  const shouldStop = () => timeUp() || (c.shouldStop?.() ?? false);
  const sizes: SizeReport[] = [];
  let programs = 0;
  let runs = 0;
  let schedules = 0;
  let prunedByHash = 0;
  let prunedBySleep = 0;
  let states = 0;
  const flakes: string[] = [];
  let exhausted = true;
  let failure: ModelCheckFailure | undefined;
  outer: for (let n = c.minCommands ?? clients; n <= maxCommands; n++) {
    const all = programsOfSize(n, { ...c, addresses, clients });
    const sampled = all.length > maxPrograms;
    const chosen = sampled ? sample(all, maxPrograms, (c.seed ?? 1) + n) : all;
    const size: SizeReport = { size: n, total: all.length, explored: 0, sampled };
    sizes.push(size);
    if (sampled) exhausted = false;
    const shard = c.shard;
    const mine = shard ? chosen.filter((_, k) => k % shard.count === shard.index) : chosen;
    for (const [index, program] of mine.entries()) {
      if (shouldStop()) {
        exhausted = false;
        break outer;
      }
      const r = await exploreProgram(program, adapter, addresses, { ...c, shouldStop });
      programs++;
      size.explored++;
      runs += r.runs;
      schedules += r.complete;
      prunedByHash += r.prunedByHash;
      prunedBySleep += r.prunedBySleep;
      states += r.states;
      flakes.push(...r.flakes);
      if (!r.exhausted) exhausted = false;
      c.onProgram?.(size, program, index);
      if (r.failure) {
        failure = await simplify(program, adapter, addresses, r.failure);
        exhausted = false;
        break outer;
      }
    }
  }
  return {
    programs,
    runs,
    schedules,
    prunedByHash,
    prunedBySleep,
    states,
    flakes,
    elapsedMs: performance.now() - started,
    exhausted,
    interrupted: !failure && (c.shouldStop?.() ?? false),
    sizes,
    ...(failure ? { failure } : {}),
  };
}

/** Runs `program` along `trail` exactly (then oldest-first) and says how it ended. */
export function replayTrail(
  program: Program,
  adapter: PoolAdapter,
  addresses: number,
  trail: readonly number[],
): Promise<RunOutcome> {
  return runProgram(program, adapter, addresses, () => new TrailStrategy(trail));
}

/**
 * Fewer choices off the default: from the last, each choice is set to 0 (the oldest ready task)
 * and kept if the run still fails; the trail is then cut after its last non-zero choice.
 */
async function simplify(
  program: Program,
  adapter: PoolAdapter,
  addresses: number,
  found: RunOutcome,
): Promise<ModelCheckFailure> {
  let best = found;
  let trail = trimmed(found.trail);
  for (let k = trail.length - 1; k >= 0; k--) {
    if (trail[k] === 0) continue;
    const candidate = trail.map((x, j) => (j === k ? 0 : x));
    const r = await runProgram(program, adapter, addresses, () => new TrailStrategy(candidate, true));
    if (r.kind === 'failed') {
      best = r;
      trail = trimmed(r.trail).slice(0, Math.max(k, trimmed(r.trail).length));
    }
  }
  return { program, trail: trimmed(best.trail), schedule: best.schedule, error: best.error ?? '' };
}

function trimmed(trail: readonly number[]): number[] {
  let end = trail.length;
  while (end > 0 && trail[end - 1] === 0) end--;
  return trail.slice(0, end);
}

/** `count` of `items`, uniformly, by a seeded partial Fisher-Yates shuffle; kept in their order. */
function sample<T>(items: readonly T[], count: number, seed: number): T[] {
  const next = seededRandom(seed);
  const index = items.map((_, k) => k);
  for (let k = 0; k < count; k++) {
    const j = k + Math.floor(next() * (index.length - k));
    [index[k], index[j]] = [index[j] as number, index[k] as number];
  }
  return index
    .slice(0, count)
    .sort((a, b) => a - b)
    .map((k) => items[k] as T);
}
