import { mkdtemp, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import * as grpc from '@grpc/grpc-js';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { TestServer } from '../src/server/test-server.js';
import { runCli } from './run-cli.js';

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
    const r = await runCli('properties', ['--target', s.address, '--runs', '15', '--seed', '5']);
    expect(r.stderr).toBe('');
    expect(r.code).toBe(0);
    expect(r.stdout).toMatch(/^seed 5 {2}layers live {2}target 127\.\d+\.\d+\.\d+:\d+$/m);
    expect(r.stdout).toMatch(/pool-matches-model \[live\] +runs +15 .* PASS/);
    // The run closed everything it opened on the target.
    await s.ledger.waitUntil((l) => l.openConnections === 0, 5_000, 'target left with no connections');
  });
});

describe('failure files and replay', () => {
  it('a failing run writes a failure file; replay fails the same way; --repeat counts', async () => {
    const failures = path.join(dir, 'failures');
    const r = await runCli('properties', [
      '--layer',
      'simulated',
      '--property',
      'pool-matches-model',
      '--against',
      'leak-on-remove',
      '--seed',
      '11',
      '--runs',
      '300',
      '--failures-dir',
      failures,
    ]);
    expect(r.code).toBe(1);
    const files = await readdir(failures);
    expect(files).toHaveLength(1);
    const file = path.join(failures, files[0] as string);
    expect(files[0]).toMatch(/^\d{4}-\d\d-\d\dT.*_pool-matches-model_simulated_leak-on-remove_[0-9a-f]{4}\.json$/);
    expect(r.stdout).toContain(`replay: npm run replay -- ${file}`);
    const saved = JSON.parse(await readFile(file, 'utf8'));
    expect(saved).toMatchObject({
      version: 1,
      property: 'pool-matches-model',
      layer: 'simulated',
      variant: 'leak-on-remove',
      seed: 11,
    });
    expect(saved.counterexample.length).toBeGreaterThan(0);

    const replay = await runCli('replay', [file]);
    expect(replay.code).toBe(1);
    expect(replay.stdout).toContain('still fails, with the same counterexample');
    for (const step of saved.counterexample) expect(replay.stdout).toContain(step);

    const repeated = await runCli('replay', [file, '--repeat', '3']);
    expect(repeated.stdout).toContain('reproduced 3/3 (100%), same counterexample 3/3');
  });

  it('replay of a case that passes now exits 0 and says so', async () => {
    const file = path.join(dir, 'fixed.json');
    const regressions = path.join(process.cwd(), 'properties', 'regressions');
    const fixed = (await readdir(regressions)).find((f) => f.includes('reused-uncounted')) as string;
    await writeFile(file, await readFile(path.join(regressions, fixed)));
    const r = await runCli('replay', [file]);
    expect(r.code).toBe(0);
    expect(r.stdout).toContain('passes now');
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
      text ?? JSON.stringify({ ...JSON.parse(await readFile(path.join(regressions, any), 'utf8')), property: 'renamed' });
    await writeFile(file, content);
    const r = await runCli('replay', [file]);
    expect(r.code).toBe(2);
    expect(r.stderr).toContain(file);
    expect(r.stderr).toMatch(message);
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
