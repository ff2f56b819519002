import path from 'node:path';
import { AdapterError } from '../../properties/adapter/adapter.js';
import { DEFAULT_POOL, loadAdapter, resolvePoolSpec } from '../../properties/adapter/registry.js';
import { PROPERTIES, type PropertyDefinition } from '../../properties/catalog.js';
import type { Layer, PropertyConstraints, PropertyResult } from '../../properties/check-runner.js';
import { regressionFiles, replayFile, saveFailure } from '../../properties/replay.js';
import { regressionVerdict, runPropertyCheck } from '../../properties/suite.js';
import { TargetError } from '../../properties/target-backend.js';
import { findVariant, VARIANTS } from '../../properties/variants/index.js';
import { defaultWorkers, PropertyWorkers } from '../../properties/workers/worker-pool.js';
import { checkOutputDir, checkOutputFile, OutputPathError, writeFileAtomic } from '../harness/reports.js';
import { EnvironmentError, UsageError } from './cli-errors.js';
import { exitCodesHelp } from './exit-codes.js';
import { GRPC_JS_HELP, releasesLine, selectGrpcJs } from './grpc-js-option.js';
import { parseDuration, parseInteger, parseOptions, parseSeed } from './parse-options.js';
import { failureDetails, rates, resultLine } from './property-output.js';
import { runMain } from './run-main.js';
import { STOPPED } from './stop-signal.js';

const DEFAULT_RUNS: Record<Layer, number> = { live: 200, simulated: 3_000 };
/** The properties that set their own default runs (a run takes seconds), as the help says them. */
const FEWER_RUNS = PROPERTIES.filter((p) => p.defaultRuns)
  .map((p) => `${p.name} ${Object.entries(p.defaultRuns ?? {}).map(([layer, n]) => `${layer} ${n}`)}`)
  .join(', ');

/** After a stop, how long to wait for the check in progress to come back with what it found. */
const STOP_WAIT_MS = 2_000;

function delay(ms: number): Promise<undefined> {
  return new Promise((resolve) => setTimeout(() => resolve(undefined), ms).unref());
}

/** fast-check's errors when a case's commands ran otherwise than its commands replay path records. */
const COMMANDS_PATH_DIVERGED = /Mismatch between replayPath and real execution|Too short replayPath/;

const HELP = `Usage: npm run properties -- [options]

Checks the connection pool with generated, scheduled interleavings: first the regression corpus
(properties/regressions/), then new random runs of each property on each layer:
${PROPERTIES.map((p) => `  ${p.name}: ${p.description}`).join('\n')}

  --layer live|simulated|all   which layer(s) to run (default all)
  --runs N                     runs per layer (default live ${DEFAULT_RUNS.live}, simulated ${DEFAULT_RUNS.simulated};
                               whose runs take seconds, fewer: ${FEWER_RUNS})
  --seed S                     seed, a whole number in -2147483648..2147483647 (negative: --seed -5
                               or --seed=-5; default: fresh, printed first)
  --path P                     fast-check replay path (needs --seed, one --layer, one --property)
  --commands-path C            the commands' own replay path (pool-matches-model), printed with
                               a failure beside seed and path
  --property NAME              run only this property
  --time D                     time budget (30s, 10m, 1h), split over the properties (and over the
                               layers when they run one after the other)
  --max-commands N             most commands per run (default 12)
  --scheduler random|pct       how pool-linearizable orders ready tasks: fast-check's random
                               scheduler (default) or PCT with depth 3
  --workers N                  worker processes each property's runs are spread over, in streams
                               with a seed each (default: ${defaultWorkers('simulated')} simulated, one per core;
                               ${defaultWorkers('live')} live, two per core: it mostly waits on the network);
                               1 runs in this process. A failure prints its own stream's seed.
                               With --path, --commands-path or --target: always 1
  --pool NAME|FILE             the pool under test, through its adapter: own (default: this
                               project's pool), channel-map (one connection per address in a
                               Map), firestore-client-pool (@google-cloud/firestore's ClientPool),
                               or your adapter file (./my-adapter.ts; docs/writing-an-adapter.md).
                               Properties the pool's declared contract or features cannot
                               express are SKIPPED, and say why
  --against VARIANT            run against a known-broken pool (see --list-variants)
${GRPC_JS_HELP}
  --target H:P[,H:P...]        live layer against servers already running that implement
                               proto/loadtest.proto (commands that control servers are left out;
                               keys-isolate needs servers it starts itself, so it is skipped, and
                               asking for it with --property is refused)
  --json FILE                  write the results as JSON
  --failures-dir DIR           where failure files go (default failures/)
  --no-regressions             skip the regression corpus
  --list-variants              print the known-broken variants, one a line
  -h, --help                   this text

A time budget that runs out before a property's first run reports it as NO RUNS (not a failure).
On SIGINT/SIGTERM the run stops, writes --json with "interrupted" set, and exits 130/143.

${exitCodesHelp('a property failed (a regression failed again, or a new failure: saved and printed)')}`;

runMain(
  async (stop) => {
    const { values } = parseOptions(
      process.argv.slice(2),
      {
        layer: { type: 'string', default: 'all' },
        property: { type: 'string' },
        runs: { type: 'string' },
        seed: { type: 'string' },
        path: { type: 'string' },
        'commands-path': { type: 'string' },
        time: { type: 'string' },
        'max-commands': { type: 'string', default: '12' },
        scheduler: { type: 'string', default: 'random' },
        workers: { type: 'string' },
        against: { type: 'string' },
        pool: { type: 'string' },
        target: { type: 'string' },
        'grpc-js': { type: 'string' },
        json: { type: 'string' },
        'failures-dir': { type: 'string', default: 'failures' },
        'no-regressions': { type: 'boolean', default: false },
        'list-variants': { type: 'boolean', default: false },
        help: { type: 'boolean', default: false },
      },
      { help: HELP },
    );
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
    const seed = values.seed !== undefined ? parseSeed(values.seed) : freshSeed();
    if (values.property !== undefined && !PROPERTIES.some((p) => p.name === values.property)) {
      throw new UsageError(
        `--property: no property named "${values.property}" (known: ${PROPERTIES.map((p) => p.name).join(', ')})`,
      );
    }
    const named = values.property === undefined ? undefined : PROPERTIES.find((p) => p.name === values.property);
    if (targets && named && !named.supportsTarget) {
      throw new UsageError(
        `--property ${named.name} cannot run against --target: it counts connections on servers it starts itself (run it without --target)`,
      );
    }
    if (values.path !== undefined && (values.seed === undefined || layers.length !== 1 || values.property === undefined)) {
      throw new UsageError('--path replays one case: give it with --seed, a single --layer and --property');
    }
    const runs = values.runs !== undefined ? parseInteger(values.runs, '--runs', 1) : undefined;
    const timeMs = values.time !== undefined ? parseDuration(values.time, '--time') : undefined;
    const maxCommands = parseInteger(values['max-commands'], '--max-commands', 1, 200);
    if (values.scheduler !== 'random' && values.scheduler !== 'pct') {
      throw new UsageError(`--scheduler must be random or pct; got "${values.scheduler}"`);
    }
    const scheduler = values.scheduler;
    const workersAsked = values.workers !== undefined ? parseInteger(values.workers, '--workers', 1, 64) : undefined;
    // One case replayed, or servers shared with other streams (their counts would mix): one stream.
    const oneStream = values.path !== undefined || values['commands-path'] !== undefined || targets !== undefined;
    const streamsFor = (layer: Layer) => (oneStream ? 1 : (workersAsked ?? defaultWorkers(layer)));
    const variant = values.against !== undefined ? findVariant(values.against) : undefined;
    if (values.against !== undefined && !variant) {
      throw new UsageError(`--against: no variant named "${values.against}" (known: ${VARIANTS.map((v) => v.name).join(', ')})`);
    }
    const pool = values.pool === undefined ? undefined : await choosePool(values.pool);
    if (pool !== undefined && pool !== DEFAULT_POOL && variant) {
      throw new UsageError(`--against ${variant.name} patches this project's pool: it cannot go with --pool ${values.pool}`);
    }

    await checkOutputs(values.json, values['failures-dir']);
    // Before the workers start: they inherit the release through the environment.
    const grpcJs = await selectGrpcJs(values['grpc-js']);
    // The layers run side by side on workers of their own when both have several streams: the
    // live layer waits on the network most of the time, the simulated one needs the CPU, so the
    // whole run takes about as long as the live layer alone (results print as each check ends).
    const sideBySide = layers.length > 1 && layers.every((l) => streamsFor(l) > 1);
    // Started now, so that they are up (about a second) by the time the regression corpus is replayed.
    const workerCount = sideBySide ? layers.reduce((n, l) => n + streamsFor(l), 0) : Math.max(...layers.map(streamsFor));
    const workers = workerCount > 1 ? PropertyWorkers.start(workerCount) : undefined;
    if (workers) stop.onCleanup(() => workers.close());

    console.log(
      `seed ${seed}  layers ${layers.join(', ')}${pool !== undefined ? `  pool ${values.pool}` : ''}${variant ? `  against ${variant.name}` : ''}${targets ? `  target ${targets.join(', ')}` : ''}${values['grpc-js'] ? `  ${releasesLine(grpcJs)}` : ''}`,
    );
    if (targets) {
      // What a target run does differently from the default one, said rather than left for a user to find.
      const skipped =
        values['no-regressions'] || variant
          ? ''
          : "; the regression corpus is not replayed (its cases ran on the suite's own servers: npm run replay runs one anywhere with --target)";
      console.log(`against --target: one stream in this process (the servers are shared: per-stream counts would mix)${skipped}`);
    }
    let failed = false;
    const written: string[] = [];

    const ownPool = pool === undefined || pool === DEFAULT_POOL;
    if (!ownPool && !values['no-regressions']) {
      console.log(`pool ${values.pool}: the regression corpus is this project's pool's cases, so it is not replayed`);
    }
    if (!values['no-regressions'] && !variant && !targets && ownPool) {
      const files = await regressionFiles();
      for (const file of files) {
        if (await stop.checkpoint()) break;
        const r = await stop.race(replayFile(file));
        if (r === STOPPED) break;
        const { ok, verdict } = regressionVerdict(r);
        if (r.versionWarning) console.warn(`warning: ${r.versionWarning}`);
        console.log(`regression ${path.basename(file)}: ${verdict}`);
        if (!ok) {
          failed = true;
          console.log(failureDetails(r.result, `npm run replay -- ${file}`));
        }
      }
    }

    const chosen = PROPERTIES.filter((p) => !values.property || p.name === values.property);
    const properties = chosen.filter((p) => !targets || p.supportsTarget);
    for (const p of chosen.filter((p) => !properties.includes(p))) {
      console.log(`${`${p.name} [live]`.padEnd(46)} SKIPPED: it needs servers it starts itself; not run against --target`);
    }
    const shareMs = timeMs === undefined ? undefined : timeMs / ((sideBySide ? 1 : layers.length) * properties.length);
    let saveProblem = false;
    const found = new Map<string, PropertyResult>();
    /** One property on one layer; true when a stop ended it (or came before it). */
    const checkOne = async (layer: Layer, property: PropertyDefinition): Promise<boolean> => {
      if (stop.stopped || (await stop.checkpoint())) return true;
      const constraints: PropertyConstraints & { runs: number } = {
        layer,
        seed,
        path: values.path,
        commandsReplayPath: values['commands-path'],
        runs: runs ?? property.defaultRuns?.[layer] ?? DEFAULT_RUNS[layer],
        timeLimitMs: shareMs,
        maxCommands,
        variant,
        pool,
        targets,
        scheduler,
        interruptWhen: () => stop.stopped,
      };
      const streams = streamsFor(layer);
      const startedAt = performance.now();
      const checking = runPropertyCheck(property, constraints, workers, streams)
        .catch((error: unknown) => {
          // fast-check refuses to go on when the case ran other commands than its recorded commands
          // path says (on the live layer timing can decide which command fails first): the case is
          // still the same generated one, so that one case is run again, once, and shrunk afresh.
          // Not after a stop (its run would end at once and say nothing).
          const diverged = error instanceof Error && COMMANDS_PATH_DIVERGED.test(error.message);
          if (!diverged || !constraints.commandsReplayPath || stop.stopped) throw error;
          const run = constraints.path?.split(':')[0];
          console.log(
            `${property.name} [${layer}]: this run of the case ran other commands than --commands-path ${constraints.commandsReplayPath} records ` +
              `(fast-check: ${error.message}; ${layer === 'live' ? 'on the live layer, timing can decide which command fails first' : 'the commands or the pool changed since'}); ` +
              `running ${run === undefined ? 'the check' : `its generated case (path ${run}) once`} again without it, shrunk afresh`,
          );
          const again: typeof constraints = {
            ...constraints,
            path: run,
            commandsReplayPath: undefined,
            // Only that case (a path without shrink steps would go on to the cases after it)...
            ...(run === undefined ? {} : { runs: 1 }),
            // ...and within what is left of the time it was given.
            ...(shareMs === undefined ? {} : { timeLimitMs: Math.max(1, shareMs - (performance.now() - startedAt)) }),
          };
          return runPropertyCheck(property, again, workers, streams);
        })
        .catch((error: unknown) => {
          if (error instanceof TargetError) throw new UsageError(error.message);
          if (error instanceof Error && /Unable to replay/.test(error.message)) {
            throw new UsageError(
              `--seed ${seed} --path ${values.path} name no case of ${property.name} as generated now (${error.message}); ` +
                'give --commands-path as printed with the failure, use the same --max-commands, or replay its failure file with npm run replay',
            );
          }
          throw error;
        });
      const raced = await stop.race(checking);
      // Stopped: every run in progress ends at its next run with what it found (the checks watch
      // `stop`); a failure found before the stop is worth the short wait.
      const result = raced === STOPPED ? await Promise.race([checking.catch(() => undefined), delay(STOP_WAIT_MS)]) : raced;
      if (result === undefined) return true;
      found.set(`${layer} ${property.name}`, result);
      console.log(resultLine(result));
      if (!result.passed) {
        failed = true;
        console.log(failureDetails(result));
        try {
          written.push(await saveFailure(values['failures-dir'], result));
        } catch (error) {
          // The failure is printed above in full (seed and path replay it); losing the file must not lose it.
          saveProblem = true;
          console.error(`error: could not save the failure file in ${values['failures-dir']}: ${(error as Error).message}`);
        }
      }
      return stop.stopped;
    };
    /** A layer's checks one after the other; true when a stop ended them. */
    const checkLayer = async (layer: Layer): Promise<boolean> => {
      for (const property of properties) if (await checkOne(layer, property)) return true;
      return false;
    };
    if (sideBySide) await Promise.all(layers.map(checkLayer));
    else for (const layer of layers) if (await checkLayer(layer)) break;
    // In layer and property order, whichever finished first.
    const results = layers.flatMap((layer) => properties.flatMap((p) => found.get(`${layer} ${p.name}`) ?? []));
    const interrupted = stop.reason ?? null;
    if (interrupted) console.log(`interrupted by ${interrupted}: ${results.length} check(s) done; partial results`);
    if (values.json) {
      // The rates the result lines print, as numbers: runs/s, commands/s and mean commands per run.
      const withRates = results.map((r) => ({ ...r, rates: rates(r) }));
      await writeFileAtomic(values.json, `${JSON.stringify({ seed, interrupted, results: withRates }, null, 2)}\n`);
    }
    for (const file of written) console.log(`failure saved: ${file}\n  replay: npm run replay -- ${file}`);
    if (failed) return 1;
    return saveProblem ? 3 : 0;
  },
  { stoppable: true },
);

/** `--pool`'s adapter, resolved and loaded before anything starts: a bad name or file is a usage error (exit 2). */
async function choosePool(spec: string): Promise<string> {
  try {
    const resolved = resolvePoolSpec(spec);
    const adapter = await loadAdapter(resolved);
    console.log(`pool ${adapter.name}: ${adapter.description}`);
    return resolved;
  } catch (error) {
    if (error instanceof AdapterError) throw new UsageError(error.message);
    throw error;
  }
}

/** Refuses output paths that cannot be written before the run starts (exit 3), not after it. */
async function checkOutputs(json: string | undefined, failuresDir: string): Promise<void> {
  try {
    if (json !== undefined) await checkOutputFile(json);
  } catch (error) {
    if (error instanceof OutputPathError) throw new EnvironmentError(`--json ${error.message}`);
    throw error;
  }
  try {
    await checkOutputDir(failuresDir);
  } catch (error) {
    if (error instanceof OutputPathError) throw new EnvironmentError(`--failures-dir ${error.message}`);
    throw error;
  }
}

function freshSeed(): number {
  return (Math.random() * 2 ** 32) | 0;
}
