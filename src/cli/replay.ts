import { replayFile } from '../../properties/replay.js';
import { FailureFileError } from '../harness/failure-file.js';
import { UsageError } from './cli-errors.js';
import { exitCodesHelp } from './exit-codes.js';
import { parseInteger, parseOptions } from './parse-options.js';
import { failureDetails } from './property-output.js';
import { runMain } from './run-main.js';
import { STOPPED } from './stop-signal.js';

const HELP = `Usage: npm run replay -- FILE [--repeat K]

Runs exactly the case saved in a failure file again (same property, layer, variant, seed, path and
commands). The file is checked first: every field present, with its type and range (seed a whole
number in -2147483648..2147483647, options.maxCommands in 1..200, options.addresses in 1..16, path
like "3:1:0"), and not edited since it was written (its "digest"); a bad file exits 2 naming the
field and the allowed range.

  --repeat K    run it K times (1..10000, default 1) and print how often it reproduced
  -h, --help    this text

${exitCodesHelp('the case still fails')}`;

runMain(
  async (stop) => {
    const { values, positionals } = parseOptions(
      process.argv.slice(2),
      { repeat: { type: 'string', default: '1' }, help: { type: 'boolean', default: false } },
      { positionals: true, help: HELP },
    );
    if (values.help) {
      console.log(HELP);
      return 0;
    }
    if (positionals.length !== 1) throw new UsageError('replay takes exactly one failure file');
    const file = positionals[0] as string;
    const repeat = parseInteger(values.repeat, '--repeat', 1, 10_000);
    let reproduced = 0;
    let same = 0;
    let done = 0;
    for (let k = 0; k < repeat && !(await stop.checkpoint()); k++) {
      const r = await stop.race(
        replayFile(file).catch((error: unknown) => {
          if (error instanceof FailureFileError) throw new UsageError(error.message);
          throw error;
        }),
      );
      if (r === STOPPED) break;
      done++;
      if (k === 0) {
        if (r.versionWarning) console.warn(`warning: ${r.versionWarning}`);
        console.log(
          `replaying ${r.failure.property} [${r.failure.layer}${r.failure.variant ? ` vs ${r.failure.variant}` : ''}] seed ${r.failure.seed} path "${r.failure.path}"`,
        );
      }
      if (r.reproduced) reproduced++;
      if (r.sameCounterexample) same++;
      if (repeat === 1) {
        if (r.reproduced) {
          console.log(`still fails${r.sameCounterexample ? ', with the same counterexample' : ' (with different steps)'}:`);
          console.log(failureDetails(r.result));
        } else {
          console.log('passes now: the saved case no longer fails.');
        }
      }
    }
    if (stop.reason) console.log(`interrupted by ${stop.reason} after ${done} of ${repeat} replay(s)`);
    if (repeat > 1 && done > 0) {
      console.log(
        `reproduced ${reproduced}/${done} (${((100 * reproduced) / done).toFixed(0)}%), same counterexample ${same}/${done}`,
      );
    }
    return reproduced > 0 ? 1 : 0;
  },
  { stoppable: true },
);
