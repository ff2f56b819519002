import {
  BLIND_BUDGET_MS,
  DEFAULT_BUDGET_MS,
  type SelfCheckOptions,
  selfCheckVariant,
  type VariantVerdict,
} from '../../properties/self-check.js';
import { catalogueTable } from '../../properties/self-check-table.js';
import { VARIANTS } from '../../properties/variants/index.js';
import { defaultWorkers, PropertyWorkers } from '../../properties/workers/worker-pool.js';
import { checkOutputFile, OutputPathError, writeFileAtomic } from '../harness/reports.js';
import { EnvironmentError, UsageError } from './cli-errors.js';
import { exitCodesHelp } from './exit-codes.js';
import { GRPC_JS_HELP, releasesLine, selectGrpcJs } from './grpc-js-option.js';
import { parseDuration, parseInteger, parseOptions, parseSeed } from './parse-options.js';
import { runMain } from './run-main.js';
import { STOPPED } from './stop-signal.js';

const HELP = `Usage: npm run self-check -- [--cap D] [--seed S] [--variant NAME] [--layer live|simulated|all] [--json FILE] [--markdown FILE]

Runs the properties against every known-broken variant in properties/variants/ on each layer
(simulated, then live) and prints, per layer, whether each was caught, by which property, after
how many runs and seconds, and how long the shrunk counterexample is beside the shortest one that
shows the bug. A layer the catalogue says cannot see a bug is marked "blind" with its reason.
A property whose time ran out before its first run counts as not having caught the variant.

  --cap D          most time per variant per layer, for every variant (default: the budget the
                   catalogue gives a variant that needs more, ${BLIND_BUDGET_MS / 1000}s on a layer the
                   catalogue calls blind, else ${DEFAULT_BUDGET_MS / 1000}s)
  --seed S         seed, a whole number in -2147483648..2147483647 (default: fresh per variant)
  --variant NAME   check one variant only
  --layer L        live, simulated or all (default all)
  --workers N      worker processes each try is spread over (default: one per core for simulated,
                   two per core for live, as npm run properties); 1 runs every try in this process.
                   Runs are counted over every stream
  --json FILE      write { variants: [{ name, caught, layers: { simulated: { caught, by, runs,
                   seconds, shrunkCommands, counterexample, blindSpot }, live: {...} } }] }
                   (and "interrupted" when stopped early)
  --markdown FILE  write the catalogue table: per variant and layer, the property that caught it,
                   run and seconds to the first failure, shrunk/shortest (as in the README)
${GRPC_JS_HELP}
  -h, --help       this text

${exitCodesHelp('a variant was missed (not caught within --cap)')}`;

runMain(
  async (stop) => {
    const { values } = parseOptions(
      process.argv.slice(2),
      {
        cap: { type: 'string' },
        seed: { type: 'string' },
        variant: { type: 'string' },
        layer: { type: 'string', default: 'all' },
        workers: { type: 'string' },
        json: { type: 'string' },
        markdown: { type: 'string' },
        'grpc-js': { type: 'string' },
        help: { type: 'boolean', default: false },
      },
      { help: HELP },
    );
    if (values.help) {
      console.log(HELP);
      return 0;
    }
    if (!['all', 'live', 'simulated'].includes(values.layer)) {
      throw new UsageError(`--layer must be live, simulated or all; got "${values.layer}"`);
    }
    const layers = values.layer === 'all' ? (['simulated', 'live'] as const) : ([values.layer] as ['live' | 'simulated']);
    const spread = values.workers !== undefined ? parseInteger(values.workers, '--workers', 1, 64) : undefined;
    const workerCount = spread ?? Math.max(...layers.map((l) => defaultWorkers(l)));
    const capMs = values.cap === undefined ? undefined : parseDuration(values.cap, '--cap');
    const seed = values.seed === undefined ? undefined : parseSeed(values.seed);
    const chosen = values.variant === undefined ? VARIANTS : VARIANTS.filter((v) => v.name === values.variant);
    if (chosen.length === 0)
      throw new UsageError(`--variant: no variant named "${values.variant}" (known: ${VARIANTS.map((v) => v.name).join(', ')})`);
    for (const [flag, file] of [
      ['--markdown', values.markdown],
      ['--json', values.json],
    ] as const) {
      if (file === undefined) continue;
      await checkOutputFile(file).catch((error: unknown) => {
        throw error instanceof OutputPathError ? new EnvironmentError(`${flag} ${error.message}`) : error;
      });
    }

    // Before the workers start: they inherit the release through the environment.
    const grpcJs = await selectGrpcJs(values['grpc-js']);
    const workers = workerCount > 1 ? PropertyWorkers.start(workerCount) : undefined;
    if (workers) stop.onCleanup(() => workers.close());
    const options: SelfCheckOptions = { capMs, seed, layers, workers, spread };
    console.log(
      `self-check: ${chosen.length} variant(s), ${capMs === undefined ? `budget ${DEFAULT_BUDGET_MS / 1000} s each (more where the catalogue says a variant needs it)` : `cap ${capMs / 1000} s each`}${options.seed === undefined ? '' : `, seed ${options.seed}`}${values['grpc-js'] ? `, ${releasesLine(grpcJs)}` : ''}\n`,
    );
    console.log(
      `${'variant'.padEnd(26)} ${'class'.padEnd(21)} ${'layer'.padEnd(10)} ${'result'.padEnd(7)} ${'caught by'.padEnd(20)} ${'runs'.padStart(6)} ${'seconds'.padStart(8)}  shrunk/shortest`,
    );
    const verdicts: VariantVerdict[] = [];
    for (const v of chosen) {
      if (await stop.checkpoint()) break;
      const r = await stop.race(selfCheckVariant(v, options));
      if (r === STOPPED) break;
      verdicts.push(r);
      for (const [layer, l] of Object.entries(r.layers)) {
        const result = l.caught ? 'caught' : l.blindSpot ? 'blind' : 'MISSED';
        console.log(
          `${r.name.padEnd(26)} ${r.bugClass.padEnd(21)} ${layer.padEnd(10)} ${result.padEnd(7)} ${(l.by ?? '-').padEnd(20)} ${String(l.runs ?? '-').padStart(6)} ${(l.seconds === null ? '-' : l.seconds.toFixed(2)).padStart(8)}  ${l.shrunkCommands ?? '-'}/${r.shortestCommands}`,
        );
      }
    }
    const caught = verdicts.filter((v) => v.caughtWhereExpected);
    if (stop.reason) console.log(`\ninterrupted by ${stop.reason}: ${verdicts.length} of ${chosen.length} variant(s) checked`);
    for (const layer of layers) {
      const on = verdicts.map((v) => v.layers[layer]).filter((l) => l !== undefined);
      const seconds = on
        .filter((l) => l.caught)
        .map((l) => l.seconds ?? 0)
        .sort((a, b) => a - b);
      const median = seconds.length
        ? `${(seconds[Math.floor((seconds.length - 1) / 2)] as number).toFixed(2)} s`
        : 'none (nothing caught)';
      const spent = on.reduce((t, l) => t + l.spentSeconds, 0);
      const budget = on.reduce((t, l) => t + l.budgetSeconds, 0);
      console.log(
        `${layer}: ${seconds.length}/${on.length} caught, ${on.filter((l) => !l.caught && l.blindSpot).length} blind by design; median time to first failure ${median}; spent ${spent.toFixed(1)} s of ${budget.toFixed(0)} s budgeted`,
      );
    }
    console.log(`${caught.length}/${verdicts.length} caught on every layer expected to see them`);
    for (const v of verdicts) {
      for (const [layer, l] of Object.entries(v.layers)) {
        if (l.caught) {
          console.log(`  ${v.name} [${layer}, ${l.shrunkBy ?? l.by}]: ${(l.counterexample ?? []).join(' ; ')}`);
          if (l.error) console.log(`    ${l.by}: ${l.error}`);
        } else if (l.blindSpot) console.log(`  ${v.name} [${layer}]: blind: ${l.blindSpot}`);
      }
    }
    if (values.json) {
      const interrupted = stop.reason ?? null;
      await writeFileAtomic(values.json, `${JSON.stringify({ interrupted, grpcJs, variants: verdicts }, null, 2)}\n`);
    }
    if (values.markdown) await writeFileAtomic(values.markdown, `${catalogueTable(verdicts)}\n`);
    return caught.length === verdicts.length ? 0 : 1;
  },
  { stoppable: true },
);
