import { mkdtemp, readdir, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { FuzzReport } from '../src/cli/fuzz.js';
import { runCli } from './run-cli.js';

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
      '20s',
      '--seed',
      '99',
      '--shard',
      `${i}/2`,
      '--out',
      out,
      '--failures-dir',
      path.join(dir, 'f'),
    ];
    const [one, two] = await Promise.all([runCli('fuzz', args(1)), runCli('fuzz', args(2))]);
    expect(one.code).toBe(0);
    expect(two.code).toBe(0);
    expect(one.stdout.split('\n')[0]).toBe('fuzz seed 99  shard 1/2  budget 20 s  layers simulated, live  max commands 20');
    const r1 = await readReport(path.join(out, 'fuzz-report-shard1of2.json'));
    const r2 = await readReport(path.join(out, 'fuzz-report-shard2of2.json'));
    for (const r of [r1, r2]) {
      expect(r.totals.runs).toBeGreaterThan(0);
      // The budget is kept: at most one run (bounded by the live run timeout) past it.
      expect(r.elapsedMs).toBeGreaterThanOrEqual(19_000);
      expect(r.elapsedMs).toBeLessThan(20_000 + 5_000);
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

  it('fuzz:merge without reports exits 2', async () => {
    const r = await runCli('fuzz-merge', [dir.concat('/nothing-here')]);
    expect(r.code).toBe(2);
  });
});
