import { mkdir, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runCli } from './run-cli.js';

// Fixed before collection: the it.each table below names files in it.
const dir = path.join(tmpdir(), `check-history-cli-${process.pid}`);
const event = (p: number, type: string, f: string, value: string) => `INFO  jepsen.util - ${p}\t:${type}\t:${f}\t${value}`;
// A write seen by a later read, then an unknown-outcome cas: linearizable.
const GOOD = [
  'INFO jepsen.core - some other line',
  event(0, 'invoke', 'write', '1'),
  event(0, 'ok', 'write', '1'),
  event(1, 'invoke', 'read', 'nil'),
  event(1, 'ok', 'read', '1'),
  event(2, 'invoke', 'cas', '[1 2]'),
  event(2, 'info', 'cas', ':timed-out'),
].join('\n');
// The read returns a value overwritten before it was called: not linearizable.
const BAD = [
  event(0, 'invoke', 'write', '1'),
  event(0, 'ok', 'write', '1'),
  event(0, 'invoke', 'write', '2'),
  event(0, 'ok', 'write', '2'),
  event(1, 'invoke', 'read', 'nil'),
  event(1, 'ok', 'read', '1'),
].join('\n');

beforeAll(async () => {
  await mkdir(dir, { recursive: true });
  await writeFile(path.join(dir, 'good.log'), GOOD);
  await writeFile(path.join(dir, 'bad.log'), BAD);
  await writeFile(path.join(dir, 'broken.log'), `${GOOD}\n${event(3, 'invoke', 'cas', '[1]')}\n`);
});
afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

const at = (name: string) => path.join(dir, name);
const FORMAT = ['--format', 'jepsen-register'];

describe('npm run check-history', () => {
  it('--help lists every flag and the exit codes', async () => {
    const run = await runCli('check-history', ['-h']);
    expect(run.code).toBe(0);
    for (const flag of ['--format', 'jepsen-register', '--json', '--html', '--timeout', '--help', 'Exit codes']) {
      expect(run.stdout).toContain(flag);
    }
  });

  it('exits 0 when every history is linearizable', async () => {
    const run = await runCli('check-history', [...FORMAT, at('good.log')]);
    expect(run.code).toBe(0);
    expect(run.stdout).toMatch(/good\.log: linearizable \(\d+\.\d ms, 3 operations\)/);
  });

  it('exits 1 on a violation, names the stuck operation, writes JSON and one HTML timeline', async () => {
    const json = at('report.json');
    const html = at('timelines');
    const run = await runCli('check-history', [
      ...FORMAT,
      at('good.log'),
      at('bad.log'),
      '--json',
      json,
      '--html',
      html,
      '--timeout',
      '10s',
    ]);
    expect(run.code).toBe(1);
    expect(run.stdout).toContain('bad.log: not linearizable');
    expect(run.stdout).toContain('stuck after 2 of 3 operations, state value 2; none of these could be placed next:');
    expect(run.stdout).toContain('client 1: read() -> 1 (op #2, call 5, return 6)');
    expect(run.stdout).toContain('2 histories: 1 linearizable, 1 not, 0 unknown');
    const report = JSON.parse(await readFile(json, 'utf8'));
    expect(report.summary).toEqual({ files: 2, linearizable: 1, notLinearizable: 1, unknown: 0 });
    expect(report.timeoutMs).toBe(10_000);
    expect(report.files[1].stuck[0].ops[0]).toMatchObject({ id: 2, client: '1', operation: 'read() -> 1', call: 5, ret: 6 });
    expect(await readdir(html)).toEqual(['bad.html']);
    expect(await readFile(path.join(html, 'bad.html'), 'utf8')).toContain('not linearizable');
  });

  it.each([
    [['--bogus'], /Unknown option '--bogus'/],
    [[at('good.log')], /--format is required; known formats: jepsen-register/],
    [['--format', 'edn', at('good.log')], /unknown --format "edn"; known formats: jepsen-register/],
    [FORMAT, /give at least one history FILE/],
    [[...FORMAT, at('missing.log')], /cannot read history .*missing\.log: no such file; check the path/],
    [[...FORMAT, at('good.log'), '--timeout', 'soon'], /--timeout takes a positive duration/],
    [[...FORMAT, at('broken.log')], /malformed history: .*broken\.log:8: :cas takes \[FROM TO\], got "\[1\]"/],
  ])('exits 2 on bad usage: %j', async (args, message) => {
    const run = await runCli('check-history', args);
    expect(run.code).toBe(2);
    expect(run.stderr).toMatch(message);
    expect(run.stderr).not.toMatch(/\n\s+at /);
  });

  it('exits 3 on an unwritable output, before checking anything', async () => {
    const noFolder = await runCli('check-history', [...FORMAT, at('bad.log'), '--json', at('nowhere/r.json')]);
    expect(noFolder.code).toBe(3);
    expect(noFolder.stderr).toMatch(/cannot write --json .*: folder .*nowhere does not exist; create it first/);
    expect(noFolder.stdout).toBe('');
    const folder = await runCli('check-history', [...FORMAT, at('bad.log'), '--json', dir]);
    expect(folder.code).toBe(3);
    expect(folder.stderr).toContain('is a folder; give a file name');
  });
});
