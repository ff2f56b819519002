import { type IntervalHistogram, monitorEventLoopDelay } from 'node:perf_hooks';

/** Tolerance every timing bound of the connectivity properties starts from (loopback I/O, timer granularity). */
export const BASE_TOLERANCE_MS = 50;
/** How many times the worst event-loop stall seen in the run is added to it. */
const LAG_FACTOR = 3;

/**
 * Measures, over one run, how late this process's event loop ran (a busy machine, other workers, GC):
 * the timing bounds the properties check are widened by what the same run saw, so a loaded 2-core
 * machine does not fail a run, while a run on a quiet one keeps tight bounds.
 */
export class LoopLag {
  readonly #histogram: IntervalHistogram = monitorEventLoopDelay({ resolution: 10 });

  constructor() {
    this.#histogram.enable();
  }

  /** The worst stall seen so far, in ms. */
  get maxMs(): number {
    // The histogram counts the delay of each 10 ms tick in ns; before the first tick it reads 0.
    return Number.isFinite(this.#histogram.max) ? this.#histogram.max / 1e6 : 0;
  }

  /** BASE_TOLERANCE_MS plus 3 x the worst stall so far: what a timing bound may be off by in this run. */
  toleranceMs(): number {
    return BASE_TOLERANCE_MS + LAG_FACTOR * this.maxMs;
  }

  stop(): void {
    this.#histogram.disable();
  }
}
