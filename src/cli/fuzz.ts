import path from 'node:path';
import { findProperty, type PropertyDefinition } from '../../properties/catalog.js';
import type { Layer } from '../../properties/check-runner.js';
import { KEYS_PROPERTY } from '../../properties/keys-property.js';
import { PARALLEL_PROPERTY } from '../../properties/parallel/parallel-property.js';
import { POOL_PROPERTY } from '../../properties/pool-property.js';
import { saveFailure } from '../../properties/replay.js';
import { findVariant } from '../../properties/variants/index.js';
import { defaultWorkers, PropertyWorkers, WorkerCrashError } from '../../properties/workers/worker-pool.js';
import { checkOutputDir, checkOutputFile, junitXml, OutputPathError, writeFileAtomic } from '../harness/reports.js';
import { batchSeed, shardBatch } from '../harness/shard.js';
import { EnvironmentError, UsageError } from './cli-errors.js';
import { exitCodesHelp } from './exit-codes.js';
import { FuzzProgress } from './fuzz-progress.js';
import type { BatchReport, FuzzReport } from './fuzz-report.js';
import { GRPC_JS_HELP, releasesLine, selectGrpcJs } from './grpc-js-option.js';
import { parseDuration, parseInteger, parseOptions, parseSeed, parseShard } from './parse-options.js';
import { failureDetails, hadNoRuns, resultLine } from './property-output.js';
import { runMain } from './run-main.js';
import { STOPPED } from './stop-signal.js';

export type { BatchReport, FuzzReport } from './fuzz-report.js';

/** After a stop, how long to wait for the batches in progress to come back with what they found. */
const STOP_WAIT_MS = 2_000;

function delay(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms).unref());
}

/** Runs per batch: a batch is the unit of work shards split (and of progress reporting). */
const BATCH_RUNS: Record<Layer, number> = { live: 40, simulated: 1_000 };

/**
 * Which property each batch runs, in turn: the parallel property (overlapping clients, faults,
 * linearizability) half the time, the sequential model property and the keys property the rest.
 */
const FUZZ_MIX = [PARALLEL_PROPERTY, POOL_PROPERTY, PARALLEL_PROPERTY, KEYS_PROPERTY] as const;

const HELP = `Usage: npm run fuzz -- --time D [options]

Fuzzes for a fixed time: batches of property runs, each batch with its own seed derived from
the base seed, until the budget is spent (never past it by more than one run).

  --time D            time budget: 30s, 10m, 1h (default 60s)
  --seed S            base seed, a whole number in -2147483648..2147483647 (negative: --seed -5 or
                      --seed=-5; default: fresh, printed first); shards of one job share it
  --shard i/n         run the i-th of n disjoint shares of the batches (default 1/1)
  --layer L           live, simulated or all (default all: batches alternate)
  --max-commands N    most commands per run (default 20)
  --workers N         batches run side by side, each in its own worker process (default
                      ${defaultWorkers('live')} with the live layer, two per core: it mostly waits on
                      the network; ${defaultWorkers('simulated')} for simulated alone); 1 runs them in this process
  --against VARIANT   fuzz a known-broken pool (to see the fuzzer catch it)
  --out DIR           reports: fuzz-report.json and fuzz-junit.xml (default reports/fuzz;
                      with --shard i/n and n > 1: fuzz-report-shardIofN.json, fuzz-junit-shardIofN.xml)
  --failures-dir DIR  failure files (default failures/)
${GRPC_JS_HELP}
  -h, --help          this text

A batch whose time ran out before its first run is reported as "no runs", never as a failure.
On SIGINT/SIGTERM the run stops, writes both reports marked "interrupted" and exits 130/143.

${exitCodesHelp('a property failed (failure file written, replay command printed)')}`;

runMain(
  async (stop) => {
    const { values } = parseOptions(
      process.argv.slice(2),
      {
        time: { type: 'string', default: '60s' },
        seed: { type: 'string' },
        shard: { type: 'string', default: '1/1' },
        layer: { type: 'string', default: 'all' },
        'max-commands': { type: 'string', default: '20' },
        workers: { type: 'string' },
        against: { type: 'string' },
        out: { type: 'string', default: path.join('reports', 'fuzz') },
        'failures-dir': { type: 'string', default: 'failures' },
        'grpc-js': { type: 'string' },
        help: { type: 'boolean', default: false },
      },
      { help: HELP },
    );
    if (values.help) {
      console.log(HELP);
      return 0;
    }
    const budgetMs = parseDuration(values.time, '--time');
    const shard = parseShard(values.shard);
    const seed = values.seed !== undefined ? parseSeed(values.seed) : (Math.random() * 2 ** 32) | 0;
    if (!['live', 'simulated', 'all'].includes(values.layer))
      throw new UsageError(`--layer takes live, simulated or all; got "${values.layer}"`);
    const layers: Layer[] = values.layer === 'all' ? ['simulated', 'live'] : [values.layer as Layer];
    const maxCommands = parseInteger(values['max-commands'], '--max-commands', 1, 200);
    const workerCount =
      values.workers !== undefined
        ? parseInteger(values.workers, '--workers', 1, 64)
        : Math.max(...layers.map((l) => defaultWorkers(l)));
    const variant = values.against !== undefined ? findVariant(values.against) : undefined;
    if (values.against !== undefined && !variant) throw new UsageError(`--against: no variant named "${values.against}"`);
    const suffix = shard.count > 1 ? `-shard${shard.index}of${shard.count}` : '';
    const jsonFile = path.join(values.out, `fuzz-report${suffix}.json`);
    const junitFile = path.join(values.out, `fuzz-junit${suffix}.xml`);
    await checkOutputs([
      ['--out', () => checkOutputFile(jsonFile)],
      ['--out', () => checkOutputFile(junitFile)],
      ['--failures-dir', () => checkOutputDir(values['failures-dir'])],
    ]);
    // Before the workers start: they inherit the release through the environment.
    const grpcJs = await selectGrpcJs(values['grpc-js']);

    console.log(
      `fuzz seed ${seed}  shard ${shard.index}/${shard.count}  budget ${(budgetMs / 1000).toFixed(0)} s  layers ${layers.join(', ')}  max commands ${maxCommands}${values['grpc-js'] ? `  ${releasesLine(grpcJs)}` : ''}`,
    );
    const started = performance.now();
    const elapsed = () => performance.now() - started;
    const progress = new FuzzProgress(budgetMs);
    const forgetProgress = stop.onCleanup(() => progress.stop());
    const batches: BatchReport[] = [];
    let runs = 0;
    let failures = 0;
    let saveProblem = false;

    // Batches run side by side on worker processes (or here, with --workers 1); a batch is given
    // what is left of the budget when it starts, and none starts once it is spent.
    const workers = workerCount > 1 ? PropertyWorkers.start(workerCount) : undefined;
    const forgetWorkers = stop.onCleanup(() => workers?.close());
    // A stop interrupts every batch at its next run, in the workers as here (`interruptWhen`).
    void stop.promise.then(() => workers?.interruptAll());
    const runBatch = async (j: number): Promise<void> => {
      const batch = shardBatch(shard, j);
      // Batches cycle through the layers, and through FUZZ_MIX for the property.
      const layer = layers[j % layers.length] as Layer;
      const property = findProperty(FUZZ_MIX[Math.floor(j / layers.length) % FUZZ_MIX.length] as string) as PropertyDefinition;
      const constraints = {
        layer,
        seed: batchSeed(seed, batch),
        runs: BATCH_RUNS[layer],
        maxCommands,
        variant,
        timeLimitMs: Math.max(1, budgetMs - elapsed()),
        interruptWhen: () => stop.stopped,
      };
      const result = await (workers ? workers.run(property.name, constraints) : property.check(constraints));
      runs += result.runs;
      let failureFile: string | null = null;
      if (!result.passed) {
        failures += 1;
        try {
          failureFile = await saveFailure(values['failures-dir'], result);
        } catch (error) {
          // Seed and path are printed below, so the case is not lost with its file.
          saveProblem = true;
          progress.log(`error: could not save the failure file in ${values['failures-dir']}: ${(error as Error).message}`);
        }
        progress.log(`${resultLine(result)}\n${failureDetails(result)}\n  saved: ${failureFile ?? '(not saved)'}`);
      }
      batches.push({
        batch,
        property: result.property,
        seed: result.seed,
        layer,
        runs: result.runs,
        passed: result.passed,
        noRuns: hadNoRuns(result),
        wallMs: result.wallMs,
        counterexample: result.counterexample ?? null,
        error: result.error ?? null,
        failureFile,
      });
      progress.update(elapsed(), runs, failures, `batch ${batch} ${layer}`);
    };
    const inFlight = new Set<Promise<void>>();
    let crashed: unknown;
    for (let j = 0; elapsed() < budgetMs && crashed === undefined && !(await stop.checkpoint()); j++) {
      const running: Promise<void> = runBatch(j)
        .catch((error: unknown) => {
          // A batch cut off by the stop (its worker closed before it came back) is not a crash.
          if (stop.stopped && error instanceof WorkerCrashError) return;
          crashed ??= error;
          progress.log(`error: batch ${shardBatch(shard, j)} could not run: ${(error as Error)?.message ?? String(error)}`);
        })
        .finally(() => inFlight.delete(running));
      inFlight.add(running);
      if (inFlight.size >= workerCount && (await stop.race(Promise.race(inFlight))) === STOPPED) break;
    }
    // Stopped (now or while the last batches finish): those in progress end at their next run with
    // what they found; wait a little for them.
    await Promise.race([Promise.all(inFlight), stop.promise.then(() => delay(STOP_WAIT_MS))]);
    forgetWorkers();
    await workers?.close();
    batches.sort((a, b) => a.batch - b.batch);
    progress.stop();
    forgetProgress();

    const interrupted = stop.reason ?? null;
    const report: FuzzReport = {
      version: 1,
      seed,
      shard,
      budgetMs,
      elapsedMs: elapsed(),
      layers,
      grpcJs,
      interrupted,
      totals: { batches: batches.length, runs, failures },
      batches,
    };
    await writeFileAtomic(jsonFile, `${JSON.stringify(report, null, 2)}\n`);
    await writeFileAtomic(
      junitFile,
      junitXml(
        `fuzz shard ${shard.index}/${shard.count}`,
        batches.map((b) => ({
          name: `batch ${b.batch} [${b.layer}] seed ${b.seed}`,
          classname: b.property,
          timeSeconds: b.wallMs / 1000,
          skipped: b.noRuns ? 'no runs: the time budget ran out before the first run' : undefined,
          failure: b.passed
            ? undefined
            : {
                message: b.error ?? 'failed',
                body: `${(b.counterexample ?? []).join('\n')}\nreplay: ${b.failureFile ? `npm run replay -- ${b.failureFile}` : `(failure file not saved) npm run properties -- --seed ${b.seed} --layer ${b.layer} --property ${b.property}`}`,
              },
        })),
        { interrupted: interrupted ?? undefined },
      ),
    );
    console.log(
      `fuzz ${interrupted ? `interrupted by ${interrupted}` : 'done'}: ${runs} runs in ${batches.length} batches, ${(elapsed() / 1000).toFixed(1)} s of ${(budgetMs / 1000).toFixed(0)} s, ` +
        `${elapsed() > 0 ? ((runs / elapsed()) * 1000).toFixed(1) : '0.0'} runs/s, ${failures} failure(s)\nreports: ${jsonFile}, ${junitFile}`,
    );
    for (const b of batches) if (b.failureFile) console.log(`replay: npm run replay -- ${b.failureFile}`);
    // The reports of the batches that ran are written; then the error that stopped the rest.
    if (crashed !== undefined) throw crashed;
    if (failures > 0) return 1;
    return saveProblem ? 3 : 0;
  },
  { stoppable: true },
);

/** Refuses output paths that cannot be written before the run starts (exit 3), not after it. */
async function checkOutputs(checks: Array<[flag: string, check: () => Promise<void>]>): Promise<void> {
  for (const [flag, check] of checks) {
    try {
      await check();
    } catch (error) {
      if (error instanceof OutputPathError) throw new EnvironmentError(`${flag} ${error.message}`);
      throw error;
    }
  }
}
