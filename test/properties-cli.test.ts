import { mkdir, mkdtemp, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import * as grpc from '@grpc/grpc-js';
import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runCheck } from '../properties/check-runner.js';
import { streamSeed } from '../properties/workers/worker-pool.js';
import { writeFileAtomic } from '../src/harness/reports.js';
import { TestServer } from '../src/server/test-server.js';
import { runCli, startCli } from './run-cli.js';

let dir: string;
beforeAll(async () => {
  dir = await mkdtemp(path.join(tmpdir(), 'props-cli-'));
});
afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

describe('npm run properties: bad usage exits 2 with a message naming the problem', () => {
  it.each([
    [['--bogus'], /Unknown option '--bogus'/],
    [['--time=-5s'], /--time takes a positive duration/],
    [['--time', 'soon'], /--time takes a positive duration/],
    [['--runs', '0'], /--runs must be in 1\.\./],
    [['--layer', 'moon'], /--layer takes live, simulated or all/],
    [['--against', 'nope'], /no variant named "nope"/],
    [['--path', '1:2'], /--path replays one case/],
    [['--target', 'not-an-address'], /invalid address/],
  ])('%j', async (args, message) => {
    const r = await runCli('properties', args);
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(message);
  });

  it('--target that nobody listens on is unreachable', async () => {
    const s = await TestServer.start();
    const address = s.address;
    await s.close();
    const r = await runCli('properties', ['--target', address, '--runs', '1', '--no-regressions']);
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(/unreachable/);
  });

  it('--target that does not implement the service is named as such', async () => {
    const bare = new grpc.Server();
    const port = await new Promise<number>((res, rej) =>
      bare.bindAsync('127.0.0.1:0', grpc.ServerCredentials.createInsecure(), (e, p) => (e ? rej(e) : res(p))),
    );
    try {
      const r = await runCli('properties', ['--target', `127.0.0.1:${port}`, '--runs', '1']);
      expect(r.code).toBe(2);
      expect(r.stderr).toMatch(/does not implement loadtest\.v1\.LoadTest/);
    } finally {
      bare.forceShutdown();
    }
  });
});

describe('npm run properties against real servers', () => {
  it('--list-variants prints one name a line', async () => {
    const r = await runCli('properties', ['--list-variants']);
    expect(r.code).toBe(0);
    expect(r.stdout.trim().split('\n')).toContain('lock-per-call');
  });

  it('--target runs the live layer against a server already running', async () => {
    await using s = await TestServer.start();
    const r = await runCli('properties', [
      '--target',
      s.address,
      '--runs',
      '15',
      '--seed',
      '5',
      '--failures-dir',
      path.join(dir, 'target-failures'),
    ]);
    expect(r.stderr).toBe('');
    expect(r.code).toBe(0);
    expect(r.stdout).toMatch(/^seed 5 {2}layers live {2}target 127\.\d+\.\d+\.\d+:\d+$/m);
    expect(r.stdout).toMatch(/pool-matches-model \[live\] +runs +15 .* PASS/);
    // keys-isolate needs servers it starts itself: skipped, and said so.
    expect(r.stdout).toMatch(/keys-isolate \[live\] +SKIPPED: it needs servers it starts itself/);
    // The run closed everything it opened on the target.
    await s.ledger.waitUntil((l) => l.openConnections === 0, 5_000, 'target left with no connections');
  });
});

/** `properties` against leak-on-remove (simulated, pool-matches-model): it fails and saves a failure file. */
function findLeakOnRemove(seed: number, failuresDir: string) {
  return runCli('properties', [
    '--layer',
    'simulated',
    '--property',
    'pool-matches-model',
    '--against',
    'leak-on-remove',
    '--seed',
    String(seed),
    '--runs',
    '300',
    '--failures-dir',
    failuresDir,
  ]);
}

describe('failure files and replay', () => {
  it('a failing run writes a failure file; replay fails the same way; --repeat counts', async () => {
    const failures = path.join(dir, 'failures');
    const r = await findLeakOnRemove(11, failures);
    expect(r.code).toBe(1);
    const files = await readdir(failures);
    expect(files).toHaveLength(1);
    const file = path.join(failures, files[0] as string);
    expect(files[0]).toMatch(/^\d{4}-\d\d-\d\dT.*_pool-matches-model_simulated_leak-on-remove_[0-9a-f]{4}\.json$/);
    expect(r.stdout).toContain(`replay: npm run replay -- ${file}`);
    const saved = JSON.parse(await readFile(file, 'utf8'));
    expect(saved).toMatchObject({
      version: 2,
      target: null,
      property: 'pool-matches-model',
      layer: 'simulated',
      variant: 'leak-on-remove',
    });
    // Found by one of the streams the runs were spread over: the file holds that stream's seed.
    expect(Array.from({ length: 16 }, (_, k) => streamSeed(11, k))).toContain(saved.seed);
    expect(saved.counterexample.length).toBeGreaterThan(0);

    const replay = await runCli('replay', [file]);
    expect(replay.code).toBe(1);
    expect(replay.stdout).toContain('still fails on the recorded schedule');
    expect(replay.stdout).toContain('reproduced 1/1 (100%), same counterexample 1/1');
    for (const step of saved.counterexample) expect(replay.stdout).toContain(step);

    const repeated = await runCli('replay', [file, '--repeat', '3']);
    expect(repeated.stdout).toContain('reproduced 3/3 (100%), same counterexample 3/3');
  });

  it('replay of a case that passes now exits 0 and says so', async () => {
    const file = path.join(dir, 'fixed.json');
    const regressions = path.join(process.cwd(), 'properties', 'regressions');
    // A variant's failure, replayed against the real pool (as a failure file of a bug since fixed is).
    const found = (await readdir(regressions)).find((f) => f.includes('uncounted-lock-waiters')) as string;
    const { digest: _digest, ...failure } = JSON.parse(await readFile(path.join(regressions, found), 'utf8'));
    await writeFile(file, JSON.stringify({ ...failure, variant: null }));
    const r = await runCli('replay', [file]);
    expect(r.code).toBe(0);
    expect(r.stdout).toContain('passes now');
    expect(r.stdout).toContain('reproduced 0/1');
  });

  it.each([
    ['truncated.json', '{"version": 1, "prop', /not valid JSON .*truncated/],
    ['future.json', '{"version": 99}', /schema version 99 is not one this tool knows/],
    ['not-object.json', '[1,2]', /expected a JSON object/],
    ['no-prop.json', null, /property "renamed" no longer exists/],
  ])('a bad file (%s) exits 2 naming the file and the problem', async (name, text, message) => {
    const file = path.join(dir, name);
    const regressions = path.join(process.cwd(), 'properties', 'regressions');
    const any = (await readdir(regressions)).find((f) => f.endsWith('.json')) as string;
    const content =
      text ??
      JSON.stringify({
        ...JSON.parse(await readFile(path.join(regressions, any), 'utf8')),
        property: 'renamed',
        digest: undefined,
      });
    await writeFile(file, content);
    const r = await runCli('replay', [file]);
    expect(r.code).toBe(2);
    expect(r.stderr).toContain(file);
    expect(r.stderr).toMatch(message);
  });

  it.each([
    [
      'options.addresses',
      { options: { maxCommands: 12, addresses: 1e9 } },
      /"options\.addresses" must be a whole number in 1\.\.16; got 1000000000/,
    ],
    [
      'options.maxCommands',
      { options: { maxCommands: -1, addresses: 2 } },
      /"options\.maxCommands" must be a whole number in 1\.\.200; got -1/,
    ],
    ['seed', { seed: 1.5 }, /"seed" must be a whole number in -2147483648\.\.2147483647; got 1\.5/],
    ['path', { path: '1:x' }, /"path" must be fast-check's replay path/],
  ])('a field out of range (%s) exits 2 naming the field and the range (issue 14.9)', async (_field, change, message) => {
    const regressions = path.join(process.cwd(), 'properties', 'regressions');
    const any = (await readdir(regressions)).find((f) => f.endsWith('.json')) as string;
    const file = path.join(dir, `bad-${_field}.json`);
    await writeFile(file, JSON.stringify({ ...JSON.parse(await readFile(path.join(regressions, any), 'utf8')), ...change }));
    const r = await runCli('replay', [file]);
    expect(r.code).toBe(2);
    expect(r.stderr).toContain(file);
    expect(r.stderr).toMatch(message);
  });

  it('an edited seed is reported as an edit, not blamed on changed generators (issue 14.9)', async () => {
    const failures = path.join(dir, 'edited-failures');
    const found = await findLeakOnRemove(12, failures);
    expect(found.code).toBe(1);
    const file = path.join(failures, (await readdir(failures))[0] as string);
    const saved = JSON.parse(await readFile(file, 'utf8'));
    expect(saved.digest).toMatch(/^[0-9a-f]{64}$/);
    await writeFile(file, JSON.stringify({ ...saved, seed: saved.seed + 1 }));
    const r = await runCli('replay', [file]);
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(/was edited after it was written/);
    expect(r.stderr).not.toMatch(/generators changed/);
  });

  it('a missing file exits 2', async () => {
    const r = await runCli('replay', [path.join(dir, 'nope.json')]);
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(/nope\.json: no such file/);
  });

  it('a different fast-check version warns, then replays', async () => {
    const regressions = path.join(process.cwd(), 'properties', 'regressions');
    const any = (await readdir(regressions)).find((f) => f.includes('lock-per-call')) as string;
    const file = path.join(dir, 'old-fc.json');
    await writeFile(
      file,
      JSON.stringify({ ...JSON.parse(await readFile(path.join(regressions, any), 'utf8')), fastCheckVersion: '3.0.0' }),
    );
    const r = await runCli('replay', [file]);
    expect(r.stderr).toMatch(/written with fast-check 3\.0\.0/);
    expect(r.code).toBe(1);
  });
});

describe('a time budget spent before the first run is "no runs", not a failure (issue 14.1)', () => {
  it('runCheck: fast-check interrupted before any run -> passed, interrupted, 0 runs, no error', async () => {
    const slow = fc.asyncProperty(fc.nat(), async () => {
      await new Promise((r) => setTimeout(r, 200));
    });
    const r = await runCheck(slow, {
      name: 'slow',
      layer: 'simulated',
      constraints: { timeLimitMs: 1, seed: 3 },
      runs: 5,
      shape: { maxCommands: 1, addresses: 1, runs: 5 },
    });
    expect(r).toMatchObject({ passed: true, interrupted: true, runs: 0, error: undefined, counterexample: undefined });
  });

  it('properties --time 1ms exits 0, says NO RUNS and writes no failure file', async () => {
    const failures = path.join(dir, 'no-runs-failures');
    const r = await runCli('properties', [
      '--layer',
      'live',
      '--time',
      '1ms',
      '--no-regressions',
      '--failures-dir',
      failures,
      '--workers',
      '1',
    ]);
    expect(r.stderr).toBe('');
    expect(r.code).toBe(0);
    expect(r.stdout).toMatch(/runs +0 .* NO RUNS \(stopped before the first run: time budget ran out, or interrupted\)/);
    expect(r.stdout).not.toMatch(/FAIL/);
    await expect(readdir(failures)).rejects.toThrow(/ENOENT/);
  });
});

describe('npm run properties: flags (issue 14.5, 14.8, 14.10)', () => {
  it.each([[['--seed', '-5']], [['--seed=-5']], [['--seed', '-2147483648']]])('%j: a negative seed is accepted', async (args) => {
    const r = await runCli('properties', [...args, '--layer', 'simulated', '--runs', '1', '--no-regressions', '--workers', '1']);
    expect(r.stderr).toBe('');
    expect(r.code).toBe(0);
    expect(r.stdout.split('\n')[0]).toMatch(/^seed -\d+ {2}layers simulated$/);
  });

  it('--seed out of range names the range', async () => {
    const r = await runCli('properties', ['--seed', '-2147483649']);
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(/--seed must be in -2147483648\.\.2147483647/);
  });

  it.each(['properties', 'fuzz', 'fuzz-merge', 'replay', 'self-check', 'bench', 'serve'])(
    '%s -h is --help (and names every flag, or the CLI would refuse to start)',
    async (name) => {
      const short = await runCli(name, ['-h']);
      const long = await runCli(name, ['--help']);
      expect(short.stderr).toBe('');
      expect(short.code).toBe(0);
      expect(short.stdout).toBe(long.stdout);
      expect(short.stdout).toMatch(/^Usage: npm run /);
      expect(short.stdout).toMatch(/-h, --help/);
      expect(short.stdout).toMatch(/Exit codes/);
    },
  );

  it('--target with --property keys-isolate is refused: that property needs servers it starts itself', async () => {
    const r = await runCli('properties', ['--target', '127.0.0.1:1', '--property', 'keys-isolate']);
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(/--property keys-isolate cannot run against --target/);
  });
});

describe('npm run properties: output paths are checked before the run (issue 14.4)', () => {
  it('writeFileAtomic leaves no temp file behind when the rename fails', async () => {
    const target = path.join(dir, 'a-folder');
    await mkdir(target, { recursive: true });
    await expect(writeFileAtomic(target, 'x')).rejects.toThrow(/EISDIR|EEXIST|ENOTEMPTY/);
    expect((await readdir(dir)).filter((n) => n.endsWith('.tmp'))).toEqual([]);
  });

  it.each([
    ['--json under a file', (f: string) => ['--json', path.join(f, 'out.json')], /--json .*is a file, not a folder/],
    ['--json a folder', (_f: string) => ['--json', dir], /--json .*is a folder; give a file name/],
    ['--failures-dir under a file', (f: string) => ['--failures-dir', path.join(f, 'sub')], /--failures-dir .*is a file/],
  ])('%s exits 3 with a message, before running anything, leaving no temp file', async (_name, args, message) => {
    const file = path.join(dir, 'a-file');
    await writeFile(file, 'x');
    const r = await runCli('properties', [
      ...args(file),
      '--layer',
      'simulated',
      '--runs',
      '1',
      '--no-regressions',
      '--workers',
      '1',
    ]);
    expect(r.code).toBe(3);
    expect(r.stderr).toMatch(message);
    expect(r.stdout).toBe('');
    expect((await readdir(dir)).filter((n) => n.endsWith('.tmp'))).toEqual([]);
  });
});

describe('npm run properties: stopping early (issue 14.2, 14.3)', () => {
  it('SIGINT stops the run, writes --json marked interrupted and exits 130', async () => {
    const json = path.join(dir, 'interrupted.json');
    const run = startCli('properties', ['--layer', 'live', '--runs', '5000', '--no-regressions', '--json', json]);
    await run.waitFor(/^seed /m);
    await new Promise((r) => setTimeout(r, 1_000));
    const sent = Date.now();
    run.child.kill('SIGINT');
    expect(await run.exited).toBe(130);
    // Promptly: well before the 10 s after which a stop waits for nothing (a live run's 2 s and the
    // workers' closing, on a loaded machine).
    expect(Date.now() - sent).toBeLessThan(9_000);
    expect(run.stdout()).toMatch(/interrupted by SIGINT/);
    expect(JSON.parse(await readFile(json, 'utf8'))).toMatchObject({ interrupted: 'SIGINT' });
  });

  it('SIGTERM exits 143', async () => {
    const run = startCli('properties', ['--layer', 'live', '--runs', '5000', '--no-regressions']);
    await run.waitFor(/^seed /m);
    run.child.kill('SIGTERM');
    expect(await run.exited).toBe(143);
  });

  it('stdout closed (piped into head) exits quietly with 141, no stack trace', async () => {
    const run = startCli('properties', ['--layer', 'simulated', '--runs', '100000', '--time', '2s', '--no-regressions']);
    await run.waitFor(/^seed /m);
    run.child.stdout?.destroy();
    expect(await run.exited).toBe(141);
    expect(run.stderr()).not.toMatch(/EPIPE|\n\s+at /);
  });
});
