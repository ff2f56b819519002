import { AdapterError } from '../../properties/adapter/adapter.js';
import { replayFile } from '../../properties/replay.js';
import { TargetError } from '../../properties/target-backend.js';
import { FailureFileError, readFailureFile } from '../harness/failure-file.js';
import { EnvironmentError, UsageError } from './cli-errors.js';
import { exitCodesHelp } from './exit-codes.js';
import { GRPC_JS_HELP, selectGrpcJs } from './grpc-js-option.js';
import { parseInteger, parseOptions } from './parse-options.js';
import { failureDetails } from './property-output.js';
import { runMain } from './run-main.js';
import { STOPPED } from './stop-signal.js';

const HELP = `Usage: npm run replay -- FILE [--repeat K] [--target H:P[,H:P...]] [--grpc-js VERSION]

Runs the case saved in a failure file again, where it was found: its recorded steps (commands, or
the parallel program) with the same property, layer and variant, against the same servers (the
suite's own, or the --target servers the file names), first on the recorded schedule (the failing
run's scheduler: same seed, same run), then on a few fresh schedules if that one passes. Prints
"reproduced k/n": 0/n means the case no longer fails (a fixed bug), exit 0.

The file is checked first: every field present, with its type and range (seed a whole number in
-2147483648..2147483647, options.maxCommands in 1..200, options.addresses in 1..16, path like
"3:1:0"), and not edited since it was written (its "digest"); a bad file exits 2 naming the field
and the allowed range. A file is stale (exit 2) only when its recorded steps can no longer be
expressed by the commands of today.

  --repeat K       replay it K times (1..10000, default 1) and print how often it reproduced
  --target H:P...  run it against these servers instead of where it was found (live cases only);
                   a case found against a target that is unreachable now is refused (exit 3)
${GRPC_JS_HELP}
                               Default: the release the file records (grpcJsVersion), else
                               the one package.json pins
  -h, --help       this text

${exitCodesHelp('the case still fails (reproduced at least once)')}`;

runMain(
  async (stop) => {
    const { values, positionals } = parseOptions(
      process.argv.slice(2),
      {
        repeat: { type: 'string', default: '1' },
        target: { type: 'string' },
        'grpc-js': { type: 'string' },
        help: { type: 'boolean', default: false },
      },
      { positionals: true, help: HELP },
    );
    if (values.help) {
      console.log(HELP);
      return 0;
    }
    if (positionals.length !== 1) throw new UsageError('replay takes exactly one failure file');
    const file = positionals[0] as string;
    const repeat = parseInteger(values.repeat, '--repeat', 1, 10_000);
    const target = values.target?.split(',').map((t) => t.trim());
    if (target?.some((t) => t === '')) throw new UsageError('--target takes host:port[,host:port...]');
    // Where it was found includes the client's release: the file's, unless --grpc-js says otherwise.
    const recorded = (await readFailureFile(file).catch(asCliError)).grpcJsVersion ?? undefined;
    const grpcJs = await selectGrpcJs(values['grpc-js'] ?? recorded);
    let reproduced = 0;
    let same = 0;
    let done = 0;
    for (let k = 0; k < repeat && !(await stop.checkpoint()); k++) {
      const r = await stop.race(replayFile(file, target ? { target } : {}).catch(asCliError));
      if (r === STOPPED) break;
      done++;
      if (k === 0) {
        if (r.versionWarning) console.warn(`warning: ${r.versionWarning}`);
        const where = r.target
          ? `target ${r.target.join(',')}`
          : r.failure.layer === 'live'
            ? "the suite's own servers"
            : 'the simulated network';
        console.log(
          `replaying ${r.failure.property} [${r.failure.layer}${r.failure.variant ? ` vs ${r.failure.variant}` : ''}]${r.failure.pool ? ` on pool ${r.failure.pool}` : ''} seed ${r.failure.seed} path "${r.failure.path}" on ${where}, client grpc-js ${grpcJs}`,
        );
        console.log(`  steps: ${r.failure.counterexample.join(' ; ')}`);
      }
      if (r.reproduced) reproduced++;
      if (r.sameCounterexample) same++;
      if (repeat === 1) {
        if (r.reproduced) {
          const how = r.onRecordedSchedule ? 'on the recorded schedule' : 'on a fresh schedule (not on the recorded one)';
          console.log(`still fails ${how}:`);
          console.log(failureDetails(r.result, `npm run replay -- ${file}${target ? ` --target ${target.join(',')}` : ''}`));
        } else {
          console.log('passes now: the recorded steps no longer fail, on the recorded schedule or on fresh ones (a fixed bug).');
        }
      }
    }
    if (stop.reason) console.log(`interrupted by ${stop.reason} after ${done} of ${repeat} replay(s)`);
    if (done > 0) {
      console.log(
        `reproduced ${reproduced}/${done} (${((100 * reproduced) / done).toFixed(0)}%), same counterexample ${same}/${done}`,
      );
    }
    return reproduced > 0 ? 1 : 0;
  },
  { stoppable: true },
);

/** A file that cannot be used is bad input (exit 2); a target that cannot be reached is the environment (exit 3). */
function asCliError(error: unknown): never {
  if (error instanceof FailureFileError) throw new UsageError(error.message);
  if (error instanceof AdapterError) {
    throw new UsageError(`${error.message} (the failure file names this pool: the case needs its adapter file where it was)`);
  }
  if (error instanceof TargetError) {
    throw new EnvironmentError(
      `${error.message}; the case needs that server: start it again, or give --target H:P to run the case elsewhere`,
    );
  }
  throw error;
}
