import { seededRandom } from '../../src/faults/seeded-random.js';
import { type PendingTask, type SchedulingStrategy, StrategyError } from './controlled-scheduler.js';

/** A small seeded generator (mulberry32), shared with the fault proxy's jitter: no clock, no Math.random. */
export { seededRandom };

/**
 * Follows a trail of choices (an index among the ready tasks at each step), then takes the oldest
 * ready task. `lenient` takes an out-of-range index modulo the ready count (for shrinking a trail);
 * otherwise it is an error, since the trail no longer names this run.
 */
export class TrailStrategy implements SchedulingStrategy {
  constructor(
    readonly trail: readonly number[],
    readonly lenient = false,
  ) {}

  choose(ready: readonly PendingTask[], step: number): number {
    const want = this.trail[step] ?? 0;
    if (want < ready.length) return want;
    if (this.lenient) return want % ready.length;
    throw new StrategyError(
      `trail step ${step} chooses task ${want}, but only ${ready.length} are ready: the trail does not name this run`,
    );
  }

  describe(): string {
    return `trail [${this.trail.join(',')}]`;
  }
}

/** Uniformly random among the ready tasks, from a seed. */
export class RandomStrategy implements SchedulingStrategy {
  readonly #next: () => number;
  constructor(readonly seed: number) {
    this.#next = seededRandom(seed);
  }

  choose(ready: readonly PendingTask[]): number {
    return Math.floor(this.#next() * ready.length);
  }

  describe(): string {
    return `random(seed=${this.seed})`;
  }
}

/** PCT's parameters: see `PctStrategy`. */
export interface PctConstraints {
  /** Bug depth d: the number of ordering constraints a bug needs; d - 1 priority-change points. Default 2. */
  readonly depth?: number;
  /** Estimated number of steps k in a run (where change points fall). Default 60. */
  readonly steps?: number;
}

/**
 * PCT (Burckhardt, Kothari, Musuvathi, Nagarakatte, ASPLOS 2010). Threads are the lanes of the
 * pending tasks (`c1`, `c2/w0`, `nemesis`, `prefix`, `final`; a connector's result belongs to the
 * operation that asked for it). Each lane gets a random priority in [d, d+1) when first seen (a
 * uniform random order of the initial priorities, as PCT's random permutation), and d - 1 change
 * points are drawn uniformly in [0, k). At each step the ready task of the highest-priority lane
 * runs (its oldest, within a lane); when step k_i is taken, that lane drops to priority d - i,
 * below every initial one. For a run of at most n lanes and k steps, a bug of depth d is found
 * with probability at least 1 / (n * k^(d-1)) per run.
 */
export class PctStrategy implements SchedulingStrategy {
  readonly depth: number;
  readonly steps: number;
  readonly #next: () => number;
  readonly #priority = new Map<string, number>();
  /** Step index -> i (1-based change number). */
  readonly #changeAt = new Map<number, number>();

  constructor(
    readonly seed: number,
    c: PctConstraints = {},
  ) {
    this.depth = c.depth ?? 2;
    this.steps = c.steps ?? 60;
    if (!Number.isInteger(this.depth) || this.depth < 1)
      throw new RangeError(`PCT depth must be a whole number >= 1; got ${this.depth}`);
    if (!Number.isInteger(this.steps) || this.steps < 1)
      throw new RangeError(`PCT steps must be a whole number >= 1; got ${this.steps}`);
    this.#next = seededRandom(seed);
    for (let i = 1; i < this.depth; i++) {
      let at = Math.floor(this.#next() * this.steps);
      // Distinct points (when k allows): take the next free step.
      for (let tries = 0; this.#changeAt.has(at) && tries < this.steps; tries++) at = (at + 1) % this.steps;
      this.#changeAt.set(at, i);
    }
  }

  choose(ready: readonly PendingTask[], step: number): number {
    let best = 0;
    let bestPriority = Number.NEGATIVE_INFINITY;
    ready.forEach((t, index) => {
      const p = this.#priorityOf(t.lane);
      // Strictly greater: within a lane (and among equals) the oldest ready task wins.
      if (p > bestPriority) {
        best = index;
        bestPriority = p;
      }
    });
    const change = this.#changeAt.get(step);
    const lane = ready[best]?.lane;
    if (change !== undefined && lane !== undefined) this.#priority.set(lane, this.depth - change);
    return best;
  }

  #priorityOf(lane: string): number {
    let p = this.#priority.get(lane);
    if (p === undefined) {
      p = this.depth + this.#next();
      this.#priority.set(lane, p);
    }
    return p;
  }

  describe(): string {
    return `pct(seed=${this.seed}, depth=${this.depth}, steps=${this.steps})`;
  }
}
