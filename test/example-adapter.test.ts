import { mkdtemp, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
// Imported (for its name) so that the project's typecheck covers the example too: tsconfig.json
// does not include examples/, but tsc checks every file a checked file imports.
import example from '../examples/my-pool-adapter.js';
import { ROOT, runCli } from './run-cli.js';

/** The example as a user names it on the command line (relative to the project, where the CLI runs). */
const EXAMPLE = './examples/my-pool-adapter.ts';
/** A line of a stack trace: a bad adapter file must be said in a sentence, not shown as a crash. */
const STACK_LINE = /^\s+at /m;

interface JsonResult {
  readonly property: string;
  readonly passed: boolean;
  readonly runs: number;
  readonly skipped?: string;
  readonly pool?: string;
}

let dir: string;
beforeAll(async () => {
  dir = await mkdtemp(path.join(tmpdir(), 'example-adapter-'));
});
afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

describe('examples/my-pool-adapter.ts, run as a user runs it', () => {
  it('passes on the simulated layer, and what its pool cannot express is skipped, saying why', async () => {
    const json = path.join(dir, 'results.json');
    const r = await runCli('properties', [
      ...['--pool', EXAMPLE, '--layer', 'simulated', '--no-regressions', '--runs', '200', '--json', json],
      ...['--failures-dir', path.join(dir, 'failures')],
    ]);
    expect(r.stderr).toBe('');
    expect(r.code).toBe(0);
    expect(r.stdout).toContain(`pool ${example.name}: ${example.description}`);
    const { results } = JSON.parse(await readFile(json, 'utf8')) as { results: JsonResult[] };
    const result = (property: string) => results.find((x) => x.property === property);

    expect(result('pool-linearizable')).toMatchObject({ passed: true, pool: path.join(ROOT, EXAMPLE) });
    expect(result('pool-linearizable')?.runs).toBeGreaterThan(0);
    expect(result('pool-linearizable')?.skipped).toBeUndefined();
    // Skipped for the pool: the step-by-step model describes one connection per key, with counters.
    expect(result('pool-matches-model')?.runs).toBe(0);
    expect(result('pool-matches-model')?.skipped).toMatch(/its contract \(2 connection\(s\) per key.*does not offer stats/);
    // Skipped for the pool: its keys are addresses alone.
    expect(result('keys-isolate')?.runs).toBe(0);
    expect(result('keys-isolate')?.skipped).toMatch(/does not offer keyOptions/);
    // Skipped for the layer: live only.
    for (const p of ['connectivity-spec', 'transport-limits', 'environment-lifecycle']) {
      expect(result(p)?.runs).toBe(0);
      expect(result(p)?.skipped).toMatch(/simulated network/);
    }
    expect(r.stdout.match(/SKIPPED: /g)).toHaveLength(5);
  });

  it('a broken copy (close that does not drain, declaring drains: true) fails, saves a failure file naming its pool, and replays', async () => {
    // The example's pool behind an adapter whose close() closes every connection at once, calls in
    // flight or not, while it still declares the example's contract (drains: true).
    const broken = path.join(dir, 'fast-close-adapter.ts');
    await writeFile(
      broken,
      `import type { Connection, Connector } from ${JSON.stringify(path.join(ROOT, 'src/pool/connector.js'))};
import type { PoolAdapter } from ${JSON.stringify(path.join(ROOT, 'properties/adapter/adapter.js'))};
import example, { RoundRobinPool } from ${JSON.stringify(path.join(ROOT, 'examples/my-pool-adapter.ts'))};

const adapter: PoolAdapter = {
  ...example,
  name: 'round-robin-fast-close',
  create(context) {
    const open = new Set<Connection>();
    const connector: Connector = {
      connect: async (target) => {
        const c = await context.connector.connect(target);
        open.add(c);
        return c;
      },
      close: (c) => (open.delete(c) ? context.connector.close(c) : Promise.resolve()),
      call: (c, request, deadlineMs) => context.connector.call(c, request, deadlineMs),
      health: (c, service, deadlineMs) => context.connector.health(c, service, deadlineMs),
    };
    const pool = new RoundRobinPool({ connector, deadlineMs: context.deadlineMs });
    return {
      get isClosed() {
        return pool.isClosed;
      },
      add: (address) => pool.add(address),
      remove: (address) => pool.remove(address),
      call: (address, request, options) => pool.call(address, request, options?.deadlineMs),
      health: (address, options) => pool.health(address, options?.deadlineMs),
      // The bug: "close fast" by closing every connection now, not after the calls on it end.
      close: async () => {
        const closing = pool.close();
        await Promise.all([...open].map((c) => connector.close(c)));
        await closing;
      },
    };
  },
};
export default adapter;
`,
    );
    const failures = path.join(dir, 'broken-failures');
    const r = await runCli('properties', [
      ...['--pool', broken, '--layer', 'simulated', '--no-regressions', '--property', 'pool-linearizable'],
      ...['--runs', '200', '--seed', '1', '--failures-dir', failures],
    ]);
    expect(r.code).toBe(1);
    expect(r.stdout).toMatch(/^pool round-robin-fast-close: /m);
    expect(r.stdout).toMatch(
      /connection #\d+ began closing while \S+ \w+\(\d*\) was in flight on it: the contract says remove and close drain first/,
    );
    const files = (await readdir(failures)).filter((f) => f.endsWith('.json'));
    expect(files).toHaveLength(1);
    const file = path.join(failures, files[0] as string);
    const saved = JSON.parse(await readFile(file, 'utf8'));
    expect(saved).toMatchObject({ property: 'pool-linearizable', layer: 'simulated', variant: null, pool: broken });
    expect(saved.counterexample.length).toBeGreaterThan(0);

    // The file records the pool: replay runs the case on it again, with no --pool.
    const replay = await runCli('replay', [file]);
    expect(replay.code).toBe(1);
    expect(replay.stdout).toContain('still fails on the recorded schedule');
    expect(replay.stdout).toMatch(/began closing while .* was in flight on it/);
  });
});

describe('a bad --pool file exits 2 with a sentence naming the file and the problem', () => {
  it('an adapter without `contract`', async () => {
    const file = path.join(dir, 'no-contract.ts');
    await writeFile(
      file,
      `export default {
  name: 'no-contract',
  description: 'declares features but no contract',
  features: { add: true, remove: true, stats: false, health: true, keyOptions: false, seam: true, metrics: false },
  create() {
    throw new Error('never made: the adapter is refused before any run');
  },
};
`,
    );
    const r = await runCli('properties', ['--pool', file, '--layer', 'simulated', '--no-regressions']);
    expect(r.code).toBe(2);
    expect(r.stderr).toContain(file);
    expect(r.stderr).toContain('`contract` is missing');
    expect(r.stderr).not.toMatch(STACK_LINE);
    expect(r.stdout).not.toMatch(/runs /);
  });

  it('a path where there is no file', async () => {
    const file = path.join(dir, 'does-not-exist.ts');
    const r = await runCli('properties', ['--pool', file, '--layer', 'simulated', '--no-regressions']);
    expect(r.code).toBe(2);
    expect(r.stderr).toContain(file);
    expect(r.stderr).toMatch(/Cannot find module|no such file/);
    expect(r.stderr).not.toMatch(STACK_LINE);
  });
});
