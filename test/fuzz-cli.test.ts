import { type ChildProcess, spawn } from 'node:child_process';
import { mkdir, mkdtemp, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { FuzzReport } from '../src/cli/fuzz.js';
import { TS_NODE_ARGS } from '../src/loader/node-args.js';
import { ROOT, runCli } from './run-cli.js';

/** Starts a CLI (optionally on a pseudo-terminal, through util-linux `script`) and lets the test signal it. */
function startCli(name: string, args: string[], onTerminal = false) {
  const command = [process.execPath, ...TS_NODE_ARGS, `src/cli/${name}.ts`, ...args];
  const child: ChildProcess = onTerminal
    ? spawn('script', ['-qec', command.join(' '), '/dev/null'], { cwd: ROOT, stdio: ['ignore', 'pipe', 'pipe'] })
    : spawn(command[0] as string, command.slice(1), { cwd: ROOT, stdio: ['ignore', 'pipe', 'pipe'] });
  let stdout = '';
  child.stdout?.on('data', (d) => {
    stdout += d;
  });
  const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
  const waitFor = async (re: RegExp, timeoutMs = 30_000) => {
    const until = Date.now() + timeoutMs;
    while (!re.test(stdout)) {
      if (Date.now() > until) throw new Error(`no ${re} in output within ${timeoutMs} ms:\n${stdout}`);
      await new Promise((r) => setTimeout(r, 50));
    }
  };
  /** The CLI's own process: under `script`, the node process whose arguments name this CLI. */
  const cliPid = async (): Promise<number> => {
    if (!onTerminal) return child.pid as number;
    for (const entry of await readdir('/proc')) {
      if (!/^\d+$/.test(entry)) continue;
      const cmdline = await readFile(`/proc/${entry}/cmdline`, 'utf8').catch(() => '');
      if (cmdline.split('\0').join(' ').startsWith(command.join(' '))) return Number(entry);
    }
    throw new Error('the CLI process is not running');
  };
  return { child, exited, waitFor, cliPid, stdout: () => stdout };
}

let dir: string;
beforeAll(async () => {
  dir = await mkdtemp(path.join(tmpdir(), 'fuzz-cli-'));
});
afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

const readReport = async (file: string) => JSON.parse(await readFile(file, 'utf8')) as FuzzReport;

describe('npm run fuzz', () => {
  it('two shards of one seed run disjoint batches and stop on time', async () => {
    const out = path.join(dir, 'shards');
    const args = (i: number) => [
      '--time',
      '6s',
      '--seed',
      '99',
      '--shard',
      `${i}/2`,
      '--out',
      out,
      '--failures-dir',
      path.join(dir, 'f'),
      // One process a shard: what is checked here is the split and the budget, not the worker pool
      // (properties/workers/worker-pool.test.ts times a fresh worker's budget); four worker
      // processes a shard made this test the load it then had to survive.
      '--workers',
      '1',
    ];
    const [one, two] = await Promise.all([runCli('fuzz', args(1)), runCli('fuzz', args(2))]);
    expect(one.code).toBe(0);
    expect(two.code).toBe(0);
    expect(one.stdout.split('\n')[0]).toBe('fuzz seed 99  shard 1/2  budget 6 s  layers simulated, live  max commands 20');
    const r1 = await readReport(path.join(out, 'fuzz-report-shard1of2.json'));
    const r2 = await readReport(path.join(out, 'fuzz-report-shard2of2.json'));
    for (const r of [r1, r2]) {
      expect(r.totals.runs).toBeGreaterThan(0);
      // The budget is kept: at most one run past it (a live run may hold late answers, 1 s each,
      // and a load op; two shards share a loaded 2-core machine with other test files). Before the
      // workers counted the limit from when a batch was asked for, and the history search from the
      // budget, a 10 s fuzz took 23 s here; 15 s of slack still catches that.
      expect(r.elapsedMs).toBeGreaterThanOrEqual(5_000);
      expect(r.elapsedMs).toBeLessThan(6_000 + 15_000);
    }
    const batches1 = new Set(r1.batches.map((b) => b.batch));
    const seeds1 = new Set(r1.batches.map((b) => b.seed));
    expect(r2.batches.filter((b) => batches1.has(b.batch) || seeds1.has(b.seed))).toEqual([]);
    expect(r1.batches.every((b) => b.batch % 2 === 0)).toBe(true);
    expect(r2.batches.every((b) => b.batch % 2 === 1)).toBe(true);

    const merged = await runCli('fuzz-merge', [out]);
    expect(merged.code).toBe(0);
    expect(merged.stdout).toContain(`2 shard(s), base seed 99, ${r1.totals.runs + r2.totals.runs} runs in all.`);
  }, 60_000);

  it('a failure writes a failure file and a JUnit failure, and exits 1', async () => {
    const out = path.join(dir, 'broken');
    const failures = path.join(dir, 'broken-failures');
    const r = await runCli('fuzz', [
      '--time',
      '5s',
      '--seed',
      '1',
      '--layer',
      'simulated',
      '--against',
      'leak-on-remove',
      '--workers',
      '1',
      '--out',
      out,
      '--failures-dir',
      failures,
    ]);
    expect(r.code).toBe(1);
    const files = await readdir(failures);
    expect(files.length).toBeGreaterThan(0);
    expect(r.stdout).toContain(`replay: npm run replay -- ${path.join(failures, files[0] as string)}`);
    const junit = await readFile(path.join(out, 'fuzz-junit.xml'), 'utf8');
    expect(junit).toMatch(/failures="[1-9]\d*"/);
    expect(junit).toContain('<failure message="ModelDisagreement');
  });

  it.each([
    [['--shard', '3/2'], /--shard 3\/2: i must be in 1\.\.n/],
    [['--shard', '0/4'], /--shard 0\/4: i must be in 1\.\.n/],
    [['--shard', 'half'], /--shard takes i\/n/],
    [['--time=-5s'], /--time takes a positive duration/],
    [['--time', '0s'], /must be more than zero/],
  ])('%j exits 2 with a message', async (args, message) => {
    const r = await runCli('fuzz', args);
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(message);
  });

  it('a batch whose budget ran out before its first run is "no runs": exit 0, no failure file (issue 14.1)', async () => {
    const out = path.join(dir, 'no-runs');
    const failures = path.join(dir, 'no-runs-failures');
    const r = await runCli('fuzz', ['--time', '1ms', '--layer', 'live', '--seed', '3', '--out', out, '--failures-dir', failures]);
    expect(r.stderr).toBe('');
    expect(r.code).toBe(0);
    const report = await readReport(path.join(out, 'fuzz-report.json'));
    expect(report.totals.failures).toBe(0);
    // Whether the one batch got its first run in before the 1 ms ran out depends on timing; either way it is no failure.
    for (const b of report.batches) {
      expect(b).toMatchObject({ passed: true, noRuns: b.runs === 0, error: null, failureFile: null });
    }
    if (report.batches.some((b) => b.noRuns)) {
      expect(await readFile(path.join(out, 'fuzz-junit.xml'), 'utf8')).toMatch(/<skipped message="no runs/);
    }
    await expect(readdir(failures)).rejects.toThrow(/ENOENT/);
  });

  it('a spent budget still writes both reports, every time (the process once ended inside closing its idle workers)', async () => {
    // Closing workers that never ran a batch: with their handles unref'd, the main process ended
    // (exit 0) between a worker's SIGKILL and its 'exit' event, before the reports were written:
    // 4 runs in 6 lost them here. Four in a row now, each with two idle workers to close (the
    // default four made this test alone start twenty processes).
    for (let k = 0; k < 4; k++) {
      const out = path.join(dir, `spent-${k}`);
      const r = await runCli('fuzz', ['--time', '1ms', '--layer', 'live', '--seed', String(k), '--workers', '2', '--out', out]);
      expect(r.code).toBe(0);
      expect((await readdir(out)).sort()).toEqual(['fuzz-junit.xml', 'fuzz-report.json']);
    }
  });

  it.each([[['--seed', '-7']], [['--seed=-7']]])('%j: a negative seed is accepted (issue 14.5)', async (args) => {
    const r = await runCli('fuzz', [
      ...args,
      '--time',
      '200ms',
      '--layer',
      'simulated',
      '--workers',
      '1',
      '--out',
      path.join(dir, 'negative'),
    ]);
    expect(r.code).toBe(0);
    expect(r.stdout.split('\n')[0]).toMatch(/^fuzz seed -7 {2}shard 1\/1/);
  });

  it.each([
    ['--out under a file', (f: string) => ['--out', path.join(f, 'reports')], /--out .*is a file, not a folder/],
    [
      '--failures-dir under a file',
      (f: string) => ['--failures-dir', path.join(f, 'x')],
      /--failures-dir .*is a file, not a folder/,
    ],
  ])('%s exits 3 before fuzzing, leaving no temp file (issue 14.4)', async (_name, args, message) => {
    const file = path.join(dir, 'plain-file');
    await writeFile(file, 'x');
    const r = await runCli('fuzz', ['--time', '1s', ...args(file)]);
    expect(r.code).toBe(3);
    expect(r.stderr).toMatch(message);
    expect(r.stdout).toBe('');
    expect((await readdir(dir)).filter((n) => n.endsWith('.tmp'))).toEqual([]);
  });

  it.each([
    ['SIGINT', 130],
    ['SIGTERM', 143],
  ] as const)('%s stops promptly, writes both reports marked interrupted, exits %i (issue 14.2)', async (signal, code) => {
    const out = path.join(dir, `signal-${signal}`);
    // Two workers (busy ones, which the stop must end), not the default four: the stop is the same.
    const run = startCli('fuzz', ['--time', '60s', '--workers', '2', '--out', out, '--failures-dir', path.join(dir, 'f')]);
    await run.waitFor(/^fuzz seed /m);
    await new Promise((r) => setTimeout(r, 2_500));
    const sent = Date.now();
    run.child.kill(signal);
    expect(await run.exited).toBe(code);
    // Promptly: well before the 10 s after which a stop no longer waits for anything (a live run's
    // 2 s and the workers' closing, on a loaded machine).
    expect(Date.now() - sent).toBeLessThan(9_000);
    const report = await readReport(path.join(out, 'fuzz-report.json'));
    expect(report.interrupted).toBe(signal);
    expect(report.elapsedMs).toBeLessThan(30_000);
    const junit = await readFile(path.join(out, 'fuzz-junit.xml'), 'utf8');
    expect(junit).toContain(`<property name="interrupted" value="${signal}"/>`);
    expect(run.stdout()).toContain(`fuzz interrupted by ${signal}`);
  });

  it('on a terminal, SIGINT gives the terminal back: cursor shown, line wrap on (issue 14.2)', async () => {
    const out = path.join(dir, 'tty');
    const run = startCli('fuzz', ['--time', '60s', '--layer', 'simulated', '--out', out], true);
    await run.waitFor(/fuzz \[/);
    process.kill(await run.cliPid(), 'SIGINT');
    expect(await run.exited).toBe(130);
    const text = run.stdout();
    expect(text.lastIndexOf('\x1b[?25h')).toBeGreaterThan(text.lastIndexOf('\x1b[?25l'));
    expect(text.lastIndexOf('\x1b[?7h')).toBeGreaterThan(text.lastIndexOf('\x1b[?7l'));
    expect(text).toContain('fuzz interrupted by SIGINT');
  });

  it('fuzz:merge without reports exits 2', async () => {
    const r = await runCli('fuzz-merge', [dir.concat('/nothing-here')]);
    expect(r.code).toBe(2);
  });

  describe('fuzz:merge (issue 14.7)', () => {
    const report = (index: number, count: number, extra: Record<string, unknown> = {}) => ({
      version: 1,
      seed: 5,
      shard: { index, count },
      budgetMs: 1_000,
      elapsedMs: 1_000,
      layers: ['simulated'],
      totals: { batches: 1, runs: 10, failures: 0 },
      batches: [
        {
          batch: index - 1,
          property: 'p',
          seed: 1,
          layer: 'simulated',
          runs: 10,
          passed: true,
          wallMs: 5,
          counterexample: null,
          error: null,
          failureFile: null,
        },
      ],
      ...extra,
    });
    const shardsDir = async (name: string, reports: Array<Record<string, unknown>>) => {
      const d = path.join(dir, name);
      for (const [k, r] of reports.entries()) {
        await mkdir(path.join(d, `fuzz-shard-${k + 1}`), { recursive: true });
        await writeFile(path.join(d, `fuzz-shard-${k + 1}`, `fuzz-report-${k}.json`), JSON.stringify(r));
      }
      return d;
    };

    it('a report of the wrong shape exits 2 naming the file and the field, not a TypeError', async () => {
      const d = await shardsDir('wrong-shape', [{ version: 1, seed: 5, shard: { index: 1, count: 1 } }]);
      const r = await runCli('fuzz-merge', [d]);
      expect(r.code).toBe(2);
      expect(r.stderr).toMatch(/fuzz-report-0\.json: not a fuzz report .*field "budgetMs"/);
      expect(r.stderr).not.toMatch(/TypeError/);
    });

    it('--expect 4 with two reports lists the missing shards and exits 3', async () => {
      const d = await shardsDir('missing', [report(1, 4), report(3, 4)]);
      const r = await runCli('fuzz-merge', [d, '--expect', '4']);
      expect(r.code).toBe(3);
      expect(r.stdout).toContain('## Nightly fuzz: no failures, 2 shard(s) missing');
      expect(r.stdout).toMatch(/\| 2\/4 \|.*MISSING/);
      expect(r.stdout).toMatch(/\| 4\/4 \|.*MISSING/);
      const summary = JSON.parse(await readFile(path.join(d, 'fuzz-summary.json'), 'utf8'));
      expect(summary).toMatchObject({ shards: 2, expectedShards: 4, missingShards: [2, 4] });
    });

    it('an interrupted shard makes the merge incomplete (exit 3); all four present and whole exit 0', async () => {
      const partial = await shardsDir('interrupted', [report(1, 2), report(2, 2, { interrupted: 'SIGINT' })]);
      const r = await runCli('fuzz-merge', [partial, '--expect', '2']);
      expect(r.code).toBe(3);
      expect(r.stdout).toMatch(/1 shard\(s\) interrupted/);
      const whole = await shardsDir('whole', [report(1, 4), report(2, 4), report(3, 4), report(4, 4)]);
      const ok = await runCli('fuzz-merge', [whole, '--expect', '4']);
      expect(ok.code).toBe(0);
      expect(ok.stdout).toContain('4 of 4 shard(s), base seed 5, 40 runs in all.');
    });
  });
});
