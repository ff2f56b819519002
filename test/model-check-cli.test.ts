import { mkdtemp, readdir, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runCli } from './run-cli.js';

let dir: string;
beforeAll(async () => {
  dir = await mkdtemp(path.join(tmpdir(), 'model-check-cli-'));
});
afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

describe('npm run model-check', () => {
  it('-h prints the usage and exits 0', async () => {
    const r = await runCli('model-check', ['-h']);
    expect(r.code).toBe(0);
    expect(r.stdout).toMatch(/--max-commands N/);
    expect(r.stdout).toMatch(/--replay FILE/);
  });

  it.each([
    [['--clients', '9'], /--clients must be in 2..4/],
    [['--against', 'nope'], /no variant "nope"/],
    [['--bogus'], /Unknown option/],
    [['--time', 'soon'], /--time takes a positive duration/],
  ])('%j exits 2 with a clear error', async (args, message) => {
    const r = await runCli('model-check', args);
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(message);
  });

  it('exhausts a tiny bound on the real pool and writes the JSON report', async () => {
    const json = path.join(dir, 'clean.json');
    const r = await runCli('model-check', ['--max-commands', '2', '--json', json]);
    expect(r.code).toBe(0);
    expect(r.stdout).toMatch(/exhausted: every schedule of every program up to 2 operations, 0 violations/);
    expect(r.stdout).toMatch(/distinct states \d+, \d+ states\/s/);
  });

  it('finds a planted bug, writes a trail file, and --replay fails on it again (exit 1)', async () => {
    const failures = path.join(dir, 'failures');
    const r = await runCli('model-check', [
      '--max-commands',
      '2',
      '--against',
      'remove-returns-early',
      '--failures-dir',
      failures,
    ]);
    expect(r.code).toBe(1);
    expect(r.stdout).toMatch(/VIOLATION in a program of 2 operations/);
    const [file] = await readdir(failures);
    expect(file).toMatch(/model-check_remove-returns-early/);
    const replay = await runCli('model-check', ['--replay', path.join(failures, file as string)]);
    expect(replay.code).toBe(1);
    expect(replay.stdout).toMatch(/still fails/);
  });

  it('--replay of a file that is not a trail file exits 2', async () => {
    const bogus = path.join(dir, 'bogus.json');
    await writeFile(bogus, '{"kind":"something else"}');
    const r = await runCli('model-check', ['--replay', bogus]);
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(/not a model-check trail file/);
  });
});
