import { readdir, readFile } from 'node:fs/promises';
import path from 'node:path';
import { checkOutputFile, OutputPathError, writeFileAtomic } from '../harness/reports.js';
import { EnvironmentError, UsageError } from './cli-errors.js';
import { EXIT } from './exit-codes.js';
import { type FuzzReport, FuzzReportError, validateFuzzReport } from './fuzz-report.js';
import { parseInteger, parseOptions } from './parse-options.js';
import { runMain } from './run-main.js';

const HELP = `Usage: npm run fuzz:merge -- DIR [--expect N] [--out FILE]

Merges the fuzz-report*.json files found under DIR (one per shard, as CI artifacts arrive) into
one summary: printed as Markdown (for a CI job summary) and written as JSON to --out.

  --expect N    the number of shards the run had (1..1000); a shard with no report (killed at
                its timeout, artifact lost) or a report marked interrupted is listed as missing
                or incomplete, and the merge exits 3. Without it, shards are only counted.
  --out FILE    the JSON summary (default DIR/fuzz-summary.json)
  -h, --help    this text

Exit codes:
  0  every expected shard reported in full, no failures
  1  a shard found a failure (takes precedence over 3)
  2  bad usage, no report under DIR, or a file that is not a fuzz report (it is named, with the field)
  3  shards missing or interrupted (with --expect: also a shard number outside 1..N), or --out not writable`;

async function findReports(dir: string): Promise<string[]> {
  const out: string[] = [];
  for (const entry of await readdir(dir, { withFileTypes: true })) {
    const full = path.join(dir, entry.name);
    if (entry.isDirectory()) out.push(...(await findReports(full)));
    else if (/^fuzz-report.*\.json$/.test(entry.name)) out.push(full);
  }
  return out.sort();
}

async function readReport(file: string): Promise<FuzzReport> {
  let data: unknown;
  try {
    data = JSON.parse(await readFile(file, 'utf8'));
  } catch (error) {
    throw new UsageError(`${file}: not a fuzz report (${(error as Error).message})`);
  }
  try {
    return validateFuzzReport(file, data);
  } catch (error) {
    throw error instanceof FuzzReportError ? new UsageError(error.message) : error;
  }
}

runMain(async () => {
  const { values, positionals } = parseOptions(
    process.argv.slice(2),
    { out: { type: 'string' }, expect: { type: 'string' }, help: { type: 'boolean', default: false } },
    { positionals: true, help: HELP },
  );
  if (values.help) {
    console.log(HELP);
    return 0;
  }
  if (positionals.length !== 1) throw new UsageError('fuzz:merge takes one folder');
  const dir = positionals[0] as string;
  const expected = values.expect === undefined ? undefined : parseInteger(values.expect, '--expect', 1, 1_000);
  const out = values.out ?? path.join(dir, 'fuzz-summary.json');
  await checkOutputFile(out).catch((error: unknown) => {
    throw error instanceof OutputPathError ? new EnvironmentError(`--out ${error.message}`) : error;
  });
  // With --expect, a folder no artifact arrived in is every shard missing, not bad usage.
  const files = await findReports(dir).catch((): string[] => {
    if (expected !== undefined) return [];
    throw new UsageError(`cannot read folder ${dir}`);
  });
  if (files.length === 0 && expected === undefined) throw new UsageError(`no fuzz-report*.json under ${dir}`);
  const reports: FuzzReport[] = [];
  for (const f of files) reports.push(await readReport(f));

  const runs = reports.reduce((n, r) => n + r.totals.runs, 0);
  const failures = reports.flatMap((r) => r.batches.filter((b) => !b.passed).map((b) => ({ shard: r.shard, ...b })));
  const seeds = new Set(reports.map((r) => r.seed));
  const present = new Set(reports.map((r) => r.shard.index));
  const missing = expected === undefined ? [] : Array.from({ length: expected }, (_, k) => k + 1).filter((i) => !present.has(i));
  const strangers = expected === undefined ? [] : reports.filter((r) => r.shard.count !== expected);
  const interrupted = reports.filter((r) => r.interrupted);
  const incomplete = missing.length > 0 || interrupted.length > 0 || strangers.length > 0;
  const verdict = [
    failures.length === 0 ? 'no failures' : `${failures.length} failure(s)`,
    ...(missing.length > 0 ? [`${missing.length} shard(s) missing`] : []),
    ...(interrupted.length > 0 ? [`${interrupted.length} shard(s) interrupted`] : []),
  ].join(', ');
  const lines = [
    `## Nightly fuzz: ${verdict}`,
    '',
    `${reports.length}${expected === undefined ? '' : ` of ${expected}`} shard(s), base seed ${[...seeds].join(', ')}, ${runs} runs in all.`,
    '',
    '| shard | batches | runs | runs/s | failures | note |',
    '|---|---|---|---|---|---|',
    ...reports.map(
      (r) =>
        `| ${r.shard.index}/${r.shard.count} | ${r.totals.batches} | ${r.totals.runs} | ${r.elapsedMs > 0 ? ((r.totals.runs / r.elapsedMs) * 1000).toFixed(1) : '0.0'} | ${r.totals.failures} | ${r.interrupted ? `interrupted (${r.interrupted}): partial` : ''}${expected !== undefined && r.shard.count !== expected ? ` of ${r.shard.count} shards, not ${expected}` : ''} |`,
    ),
    ...missing.map(
      (i) =>
        `| ${i}/${expected} | - | - | - | - | MISSING: no report (killed at its timeout, or its artifact was not uploaded) |`,
    ),
    '',
    ...failures.map(
      (f) =>
        `- shard ${f.shard.index}/${f.shard.count}, batch ${f.batch} [${f.layer}] seed ${f.seed}: ${f.error}\n  steps: ${(f.counterexample ?? []).join(' ; ')}\n  replay: \`npm run replay -- ${f.failureFile}\``,
    ),
  ];
  console.log(lines.join('\n'));
  await writeFileAtomic(
    out,
    `${JSON.stringify(
      {
        shards: reports.length,
        expectedShards: expected ?? null,
        missingShards: missing,
        interruptedShards: interrupted.map((r) => r.shard.index),
        seeds: [...seeds],
        runs,
        failures,
      },
      null,
      2,
    )}\n`,
  );
  if (failures.length > 0) return EXIT.failed;
  return incomplete ? EXIT.environment : EXIT.passed;
});
