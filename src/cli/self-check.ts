import { type SelfCheckOptions, selfCheckVariant, type VariantVerdict } from '../../properties/self-check.js';
import { VARIANTS } from '../../properties/variants/index.js';
import { writeFileAtomic } from '../harness/reports.js';
import { parseDuration, parseInteger, parseOptions } from './parse-options.js';
import { runMain, UsageError } from './usage-error.js';

const HELP = `Usage: npm run self-check -- [--cap 60s] [--seed S] [--variant NAME] [--json FILE]

Runs the properties against every known-broken variant in properties/variants/ (simulated layer
first, then live) and prints whether each was caught, by which property, after how many runs and
seconds, and how long the shrunk counterexample is beside the shortest one that shows the bug.
Exit 1 if any variant is missed.

  --cap D          most time per variant (default 60s)
  --seed S         seed (default: fresh per variant)
  --variant NAME   check one variant only
  --json FILE      write { variants: [{ name, caught, by, runs, seconds, shrunkCommands, ... }] }`;

runMain(async () => {
  const { values } = parseOptions(process.argv.slice(2), {
    cap: { type: 'string', default: '60s' },
    seed: { type: 'string' },
    variant: { type: 'string' },
    json: { type: 'string' },
    help: { type: 'boolean', default: false },
  });
  if (values.help) {
    console.log(HELP);
    return 0;
  }
  const options: SelfCheckOptions = {
    capMs: parseDuration(values.cap, '--cap'),
    seed: values.seed === undefined ? undefined : parseInteger(values.seed, '--seed', -(2 ** 31), 2 ** 31 - 1),
  };
  const chosen = values.variant === undefined ? VARIANTS : VARIANTS.filter((v) => v.name === values.variant);
  if (chosen.length === 0)
    throw new UsageError(`--variant: no variant named "${values.variant}" (known: ${VARIANTS.map((v) => v.name).join(', ')})`);

  console.log(
    `self-check: ${chosen.length} variant(s), cap ${(options.capMs ?? 0) / 1000} s each${options.seed === undefined ? '' : `, seed ${options.seed}`}\n`,
  );
  console.log(
    `${'variant'.padEnd(26)} ${'class'.padEnd(21)} ${'result'.padEnd(7)} ${'caught by'.padEnd(32)} ${'runs'.padStart(6)} ${'seconds'.padStart(8)}  shrunk/shortest`,
  );
  const verdicts: VariantVerdict[] = [];
  for (const v of chosen) {
    const r = await selfCheckVariant(v, options);
    verdicts.push(r);
    console.log(
      `${r.name.padEnd(26)} ${r.bugClass.padEnd(21)} ${(r.caught ? 'caught' : 'MISSED').padEnd(7)} ${(r.by ?? '-').padEnd(32)} ${String(r.runs ?? '-').padStart(6)} ${(r.seconds === null ? '-' : r.seconds.toFixed(2)).padStart(8)}  ${r.shrunkCommands ?? '-'}/${r.shortestCommands}`,
    );
  }
  const caught = verdicts.filter((v) => v.caught);
  const seconds = caught.map((v) => v.seconds ?? 0).sort((a, b) => a - b);
  const median = seconds.length ? (seconds[Math.floor((seconds.length - 1) / 2)] as number) : Number.NaN;
  console.log(`\n${caught.length}/${verdicts.length} caught; median time to first failure ${median.toFixed(2)} s`);
  for (const v of caught) console.log(`  ${v.name}: ${(v.counterexample ?? []).join(' ; ')}`);
  if (values.json) await writeFileAtomic(values.json, `${JSON.stringify({ variants: verdicts }, null, 2)}\n`);
  return caught.length === verdicts.length ? 0 : 1;
});
