import path from 'node:path';
import { PROPERTIES } from '../../properties/catalog.js';
import type { Layer, PropertyResult } from '../../properties/check-runner.js';
import { regressionFiles, replayFile, toFailureFile } from '../../properties/replay.js';
import { TargetError } from '../../properties/target-backend.js';
import { findVariant, VARIANTS } from '../../properties/variants/index.js';
import { writeFailureFile } from '../harness/failure-file.js';
import { writeFileAtomic } from '../harness/reports.js';
import { parseDuration, parseInteger, parseOptions } from './parse-options.js';
import { failureDetails, resultLine } from './property-output.js';
import { runMain, UsageError } from './usage-error.js';

const DEFAULT_RUNS: Record<Layer, number> = { live: 200, simulated: 3_000 };

const HELP = `Usage: npm run properties -- [options]

Checks the connection pool with generated, scheduled interleavings: first the regression corpus
(properties/regressions/), then new random runs of each property on each layer:
${PROPERTIES.map((p) => `  ${p.name}: ${p.description}`).join('\n')}

  --layer live|simulated|all   which layer(s) to run (default all)
  --runs N                     runs per layer (default live ${DEFAULT_RUNS.live}, simulated ${DEFAULT_RUNS.simulated})
  --seed S                     seed (default: fresh, printed first)
  --path P                     fast-check replay path (needs --seed, one --layer, one --property)
  --property NAME              run only this property
  --time D                     time budget (30s, 10m, 1h), split over the layers
  --max-commands N             most commands per run (default 12)
  --against VARIANT            run against a known-broken pool (see --list-variants)
  --target H:P[,H:P...]        live layer against servers already running that implement
                               proto/loadtest.proto (commands that control servers are left out)
  --json FILE                  write the results as JSON
  --failures-dir DIR           where failure files go (default failures/)
  --no-regressions             skip the regression corpus
  --list-variants              print the known-broken variants, one a line
  --help                       this text

Exit: 0 all passed, 1 a property failed, 2 bad usage.`;

runMain(async () => {
  const { values } = parseOptions(process.argv.slice(2), {
    layer: { type: 'string', default: 'all' },
    property: { type: 'string' },
    runs: { type: 'string' },
    seed: { type: 'string' },
    path: { type: 'string' },
    time: { type: 'string' },
    'max-commands': { type: 'string', default: '12' },
    against: { type: 'string' },
    target: { type: 'string' },
    json: { type: 'string' },
    'failures-dir': { type: 'string', default: 'failures' },
    'no-regressions': { type: 'boolean', default: false },
    'list-variants': { type: 'boolean', default: false },
    help: { type: 'boolean', default: false },
  });
  if (values.help) {
    console.log(HELP);
    return 0;
  }
  if (values['list-variants']) {
    for (const v of VARIANTS) console.log(v.name);
    return 0;
  }
  if (!['live', 'simulated', 'all'].includes(values.layer)) {
    throw new UsageError(`--layer takes live, simulated or all; got "${values.layer}"`);
  }
  const targets = values.target?.split(',').map((t) => t.trim());
  if (targets && values.layer === 'simulated')
    throw new UsageError('--target runs the live layer; it cannot go with --layer simulated');
  const layers: Layer[] = targets ? ['live'] : values.layer === 'all' ? ['live', 'simulated'] : [values.layer as Layer];
  const seed = values.seed !== undefined ? parseInteger(values.seed, '--seed', -(2 ** 31), 2 ** 31 - 1) : freshSeed();
  if (values.property !== undefined && !PROPERTIES.some((p) => p.name === values.property)) {
    throw new UsageError(
      `--property: no property named "${values.property}" (known: ${PROPERTIES.map((p) => p.name).join(', ')})`,
    );
  }
  if (values.path !== undefined && (values.seed === undefined || layers.length !== 1 || values.property === undefined)) {
    throw new UsageError('--path replays one case: give it with --seed, a single --layer and --property');
  }
  const runs = values.runs !== undefined ? parseInteger(values.runs, '--runs', 1) : undefined;
  const timeMs = values.time !== undefined ? parseDuration(values.time, '--time') : undefined;
  const maxCommands = parseInteger(values['max-commands'], '--max-commands', 1, 200);
  const variant = values.against !== undefined ? findVariant(values.against) : undefined;
  if (values.against !== undefined && !variant) {
    throw new UsageError(`--against: no variant named "${values.against}" (known: ${VARIANTS.map((v) => v.name).join(', ')})`);
  }

  console.log(
    `seed ${seed}  layers ${layers.join(', ')}${variant ? `  against ${variant.name}` : ''}${targets ? `  target ${targets.join(', ')}` : ''}`,
  );
  let failed = false;
  const written: string[] = [];

  if (!values['no-regressions'] && !variant && !targets) {
    const files = await regressionFiles();
    for (const file of files) {
      const r = await replayFile(file);
      const expectFail = r.failure.variant !== null;
      const ok = expectFail ? r.reproduced : !r.reproduced;
      if (r.versionWarning) console.warn(`warning: ${r.versionWarning}`);
      console.log(
        `regression ${path.basename(file)}: ${ok ? 'ok' : 'FAILS AGAIN'}${expectFail ? ' (variant still caught)' : ''}`,
      );
      if (!ok) {
        failed = true;
        console.log(failureDetails(r.result));
      }
    }
  }

  const results: PropertyResult[] = [];
  const properties = PROPERTIES.filter((p) => (!targets || p.supportsTarget) && (!values.property || p.name === values.property));
  const shareMs = timeMs === undefined ? undefined : timeMs / (layers.length * properties.length);
  for (const layer of layers) {
    for (const property of properties) {
      const result = await property
        .check({
          layer,
          seed,
          path: values.path,
          runs: runs ?? DEFAULT_RUNS[layer],
          timeLimitMs: shareMs,
          maxCommands,
          variant,
          targets,
        })
        .catch((error: unknown) => {
          if (error instanceof TargetError) throw new UsageError(error.message);
          throw error;
        });
      results.push(result);
      console.log(resultLine(result));
      if (!result.passed) {
        failed = true;
        console.log(failureDetails(result));
        written.push(await writeFailureFile(values['failures-dir'], toFailureFile(result)));
      }
    }
  }
  if (values.json) await writeFileAtomic(values.json, `${JSON.stringify({ seed, results }, null, 2)}\n`);
  for (const file of written) console.log(`failure saved: ${file}\n  replay: npm run replay -- ${file}`);
  return failed ? 1 : 0;
});

function freshSeed(): number {
  return (Math.random() * 2 ** 32) | 0;
}
