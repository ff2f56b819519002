/**
 * Runs to first failure per variant under fast-check's random scheduler and under PCT, over the
 * same stream of generated programs (the parallel property's generator), median over seeds:
 *
 *   node --import ./src/loader/register.mjs properties/explore/compare-strategies.ts [--seeds 10] [--cap 2000] [--max-commands 12] [--json FILE] [--variant NAME]
 *
 * For seed s, run k uses the k-th program of `programArbitrary` sampled with seed s, and a
 * scheduler seeded from (s, k): fast-check's `fc.scheduler()` (what the suite uses), or a
 * controlled scheduler with `PctStrategy` of depth 2 or 3. A seed that reaches the cap without a
 * failure counts as "cap+" (the median is then a lower bound, marked ">=").
 */
import { writeFile } from 'node:fs/promises';
import { parseArgs } from 'node:util';
import fc, { type Scheduler } from 'fast-check';
import { type Program, programArbitrary } from '../parallel/program.js';
import { ControlledScheduler } from '../scheduling/controlled-scheduler.js';
import { PctStrategy } from '../scheduling/strategies.js';
import { findVariant, VARIANTS, variantAdapter } from '../variants/index.js';
import { runWith } from './run-program.js';
import { MODEL_CHECK_BOUNDS } from './variant-bounds.js';

const { values } = parseArgs({
  options: {
    seeds: { type: 'string', default: '10' },
    cap: { type: 'string', default: '2000' },
    'max-commands': { type: 'string', default: '12' },
    json: { type: 'string' },
    variant: { type: 'string', multiple: true },
  },
});
const SEEDS = Number(values.seeds);
const CAP = Number(values.cap);
const MAX_COMMANDS = Number(values['max-commands']);
const PCT_STEPS = 60;

type StrategyName = 'fast-check random' | 'pct d=2' | 'pct d=3';
const STRATEGIES: Record<StrategyName, (seed: number) => Scheduler> = {
  'fast-check random': (seed) => fc.sample(fc.scheduler(), { seed, numRuns: 1 })[0] as Scheduler,
  'pct d=2': (seed) => new ControlledScheduler(new PctStrategy(seed, { depth: 2, steps: PCT_STEPS })),
  'pct d=3': (seed) => new ControlledScheduler(new PctStrategy(seed, { depth: 3, steps: PCT_STEPS })),
};

interface Row {
  readonly variant: string;
  readonly strategy: StrategyName;
  /** Runs to the first failure per seed; null: none within the cap. */
  readonly runs: (number | null)[];
  readonly median: string;
  readonly seconds: number;
  readonly meanSteps: number;
}

const rows: Row[] = [];
const names =
  values.variant ??
  VARIANTS.map((v) => v.name).filter((n) => MODEL_CHECK_BOUNDS[n] && 'maxCommands' in (MODEL_CHECK_BOUNDS[n] ?? {}));
for (const name of names) {
  const v = findVariant(name);
  if (!v) throw new Error(`no variant ${name}`);
  const adapter = await variantAdapter(v);
  for (const strategy of Object.keys(STRATEGIES) as StrategyName[]) {
    const started = performance.now();
    const runs: (number | null)[] = [];
    let steps = 0;
    let stepRuns = 0;
    for (let seed = 1; seed <= SEEDS; seed++) {
      const programs: Program[] = fc.sample(
        programArbitrary({ addresses: 2, maxOps: MAX_COMMANDS, controllable: true, networkFaults: false }),
        {
          seed,
          numRuns: CAP,
        },
      );
      let found: number | null = null;
      for (let k = 0; k < programs.length; k++) {
        const s = STRATEGIES[strategy](seed * 100_003 + k);
        const r = await runWith(programs[k] as Program, adapter, 2, s);
        if (s instanceof ControlledScheduler) {
          steps += s.steps;
          stepRuns++;
        }
        if (r.kind === 'failed') {
          found = k + 1;
          break;
        }
      }
      runs.push(found);
    }
    const row: Row = {
      variant: name,
      strategy,
      runs,
      median: median(runs),
      seconds: (performance.now() - started) / 1000,
      meanSteps: stepRuns ? steps / stepRuns : 0,
    };
    rows.push(row);
    console.log(
      `${name.padEnd(24)} ${strategy.padEnd(18)} median ${row.median.padStart(6)}  runs [${runs.map((r) => r ?? `${CAP}+`).join(' ')}]  ${row.seconds.toFixed(1)} s`,
    );
  }
}
if (values.json) {
  await writeFile(
    values.json,
    `${JSON.stringify({ seeds: SEEDS, cap: CAP, maxCommands: MAX_COMMANDS, pctSteps: PCT_STEPS, rows }, null, 2)}\n`,
  );
}

function median(xs: readonly (number | null)[]): string {
  const sorted = xs.map((x) => x ?? Number.POSITIVE_INFINITY).sort((a, b) => a - b);
  const mid = sorted.length / 2;
  const m = sorted.length % 2 ? (sorted[Math.floor(mid)] as number) : ((sorted[mid - 1] as number) + (sorted[mid] as number)) / 2;
  return Number.isFinite(m) ? String(m) : `>=${CAP}`;
}
