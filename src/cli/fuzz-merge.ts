import { readdir, readFile } from 'node:fs/promises';
import path from 'node:path';
import { writeFileAtomic } from '../harness/reports.js';
import type { FuzzReport } from './fuzz.js';
import { parseOptions } from './parse-options.js';
import { runMain, UsageError } from './usage-error.js';

const HELP = `Usage: npm run fuzz:merge -- DIR [--out FILE]

Merges the fuzz-report*.json files found under DIR (one per shard, as CI artifacts arrive) into
one summary: printed as Markdown (for a CI job summary) and written as JSON to --out
(default DIR/fuzz-summary.json). Exit 1 if any shard found a failure, 2 if no report is found.`;

async function findReports(dir: string): Promise<string[]> {
  const out: string[] = [];
  for (const entry of await readdir(dir, { withFileTypes: true })) {
    const full = path.join(dir, entry.name);
    if (entry.isDirectory()) out.push(...(await findReports(full)));
    else if (/^fuzz-report.*\.json$/.test(entry.name)) out.push(full);
  }
  return out.sort();
}

runMain(async () => {
  const { values, positionals } = parseOptions(
    process.argv.slice(2),
    { out: { type: 'string' }, help: { type: 'boolean', default: false } },
    true,
  );
  if (values.help) {
    console.log(HELP);
    return 0;
  }
  if (positionals.length !== 1) throw new UsageError('fuzz:merge takes one folder');
  const dir = positionals[0] as string;
  const files = await findReports(dir).catch(() => {
    throw new UsageError(`cannot read folder ${dir}`);
  });
  if (files.length === 0) throw new UsageError(`no fuzz-report*.json under ${dir}`);
  const reports: FuzzReport[] = [];
  for (const f of files) {
    try {
      reports.push(JSON.parse(await readFile(f, 'utf8')) as FuzzReport);
    } catch (error) {
      throw new UsageError(`${f}: not a fuzz report (${(error as Error).message})`);
    }
  }
  const runs = reports.reduce((n, r) => n + r.totals.runs, 0);
  const failures = reports.flatMap((r) => r.batches.filter((b) => !b.passed).map((b) => ({ shard: r.shard, ...b })));
  const seeds = new Set(reports.map((r) => r.seed));
  const lines = [
    `## Nightly fuzz: ${failures.length === 0 ? 'no failures' : `${failures.length} failure(s)`}`,
    '',
    `${reports.length} shard(s), base seed ${[...seeds].join(', ')}, ${runs} runs in all.`,
    '',
    '| shard | batches | runs | runs/s | failures |',
    '|---|---|---|---|---|',
    ...reports.map(
      (r) =>
        `| ${r.shard.index}/${r.shard.count} | ${r.totals.batches} | ${r.totals.runs} | ${((r.totals.runs / r.elapsedMs) * 1000).toFixed(1)} | ${r.totals.failures} |`,
    ),
    '',
    ...failures.map(
      (f) =>
        `- shard ${f.shard.index}/${f.shard.count}, batch ${f.batch} [${f.layer}] seed ${f.seed}: ${f.error}\n  steps: ${(f.counterexample ?? []).join(' ; ')}\n  replay: \`npm run replay -- ${f.failureFile}\``,
    ),
  ];
  console.log(lines.join('\n'));
  const out = values.out ?? path.join(dir, 'fuzz-summary.json');
  await writeFileAtomic(out, `${JSON.stringify({ shards: reports.length, seeds: [...seeds], runs, failures }, null, 2)}\n`);
  return failures.length > 0 ? 1 : 0;
});
