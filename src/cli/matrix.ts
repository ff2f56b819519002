import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { readFailureFile } from '../harness/failure-file.js';
import {
  GrpcJsReleaseError,
  newestPatches,
  OLDEST_SUPPORTED,
  parseRelease,
  provideRelease,
  publishedReleases,
} from '../harness/grpc-js-releases.js';
import { checkOutputDir, checkOutputFile, OutputPathError, writeFileAtomic } from '../harness/reports.js';
import { runCliChild } from './cli-child.js';
import { EnvironmentError, UsageError } from './cli-errors.js';
import { exitCodesHelp } from './exit-codes.js';
import { serverGrpcJsRelease } from './grpc-js-option.js';
import { parseDuration, parseOptions, parseSeed } from './parse-options.js';
import { runMain } from './run-main.js';

const HELP = `Usage: npm run matrix -- [--releases V,V,...] [--time D] [--layer live|all] [--seed S] [--out FILE]

Runs the default properties (npm run properties, without the regression corpus) with the client
stack on each @grpc/grpc-js release in turn, each in a process of its own (installed on first
use), against the same servers on their pinned copy, and writes a table: release, properties
passed, and for each failure the shrunk case and its saved failure file. Default releases: the
newest patch of every 1.x minor from ${OLDEST_SUPPORTED.split('.').slice(0, 2).join('.')} on, as the registry lists them.

  --releases LIST     these releases (comma-separated, e.g. 1.8.0,1.12.2) instead
  --time D            time budget of each release's run (default 30s), split over its properties
  --layer live|all    live (default: the simulated layer never opens a grpc-js channel, so its
                      verdict cannot depend on the release) or all
  --seed S            seed of every release's run (default: fresh, printed first; one for all)
  --out FILE          the table as Markdown (default reports/grpc-js-matrix.md)
  --json FILE         the rows as JSON
  --failures-dir DIR  failure files, one folder a release (default failures/matrix)
  -h, --help          this text

${exitCodesHelp('a release failed a property (the table says which, with the case)')}`;

/** One release's line of the matrix. */
interface MatrixRow {
  readonly release: string;
  /** Properties that passed, of those run; null when the run could not start (see `problem`). */
  readonly passed: number | null;
  readonly run: number;
  readonly failures: ReadonlyArray<{ property: string; layer: string; error: string; steps: string[]; file: string | null }>;
  /** Why the release has no verdict (an install or set-up error: exit 3), if it has none. */
  readonly problem: string | null;
  readonly seconds: number;
}

runMain(
  async (stop) => {
    const { values } = parseOptions(
      process.argv.slice(2),
      {
        releases: { type: 'string' },
        time: { type: 'string', default: '30s' },
        layer: { type: 'string', default: 'live' },
        seed: { type: 'string' },
        out: { type: 'string', default: path.join('reports', 'grpc-js-matrix.md') },
        json: { type: 'string' },
        'failures-dir': { type: 'string', default: path.join('failures', 'matrix') },
        help: { type: 'boolean', default: false },
      },
      { help: HELP },
    );
    if (values.help) {
      console.log(HELP);
      return 0;
    }
    if (values.layer !== 'live' && values.layer !== 'all')
      throw new UsageError(`--layer takes live or all; got "${values.layer}"`);
    parseDuration(values.time, '--time');
    const seed = values.seed !== undefined ? parseSeed(values.seed) : (Math.random() * 2 ** 32) | 0;
    const asked = values.releases?.split(',').map((v) => {
      try {
        return parseRelease(v.trim());
      } catch (error) {
        throw new UsageError(`--releases: ${(error as Error).message}`);
      }
    });
    for (const [flag, check] of [
      ['--out', () => checkOutputFile(values.out)],
      ['--json', () => (values.json ? checkOutputFile(values.json) : Promise.resolve())],
      ['--failures-dir', () => checkOutputDir(values['failures-dir'])],
    ] as const) {
      await check().catch((error: unknown) => {
        throw error instanceof OutputPathError ? new EnvironmentError(`${flag} ${error.message}`) : error;
      });
    }
    const releases = asked ?? newestPatches(await publishedReleases().catch(asEnvironment));
    console.log(
      `matrix seed ${seed}  layer ${values.layer}  ${values.time} a release  servers grpc-js ${serverGrpcJsRelease()}  releases ${releases.join(', ')}`,
    );

    const rows: MatrixRow[] = [];
    const scratch = await mkdtemp(path.join(tmpdir(), 'grpc-js-matrix-'));
    stop.onCleanup(() => rm(scratch, { recursive: true, force: true }));
    for (const release of releases) {
      if (await stop.checkpoint()) break;
      const row = await runRelease(
        release,
        { seed, time: values.time, layer: values.layer, scratch, dir: values['failures-dir'] },
        stop,
      );
      if (stop.stopped) break;
      rows.push(row);
      console.log(rowSummary(row));
    }
    const table = markdownTable(rows, { seed, layer: values.layer, time: values.time });
    await writeFileAtomic(values.out, table);
    if (values.json)
      await writeFileAtomic(values.json, `${JSON.stringify({ seed, interrupted: stop.reason ?? null, rows }, null, 2)}\n`);
    console.log(`\n${table}\nwritten: ${values.out}`);
    if (rows.some((r) => r.problem !== null)) return 3;
    return rows.some((r) => r.failures.length > 0) ? 1 : 0;
  },
  { stoppable: true },
);

async function runRelease(
  release: string,
  o: { seed: number; time: string; layer: string; scratch: string; dir: string },
  stop: Parameters<typeof runCliChild>[2],
): Promise<MatrixRow> {
  const started = performance.now();
  const seconds = () => (performance.now() - started) / 1000;
  console.log(`${release}: running (installing it first if needed)`);
  try {
    await provideRelease(release);
  } catch (error) {
    if (!(error instanceof GrpcJsReleaseError)) throw error;
    return { release, passed: null, run: 0, failures: [], problem: error.message, seconds: seconds() };
  }
  const json = path.join(o.scratch, `${release}.json`);
  const out = await runCliChild(
    'properties',
    [
      ...['--grpc-js', release, '--layer', o.layer, '--time', o.time, `--seed=${o.seed}`],
      ...['--no-regressions', '--failures-dir', path.join(o.dir, release), '--json', json],
    ],
    stop,
  );
  if (out.code !== 0 && out.code !== 1) {
    const why = out.stderr.trim().split('\n').pop() ?? '';
    return { release, passed: null, run: 0, failures: [], problem: `exit ${out.code}: ${why}`, seconds: seconds() };
  }
  const report = JSON.parse(await readFile(json, 'utf8')) as {
    results: Array<{ property: string; layer: string; passed: boolean; error?: string; counterexample?: string[] }>;
  };
  const saved = [...out.stdout.matchAll(/^failure saved: (.*)$/gm)].map((m) => m[1] as string);
  const files = await Promise.all(saved.map(async (f) => ({ f, file: await readFailureFile(f).catch(() => undefined) })));
  const failures = report.results
    .filter((r) => !r.passed)
    .map((r) => ({
      property: r.property,
      layer: r.layer,
      error: r.error ?? '',
      steps: r.counterexample ?? [],
      file: files.find((s) => s.file?.property === r.property && s.file.layer === r.layer)?.f ?? null,
    }));
  return {
    release,
    passed: report.results.length - failures.length,
    run: report.results.length,
    failures,
    problem: null,
    seconds: seconds(),
  };
}

function rowSummary(r: MatrixRow): string {
  if (r.problem !== null) return `${r.release}: NO VERDICT: ${r.problem}`;
  const failed = r.failures.map((f) => `${f.property} [${f.layer}]`).join(', ');
  return `${r.release}: ${r.passed}/${r.run} passed${failed ? `; FAILED ${failed}` : ''} (${r.seconds.toFixed(1)} s)`;
}

/** The matrix as a Markdown table, one row a release. */
function markdownTable(rows: readonly MatrixRow[], o: { seed: number; layer: string; time: string }): string {
  const cell = (s: string) => s.replaceAll('|', '\\|').replaceAll('\n', ' ');
  const lines = [
    `Client stack on each @grpc/grpc-js release, servers on ${serverGrpcJsRelease()}; layer ${o.layer}, ${o.time} a release, seed ${o.seed}.`,
    '',
    '| release | properties passed | failures: shrunk case, error, saved file |',
    '| ------- | ----------------- | ---------------------------------------- |',
  ];
  for (const r of rows) {
    const passed = r.passed === null ? 'no verdict' : `${r.passed}/${r.run}`;
    const failures =
      r.problem !== null
        ? cell(r.problem)
        : r.failures
            .map(
              (f) =>
                `${f.property} [${f.layer}]: \`${cell(f.steps.join(' ; '))}\`: ${cell(f.error.slice(0, 160))}${f.file ? ` (${cell(f.file)})` : ''}`,
            )
            .join('<br>') || '—';
    lines.push(`| ${r.release} | ${passed} | ${failures} |`);
  }
  return `${lines.join('\n')}\n`;
}

function asEnvironment(error: unknown): never {
  if (error instanceof GrpcJsReleaseError) throw new EnvironmentError(error.message);
  throw error;
}
