import { PROPERTIES, type PropertyDefinition } from './catalog.js';
import type { Layer, PropertyResult } from './check-runner.js';
import { KEYS_PROPERTY } from './keys-property.js';
import { PARALLEL_PROPERTY } from './parallel/parallel-property.js';
import { programSize } from './parallel/program.js';
import { parseProgram } from './parallel/program-text.js';
import type { BrokenVariant } from './variants/index.js';
import { checkOnWorkers, defaultWorkers, type PropertyWorkers } from './workers/worker-pool.js';

/** What the suite did against one variant on one layer. */
export interface LayerVerdict {
  readonly caught: boolean;
  /** The property that caught it. */
  readonly by: string | null;
  /** Runs of the catching property until the first failure. */
  readonly runs: number | null;
  /** Seconds from the start of this layer's check to its first failure (properties tried before count; not the shrinking). */
  readonly seconds: number | null;
  readonly shrunkCommands: number | null;
  readonly counterexample: readonly string[] | null;
  /** What the catching property said (the first line of its error), so that a catch can be judged. */
  readonly error: string | null;
  /**
   * The property whose counterexample is reported, when not the one that caught the variant first:
   * another property found a shorter one in its second look (see `SECOND_LOOK_SHARE`).
   */
  readonly shrunkBy?: string;
  /** When not caught and the catalogue says this layer cannot see the bug: why. */
  readonly blindSpot: string | null;
  /** Seconds spent on this layer in all (tries, shrinking and minimising included), and the budget it had. */
  readonly spentSeconds: number;
  readonly budgetSeconds: number;
}

/** What the suite did against one known-broken variant, per layer. */
export interface VariantVerdict {
  readonly name: string;
  readonly bugClass: string;
  /** Caught on at least one layer. */
  readonly caught: boolean;
  /** Every layer tried that the catalogue does not call blind caught it. */
  readonly caughtWhereExpected: boolean;
  readonly layers: Partial<Record<Layer, LayerVerdict>>;
  /** Length of the shortest sequence that shows the bug, as the catalogue argues it. */
  readonly shortestCommands: number;
}

/** Time per variant per layer when neither `capMs` nor the variant's own `budgetMs` says otherwise. */
export const DEFAULT_BUDGET_MS = 60_000;

export interface SelfCheckOptions {
  /** Most time spent on one variant on one layer, for every variant (default: the variant's own budget, else 60 s). */
  readonly capMs?: number;
  readonly seed?: number;
  /** Layers to try (default both, simulated first). */
  readonly layers?: readonly Layer[];
  /** Shrink the first failure to report its counterexample (default true). */
  readonly shrink?: boolean;
  /**
   * Spread each try over these worker processes (one per core simulated, two per core live), as
   * `npm run properties` does; default: one stream in this process. Runs are then counted over
   * every stream, and the shrinking replays the failing stream's case here.
   */
  readonly workers?: PropertyWorkers;
  /** How many of the workers a try is spread over (default: `defaultWorkers(layer)`, at most all of them). */
  readonly spread?: number;
}

/**
 * Budgets of the attempts, as fractions of the cap: every property gets a short try, then a
 * longer one, then an even share of the rest. Most bugs fall in the first round within
 * milliseconds; a bug only one property sees costs the others no more than their tries.
 */
const ROUNDS = [0.01, 0.05, 0.2, 1] as const;
/** The short tries every property gets, whatever the catalogue says can see the variant (`focus`). */
const SHORT_ROUNDS = 2;
const ATTEMPT_RUNS: Record<Layer, number> = { simulated: 100_000, live: 5_000 };

/**
 * Time on a layer the catalogue says cannot see the variant: it is still tried (a blind spot that
 * stopped being one would show), briefly; the full default spent ten minutes of a default run there.
 */
export const BLIND_BUDGET_MS = 5_000;

/**
 * The time a variant gets on a layer: `capMs` when given, else the catalogue's budget for it, else
 * a short try where the catalogue calls the layer blind, else the default.
 */
export function layerBudgetMs(variant: BrokenVariant, layer: Layer, capMs?: number): number {
  const blind = variant.blindSpot?.layer === layer ? BLIND_BUDGET_MS : undefined;
  return capMs ?? variant.budgetMs?.[layer] ?? blind ?? DEFAULT_BUDGET_MS;
}

/** Runs the properties against `variant` on each layer in turn, and reports every layer. */
export async function selfCheckVariant(variant: BrokenVariant, options: SelfCheckOptions = {}): Promise<VariantVerdict> {
  const layers: Partial<Record<Layer, LayerVerdict>> = {};
  for (const layer of options.layers ?? (['simulated', 'live'] as const)) {
    layers[layer] = await selfCheckLayer(variant, layer, options);
  }
  const tried = Object.values(layers);
  return {
    name: variant.name,
    bugClass: variant.bugClass,
    caught: tried.some((v) => v.caught),
    caughtWhereExpected: tried.every((v) => v.caught || v.blindSpot !== null),
    layers,
    shortestCommands: variant.shortest.commands,
  };
}

/** The properties a round tries: all in the two short rounds, then those the catalogue focuses on, where it does. */
export function roundProperties(variant: BrokenVariant, layer: Layer, round: number): readonly PropertyDefinition[] {
  const focus = variant.focus?.[layer];
  return round >= SHORT_ROUNDS && focus ? PROPERTIES.filter((p) => focus.includes(p.name)) : PROPERTIES;
}

async function selfCheckLayer(variant: BrokenVariant, layer: Layer, options: SelfCheckOptions): Promise<LayerVerdict> {
  const capMs = layerBudgetMs(variant, layer, options.capMs);
  const started = performance.now();
  for (const [round, share] of ROUNDS.entries()) {
    // After the short rounds, the properties the catalogue says can see the variant, where it says.
    const tried = roundProperties(variant, layer, round);
    for (const [k, property] of tried.entries()) {
      const remaining = capMs - (performance.now() - started);
      if (remaining <= 0) break;
      // The properties still to try in this round share what is left: in the last round the first
      // property would otherwise take it all (the network-fault variants only the parallel
      // property, second in line, can see were missed that way).
      const fairShare = remaining / (tried.length - k);
      const attempt = {
        layer,
        variant,
        // A new seed each round, so a longer try explores cases the short one did not.
        seed: options.seed === undefined ? undefined : options.seed + round,
        runs: ATTEMPT_RUNS[layer],
        timeLimitMs: Math.max(1, Math.min(fairShare, capMs * share)),
        noShrink: true,
      };
      const found = options.workers
        ? await checkOnWorkers(options.workers, property.name, attempt, options.spread ?? defaultWorkers(layer))
        : await property.check(attempt);
      // A check its time ran out on before any run found nothing: it is not a catch.
      if (found.passed || found.runs === 0) continue;
      const seconds = (performance.now() - started) / 1000;
      const steps = (options.shrink ?? true) ? await shrinkFound(property, variant, layer, found) : found.counterexample;
      let shortest: Shortest = { by: property.name, steps, commands: steps ? commandsIn(property.name, steps) : null };
      if ((options.shrink ?? true) && shortest.commands !== null && shortest.commands > variant.shortest.commands + 1) {
        shortest = await secondLook(variant, layer, options, property.name, shortest, capMs - (performance.now() - started));
      }
      return {
        caught: true,
        by: property.name,
        runs: found.runs,
        seconds,
        shrunkCommands: shortest.commands,
        counterexample: shortest.steps ?? null,
        error: found.error?.split('\n')[0]?.slice(0, 300) ?? null,
        ...(shortest.by === property.name ? {} : { shrunkBy: shortest.by }),
        blindSpot: null,
        spentSeconds: (performance.now() - started) / 1000,
        budgetSeconds: capMs / 1000,
      };
    }
  }
  const blind = variant.blindSpot?.layer === layer ? variant.blindSpot.why : null;
  return {
    caught: false,
    by: null,
    runs: null,
    seconds: null,
    shrunkCommands: null,
    counterexample: null,
    error: null,
    blindSpot: blind,
    spentSeconds: (performance.now() - started) / 1000,
    budgetSeconds: capMs / 1000,
  };
}

/**
 * Share of the cap each other property gets for a second look when the first catch shrank to more
 * than one command over the catalogue's shortest (a property the catalogue focuses on gets all
 * that is left). A property shrinks within what it can express: a sequential case cannot hold a
 * stop "meanwhile" a wave of calls on one connection the way a parallel program can
 * (retry-on-unavailable: 4 steps sequentially, 2 operations in parallel), so the shortest
 * counterexample may belong to a property that caught the bug second.
 */
const SECOND_LOOK_SHARE = 0.25;

interface Shortest {
  readonly by: string;
  readonly steps: readonly string[] | undefined;
  readonly commands: number | null;
}

/** The properties a second look tries, in order: those the catalogue focuses on for this layer first. */
export function secondLookOrder(variant: BrokenVariant, layer: Layer): readonly PropertyDefinition[] {
  const focus = variant.focus?.[layer] ?? [];
  return [...PROPERTIES.filter((p) => focus.includes(p.name)), ...PROPERTIES.filter((p) => !focus.includes(p.name))];
}

async function secondLook(
  variant: BrokenVariant,
  layer: Layer,
  options: SelfCheckOptions,
  caughtBy: string,
  first: Shortest,
  remainingMs: number,
): Promise<Shortest> {
  let best = first;
  const capMs = layerBudgetMs(variant, layer, options.capMs);
  for (const property of secondLookOrder(variant, layer)) {
    if (best.commands !== null && best.commands <= variant.shortest.commands + 1) break;
    if (property.name === caughtBy || remainingMs <= 0) continue;
    // The properties the catalogue focuses on may take all that is left: they are the ones said to
    // see the variant (close-leaks-connecting-socket needs 60-70 s of pool-linearizable live, and a
    // quarter of its 150 s was not enough after a long catch by another property in 0.7 s).
    const focused = variant.focus?.[layer]?.includes(property.name) ?? false;
    const lookMs = focused ? remainingMs : Math.min(remainingMs, capMs * SECOND_LOOK_SHARE);
    const attempt = { layer, variant, seed: options.seed, runs: ATTEMPT_RUNS[layer], timeLimitMs: lookMs, noShrink: true };
    const lookStarted = performance.now();
    const found = options.workers
      ? await checkOnWorkers(options.workers, property.name, attempt, options.spread ?? defaultWorkers(layer))
      : await property.check(attempt);
    if (!found.passed && found.runs > 0) {
      const steps = await shrinkFound(property, variant, layer, found);
      const commands = steps ? commandsIn(property.name, steps) : null;
      if (commands !== null && (best.commands === null || commands < best.commands))
        best = { by: property.name, steps, commands };
    }
    remainingMs -= performance.now() - lookStarted;
  }
  return best;
}

/**
 * A found failure's shortest steps: fast-check's shrinking, replayed from the seed and path; if
 * that replay passes (the live layer's timing), the property's minimiser from the recorded steps,
 * on the schedule that failed and fresh ones; else the case as found. (The second look used only
 * the replay: a live catch there came back unshrunk.)
 */
async function shrinkFound(
  property: PropertyDefinition,
  variant: BrokenVariant,
  layer: Layer,
  found: PropertyResult,
): Promise<readonly string[] | undefined> {
  const shrunk = await property.check({ layer, variant, seed: found.seed, path: found.path, runs: 1 });
  if (!shrunk.passed && shrunk.counterexample) return shrunk.counterexample;
  if (property.minimise) {
    const m = await property.minimise({ layer, variant }, found);
    if (!m.passed && m.counterexample) return m.counterexample;
  }
  return found.counterexample;
}

/** Operations in a counterexample: a parallel program's operations (its lines group them), else one a step. */
function commandsIn(property: string, steps: readonly string[]): number {
  if (property === PARALLEL_PROPERTY) return programSize(parseProgram(steps));
  // A keys-isolate case opens with the servers it starts: a setting, not a command.
  if (property === KEYS_PROPERTY) return steps.filter((s) => !s.startsWith('servers(')).length;
  return steps.length;
}
