import type { PoolAdapter } from '../../properties/adapter/adapter.js';
import { ownAdapter } from '../../properties/adapter/adapters/own-pool.js';
import { type ModelCheckReport, modelCheck, replayTrail, type SizeReport } from '../../properties/explore/model-check.js';
import { readTrailFile, TrailFileError, writeTrailFile } from '../../properties/explore/trail-file.js';
import { describeProgram, programSize } from '../../properties/parallel/program.js';
import { findVariant, VARIANTS, variantAdapter } from '../../properties/variants/index.js';
import { modelCheckOnWorkers } from '../../properties/workers/model-check-workers.js';
import { defaultWorkers, PropertyWorkers } from '../../properties/workers/worker-pool.js';
import { writeFileAtomic } from '../harness/reports.js';
import { UsageError } from './cli-errors.js';
import { EXIT, exitCodesHelp } from './exit-codes.js';
import { parseDuration, parseInteger, parseOptions } from './parse-options.js';
import { runMain } from './run-main.js';

const HELP = `Usage: npm run model-check -- [--max-commands N] [--clients C] [--against VARIANT] [--json FILE] [--time D]
       npm run model-check -- --replay FILE

Bounded model checking of the pool on the simulated layer: every program of 1 operation per
client up to N operations (clients' alphabet per address: add, remove, call, failing call, health;
then stats and close; nemesis: stop, kill, restart, serving; each also with a held address), one
per symmetry class, and for each every order in which the scheduler can release the pending
operations and results, depth-first, with sleep sets and state hashing. Each run is checked as
pool-linearizable checks it (linearizability against models/pool-spec.ts, closes, latency,
requests on the servers, metrics, leaks). A violation prints the shortest program, the schedule,
and writes a trail file that --replay runs again.

  --max-commands N   largest program, in operations (1..8, default 3)
  --min-commands N   smallest program (default: one operation per client)
  --clients C        logical clients, each with at least one operation (2..4, default 2)
  --addresses A      servers (1..3, default 2)
  --against VARIANT  a known-broken variant instead of the real pool (${VARIANTS.map((v) => v.name).join(', ')})
  --waves            add wave(i, x2) to the clients' alphabet
  --no-hold          leave out the programs with a held address
  --no-faults        leave out the nemesis
  --no-sleep-sets    no partial-order reduction (to check a result that relies on it)
  --no-state-hash    no state hashing (likewise)
  --max-programs K   above K programs of one size, explore a seeded sample of K (default 5000)
  --seed S           seed of that sample (default 1)
  --time D           stop after D (like 30s, 10m) with a partial report
  --workers N        worker processes each size's programs are split over (default ${defaultWorkers('simulated')}, one per
                     core); sizes still go in order, so a violation is in a shortest program.
                     1 searches in this process (with a progress line every 5 s)
  --json FILE        write the report as JSON
  --failures-dir DIR where trail files go (default failures)
  --replay FILE      run the program and trail of a trail file again; exit 1 if it still fails
  -h, --help         this text

${exitCodesHelp('a violation was found (or, with --replay, the case still fails)')}`;

runMain(
  async (stop) => {
    const { values } = parseOptions(
      process.argv.slice(2),
      {
        'max-commands': { type: 'string', default: '3' },
        'min-commands': { type: 'string' },
        clients: { type: 'string', default: '2' },
        addresses: { type: 'string', default: '2' },
        against: { type: 'string' },
        waves: { type: 'boolean', default: false },
        'no-hold': { type: 'boolean', default: false },
        'no-faults': { type: 'boolean', default: false },
        'no-sleep-sets': { type: 'boolean', default: false },
        'no-state-hash': { type: 'boolean', default: false },
        'max-programs': { type: 'string', default: '5000' },
        seed: { type: 'string', default: '1' },
        workers: { type: 'string' },
        time: { type: 'string' },
        json: { type: 'string' },
        'failures-dir': { type: 'string', default: 'failures' },
        replay: { type: 'string' },
        help: { type: 'boolean', default: false },
      },
      { help: HELP },
    );
    if (values.help) {
      console.log(HELP);
      return EXIT.passed;
    }
    if (values.replay !== undefined) return replay(values.replay);
    const maxCommands = parseInteger(values['max-commands'], '--max-commands', 1, 8);
    const clients = parseInteger(values.clients, '--clients', 2, 4);
    const minCommands =
      values['min-commands'] === undefined ? clients : parseInteger(values['min-commands'], '--min-commands', 1, 8);
    const addresses = parseInteger(values.addresses, '--addresses', 1, 3);
    const maxPrograms = parseInteger(values['max-programs'], '--max-programs', 1, 10_000_000);
    const seed = parseInteger(values.seed, '--seed', 0, 2 ** 31 - 1);
    const timeMs = values.time === undefined ? undefined : parseDuration(values.time, '--time');
    const workerCount =
      values.workers === undefined ? defaultWorkers('simulated') : parseInteger(values.workers, '--workers', 1, 64);
    const variant = values.against === undefined ? undefined : findVariant(values.against);
    if (values.against !== undefined && !variant) {
      throw new UsageError(`--against: no variant "${values.against}" (known: ${VARIANTS.map((v) => v.name).join(', ')})`);
    }
    if (maxCommands < minCommands)
      throw new UsageError(`--max-commands ${maxCommands} is below the smallest program (${minCommands})`);
    const adapter: PoolAdapter = variant ? await variantAdapter(variant) : ownAdapter;
    const against = variant ? `variant ${variant.name}` : 'the real pool';
    console.log(
      `model-check: simulated layer, ${against}; programs of ${minCommands}..${maxCommands} operations, ${clients} clients, ${addresses} addresses` +
        `${values['no-faults'] ? ', no faults' : ''}${values['no-hold'] ? ', no held address' : ''}${values.waves ? ', waves' : ''}; ` +
        `reductions: ${values['no-sleep-sets'] ? 'no sleep sets' : 'sleep sets'}, ${values['no-state-hash'] ? 'no state hash' : 'state hash'}`,
    );
    let lastLine = performance.now();
    const constraints = {
      maxCommands,
      minCommands,
      clients,
      addresses,
      waves: values.waves,
      hold: !values['no-hold'],
      faults: !values['no-faults'],
      sleepSets: !values['no-sleep-sets'],
      stateHash: !values['no-state-hash'],
      maxPrograms,
      seed,
      timeMs,
      shouldStop: () => stop.stopped,
    };
    const perSize = (size: SizeReport) =>
      console.log(
        `  size ${size.size}: ${size.explored}/${size.sampled ? `${maxPrograms} sampled of ${size.total}` : size.total} programs`,
      );
    const workers = workerCount > 1 ? PropertyWorkers.start(workerCount) : undefined;
    if (workers) stop.onCleanup(() => workers.close());
    const report = workers
      ? await modelCheckOnWorkers(workers, variant?.name, constraints, workerCount, perSize)
      : await modelCheck(adapter, {
          ...constraints,
          onProgram: (size, _program, index) => {
            const now = performance.now();
            const last = index + 1 === (size.sampled ? maxPrograms : size.total);
            if (now - lastLine > 5_000 || last) {
              lastLine = now;
              perSize(size);
            }
          },
        });
    await workers?.close();
    printReport(report, maxCommands, stop.reason);
    if (values.json) {
      // "interrupted" names what stopped the run (SIGINT, SIGTERM, EPIPE), as the other CLIs' reports do.
      const interrupted = stop.reason ?? null;
      await writeFileAtomic(
        values.json,
        `${JSON.stringify({ against: variant?.name ?? null, maxCommands, clients, addresses, ...report, interrupted }, null, 2)}\n`,
      );
    }
    if (!report.failure) return EXIT.passed;
    const f = report.failure;
    const file = await writeTrailFile(values['failures-dir'], {
      kind: 'model-check',
      version: 1,
      program: f.program,
      trail: f.trail,
      variant: variant?.name ?? null,
      addresses,
      steps: describeProgram(f.program),
      schedule: f.schedule,
      error: f.error,
      createdAt: new Date().toISOString(),
    });
    console.log(`trail file: ${file}\nreplay: npm run model-check -- --replay ${file}`);
    return EXIT.failed;
  },
  { stoppable: true },
);

function printReport(r: ModelCheckReport, maxCommands: number, stopped: string | undefined): void {
  const s = r.elapsedMs / 1000;
  for (const z of r.sizes) {
    console.log(`size ${z.size}: ${z.explored} of ${z.total} programs explored${z.sampled ? ' (a seeded sample)' : ''}`);
  }
  console.log(
    `programs ${r.programs}, runs ${r.runs} (complete schedules ${r.schedules}, cut at a seen state ${r.prunedByHash}, cut by sleep sets ${r.prunedBySleep}), ` +
      `distinct states ${r.states}, ${(r.states / Math.max(s, 1e-9)).toFixed(0)} states/s, ${s.toFixed(1)} s`,
  );
  if (r.flakes.length) {
    console.log(
      `${r.flakes.length} failure(s) did not reproduce on their trail (a wall-clock check on a stalled machine?), not counted: ${r.flakes.slice(0, 3).join(' | ')}`,
    );
  }
  if (r.failure) {
    const f = r.failure;
    console.log(`VIOLATION in a program of ${programSize(f.program)} operations:`);
    for (const line of describeProgram(f.program)) console.log(`  ${line}`);
    console.log(`schedule (trail [${f.trail.join(',')}], then the oldest ready task each step):`);
    for (const [k, t] of f.schedule.entries()) console.log(`  ${String(k + 1).padStart(3)}. ${t}`);
    console.log(`error: ${f.error}`);
    return;
  }
  if (stopped) console.log(`interrupted by ${stopped}: partial report, not exhausted`);
  else if (r.exhausted) console.log(`exhausted: every schedule of every program up to ${maxCommands} operations, 0 violations`);
  else
    console.log(
      `not exhausted within the bound (${r.interrupted ? 'stopped' : 'time budget, a sample or the per-program cap'}); 0 violations found`,
    );
}

async function replay(file: string): Promise<number> {
  const t = await readTrailFile(file).catch((error: unknown) => {
    if (error instanceof TrailFileError) throw new UsageError(error.message);
    throw error;
  });
  const variant = t.variant === null ? undefined : findVariant(t.variant);
  if (t.variant !== null && !variant) throw new UsageError(`${file}: variant "${t.variant}" no longer exists`);
  const adapter: PoolAdapter = variant ? await variantAdapter(variant) : ownAdapter;
  console.log(`replaying ${file}${variant ? ` against ${variant.name}` : ''}: trail [${t.trail.join(',')}]`);
  for (const line of describeProgram(t.program)) console.log(`  ${line}`);
  let r: Awaited<ReturnType<typeof replayTrail>>;
  try {
    r = await replayTrail(t.program, adapter, t.addresses, t.trail);
  } catch (error) {
    throw new UsageError(`${file}: the trail does not name a run of this program any more (${(error as Error).message})`);
  }
  if (r.kind === 'failed') {
    console.log(`still fails: ${r.error}`);
    return EXIT.failed;
  }
  console.log('passes now: the saved schedule no longer fails.');
  return EXIT.passed;
}
