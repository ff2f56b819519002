import { PROPERTIES } from './catalog.js';
import type { Layer } from './check-runner.js';
import type { BrokenVariant } from './variants/index.js';

/** What the suite did against one known-broken variant. */
export interface VariantVerdict {
  readonly name: string;
  readonly bugClass: string;
  readonly caught: boolean;
  /** `property [layer]` that caught it. */
  readonly by: string | null;
  /** Runs of the catching property until the first failure. */
  readonly runs: number | null;
  /** Seconds from the start of this variant's check to its first failure (all properties tried before count; not the shrinking after). */
  readonly seconds: number | null;
  readonly shrunkCommands: number | null;
  readonly counterexample: readonly string[] | null;
  /** Length of the shortest sequence that shows the bug, as the catalogue argues it. */
  readonly shortestCommands: number;
}

export interface SelfCheckOptions {
  /** Most time spent on one variant (default 60 s). */
  readonly capMs?: number;
  readonly seed?: number;
  /** Layers to try, in order (default simulated, then live). */
  readonly layers?: readonly Layer[];
}

/**
 * Budgets of the attempts, as fractions of the cap: every (layer, property) pair gets a short try,
 * then a longer one, then the rest. Most bugs fall in the first round within milliseconds; a bug
 * only one property sees costs the others no more than their short tries.
 */
const ROUNDS = [0.01, 0.05, 0.2] as const;
const ATTEMPT_RUNS: Record<Layer, number> = { simulated: 100_000, live: 5_000 };
/** Extra failing seeds shrunk after the first catch, and the time each may take. */
const EXTRA_SHRINK_SEEDS = 4;
const EXTRA_SHRINK_MS: Record<Layer, number> = { simulated: 1_500, live: 10_000 };

/**
 * Runs the properties against `variant` in rounds of growing budget (simulated before live in each
 * round: it explores fastest), stops at the first failure, then shrinks that failure from its seed
 * and path to report the counterexample.
 */
export async function selfCheckVariant(variant: BrokenVariant, options: SelfCheckOptions = {}): Promise<VariantVerdict> {
  const capMs = options.capMs ?? 60_000;
  const started = performance.now();
  const base = { name: variant.name, bugClass: variant.bugClass, shortestCommands: variant.shortest.commands };
  const layers = options.layers ?? (['simulated', 'live'] as const);
  for (const [round, share] of [...ROUNDS, 1].entries()) {
    for (const layer of layers) {
      for (const property of PROPERTIES) {
        const remaining = capMs - (performance.now() - started);
        if (remaining <= 0) break;
        const found = await property.check({
          layer,
          variant,
          // A new seed each round, so a longer try explores cases the short one did not.
          seed: options.seed === undefined ? undefined : options.seed + round,
          runs: ATTEMPT_RUNS[layer],
          timeLimitMs: Math.max(1, Math.min(remaining, capMs * share)),
          noShrink: true,
        });
        if (found.passed) continue;
        const seconds = (performance.now() - started) / 1000;
        const shrunk = await property.check({ layer, variant, seed: found.seed, path: found.path, runs: 1 });
        let steps = shrunk.passed ? found.counterexample : shrunk.counterexample;
        // A failure's shape depends on the scheduler's choices as well as on the commands, so one
        // shrink can stop at a local minimum: a few more failing seeds, shrunk too, keep the shortest.
        for (let extra = 1; extra <= EXTRA_SHRINK_SEEDS; extra++) {
          const again = await property.check({
            layer,
            variant,
            seed: found.seed + extra,
            runs: ATTEMPT_RUNS[layer],
            timeLimitMs: EXTRA_SHRINK_MS[layer],
          });
          if (
            !again.passed &&
            again.counterexample &&
            again.counterexample.length < (steps?.length ?? Number.POSITIVE_INFINITY)
          ) {
            steps = again.counterexample;
          }
        }
        return {
          ...base,
          caught: true,
          by: `${property.name} [${layer}]`,
          runs: found.runs,
          seconds,
          shrunkCommands: steps?.length ?? null,
          counterexample: steps ?? null,
        };
      }
    }
  }
  return { ...base, caught: false, by: null, runs: null, seconds: null, shrunkCommands: null, counterexample: null };
}
