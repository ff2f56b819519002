import { replayFile } from '../../properties/replay.js';
import { FailureFileError } from '../harness/failure-file.js';
import { parseInteger, parseOptions } from './parse-options.js';
import { failureDetails } from './property-output.js';
import { runMain, UsageError } from './usage-error.js';

const HELP = `Usage: npm run replay -- FILE [--repeat K]

Runs exactly the case saved in a failure file again (same property, layer, variant, seed, path and
commands). Exit 1 if it still fails, 0 if it passes, 2 if the file cannot be used.
--repeat K runs it K times and prints how often it reproduced.`;

runMain(async () => {
  const { values, positionals } = parseOptions(
    process.argv.slice(2),
    { repeat: { type: 'string', default: '1' }, help: { type: 'boolean', default: false } },
    true,
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
  for (let k = 0; k < repeat; k++) {
    const r = await replayFile(file).catch((error: unknown) => {
      if (error instanceof FailureFileError) throw new UsageError(error.message);
      throw error;
    });
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
  if (repeat > 1) {
    console.log(
      `reproduced ${reproduced}/${repeat} (${((100 * reproduced) / repeat).toFixed(0)}%), same counterexample ${same}/${repeat}`,
    );
  }
  return reproduced > 0 ? 1 : 0;
});
