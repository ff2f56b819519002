import { mkdir, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ROOT, runCli } from './run-cli.js';

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

// The json format (docs/checker.md): a put, then a get that misses it on key y, an unknown append on x.
const jsonOp = (id: number, client: string, input: object, output: object | null, call: number, ret: number | null) => ({
  id,
  client,
  input,
  output,
  call,
  ret,
});
const JSON_OPS = [
  jsonOp(0, 'a', { kind: 'put', key: 'y', value: 'v' }, { kind: 'put' }, 0, 1),
  jsonOp(1, 'b', { kind: 'append', key: 'x', value: '+' }, null, 0, null),
  jsonOp(2, 'b', { kind: 'get', key: 'x' }, { kind: 'get', value: '+' }, 3, 4),
];
const JSON_GOOD = JSON.stringify({ model: 'kv', operations: JSON_OPS }, null, 2);
const JSON_BAD = JSON.stringify(
  { model: 'kv', operations: [...JSON_OPS, jsonOp(3, 'c', { kind: 'get', key: 'y' }, { kind: 'get', value: '' }, 5, 6)] },
  null,
  2,
);
const KV = path.join(ROOT, 'test-data', 'porcupine-kv');

beforeAll(async () => {
  await mkdir(dir, { recursive: true });
  await writeFile(path.join(dir, 'good.log'), GOOD);
  await writeFile(path.join(dir, 'bad.log'), BAD);
  await writeFile(path.join(dir, 'broken.log'), `${GOOD}\n${event(3, 'invoke', 'cas', '[1]')}\n`);
  await writeFile(path.join(dir, 'good.json'), JSON_GOOD);
  await writeFile(path.join(dir, 'bad.json'), JSON_BAD);
  await writeFile(path.join(dir, 'broken.json'), JSON_GOOD.replace('"kind": "put",', '"kind": "cas",'));
  await writeFile(
    path.join(dir, 'broken-kv.txt'),
    '{:process 0, :type :invoke, :f :get, :key "k", :value nil}\n{:process 0, :type :ok, :f :get, :key "k", :value 3}\n',
  );
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
    for (const flag of [
      '--format',
      'jepsen-register',
      'porcupine-kv',
      'json',
      '--json',
      '--html',
      '--timeout',
      '--max-states',
      '--help',
      'Exit codes',
    ]) {
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
    [[at('good.log')], /known formats: jepsen-register, porcupine-kv, json/],
    [[...FORMAT, at('good.log'), '--max-states', '0'], /--max-states must be in 1\.\.16000000; got 0/],
    [
      ['--format', 'porcupine-kv', at('broken-kv.txt')],
      /malformed history: .*broken-kv\.txt:2: :ok :get takes a string :value, got 3/,
    ],
    [
      ['--format', 'json', at('broken.json')],
      /malformed history: .*broken\.json:4: operations\[0\]: input\.kind must be one of "get", "put", "append", got "cas"/,
    ],
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

  it('porcupine-kv: checks key by key, names the illegal key and leaves the rest not checked', async () => {
    const json = at('kv-report.json');
    const run = await runCli('check-history', [
      '--format',
      'porcupine-kv',
      path.join(KV, 'c01-ok.txt'),
      path.join(KV, 'c10-bad.txt'),
      '--json',
      json,
    ]);
    expect(run.code).toBe(1);
    expect(run.stdout).toMatch(/c01-ok\.txt: linearizable \(\d+\.\d ms, 58 operations\)/);
    // c10-bad has keys "0" to "9"; the first illegal one ends the search.
    expect(run.stdout).toMatch(/c10-bad\.txt: not linearizable \(\d+\.\d ms, 405 operations; [1-9] of 10 parts not checked\)/);
    expect(run.stdout).toMatch(
      /\n {2}part "\d": stuck after \d+ of \d+ operations, state value "[^"]*"; none of these could be placed next:\n {4}client \d+: get\("\d"\) -> "/,
    );
    const report = JSON.parse(await readFile(json, 'utf8'));
    expect(report.maxStates).toBe(4_000_000);
    const labels = report.files[1].partitions.map((p: { label: string }) => p.label);
    expect(labels).toEqual(['0', '1', '2', '3', '4', '5', '6', '7', '8', '9']);
    const results = report.files[1].partitions.map((p: { result: string }) => p.result);
    expect(results.filter((r: string) => r === 'not-linearizable')).toHaveLength(1);
    expect(results).toContain('not-checked');
    expect(report.files[1].stuck[0].label).toMatch(/^\d$/);
  });

  it('porcupine-kv: a tiny --max-states answers unknown (memory), exit 1', async () => {
    const run = await runCli('check-history', ['--format', 'porcupine-kv', path.join(KV, 'c50-ok.txt'), '--max-states', '50']);
    expect(run.code).toBe(1);
    expect(run.stdout).toMatch(/c50-ok\.txt: unknown \(memory bound reached\) \(\d+\.\d ms, 1712 operations\)/);
    expect(run.stderr).toBe('');
  });

  it('json: exit 0 on a linearizable history, 1 on an illegal one, naming the key and the operation', async () => {
    const good = await runCli('check-history', ['--format', 'json', at('good.json')]);
    expect(good.code).toBe(0);
    expect(good.stdout).toMatch(/good\.json: linearizable \(\d+\.\d ms, 3 operations\)/);
    const bad = await runCli('check-history', ['--format', 'json', at('bad.json')]);
    expect(bad.code).toBe(1);
    expect(bad.stdout).toContain('bad.json: not linearizable');
    expect(bad.stdout).toContain('part "y": stuck after 1 of 2 operations, state value "v"; none of these could be placed next:');
    expect(bad.stdout).toContain('client c: get("y") -> "" (op #3, call 5, return 6)');
  });
});
