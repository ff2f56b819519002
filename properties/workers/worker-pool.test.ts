import { spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { TS_NODE_ARGS } from '../../src/loader/node-args.js';
import type { PropertyResult } from '../check-runner.js';
import { checkPoolProperty } from '../pool-property.js';
import { findVariant } from '../variants/index.js';
import {
  checkOnWorkers,
  mergeStreamResults,
  PropertyWorkers,
  streamSeed,
  timeLeft,
  WorkerCheckError,
  WorkerCrashError,
} from './worker-pool.js';

const SEED = 20_261_127;

function result(over: Partial<PropertyResult>): PropertyResult {
  return {
    property: 'p',
    layer: 'simulated',
    variant: undefined,
    passed: true,
    interrupted: false,
    runs: 10,
    seed: 1,
    wallMs: 100,
    path: undefined,
    commandsReplayPath: undefined,
    counterexample: undefined,
    lastSteps: undefined,
    error: undefined,
    shrinks: 0,
    fastCheckVersion: 'x',
    constraints: { maxCommands: 12, addresses: 2, runs: 10 },
    ...over,
  };
}

describe('mergeStreamResults', () => {
  it('adds up the streams of a pass, weighs run lengths by the runs measured, and keeps the base seed', () => {
    const merged = mergeStreamResults(
      [
        result({
          seed: 11,
          runs: 10,
          runLengths: { mean: 2, max: 4, emptyShare: 0.5, total: 20, count: 10 },
          commandCounts: { add: 3 },
        }),
        result({
          seed: 12,
          runs: 30,
          runLengths: { mean: 6, max: 9, emptyShare: 0, total: 180, count: 30 },
          commandCounts: { add: 1, remove: 2 },
        }),
      ],
      7,
      250,
    );
    expect(merged).toMatchObject({ passed: true, seed: 7, runs: 40, wallMs: 250, commandCounts: { add: 4, remove: 2 } });
    expect(merged.runLengths).toEqual({ mean: 5, max: 9, emptyShare: 0.125, total: 200, count: 40 });
  });

  it('reports the first failing stream: its seed, path and counterexample replay it', () => {
    const merged = mergeStreamResults(
      [
        result({ seed: 11, runs: 10, interrupted: true }),
        result({ seed: 12, runs: 3, passed: false, path: '2:0', counterexample: ['add(0)'], error: 'boom' }),
        result({ seed: 13, runs: 5, passed: false, path: '4:1', error: 'later' }),
      ],
      7,
      250,
    );
    expect(merged).toMatchObject({ passed: false, seed: 12, path: '2:0', counterexample: ['add(0)'], error: 'boom', runs: 18 });
    // The others were cut short by the failure: that is not a time budget running out.
    expect(merged.interrupted).toBe(false);
  });
});

describe('mergeStreamResults: which failure', () => {
  it('prefers the stream whose failure came back first (it shrank to the end; the others were cut short)', () => {
    const merged = mergeStreamResults(
      [
        result({ seed: 11, passed: false, interrupted: true, path: '0:0', error: 'cut short' }),
        result({ seed: 12, passed: false, path: '3:1:1', error: 'shrunk' }),
      ],
      7,
      100,
      1,
    );
    expect(merged).toMatchObject({ seed: 12, path: '3:1:1', error: 'shrunk', interrupted: false });
  });
});

describe('timeLeft', () => {
  it('takes off the time since the check was asked for, never below 1 ms; no limit stays none', () => {
    expect(timeLeft(10_000, 5_000, 8_000)).toBe(7_000);
    expect(timeLeft(10_000, 5_000, 20_000)).toBe(1);
    // A clock that went back is no reason to give more than the limit.
    expect(timeLeft(10_000, 5_000, 4_000)).toBe(10_000);
    expect(timeLeft(undefined, 5_000, 8_000)).toBeUndefined();
  });
});

describe('PropertyWorkers (worker processes)', () => {
  let workers: PropertyWorkers;
  beforeAll(() => {
    workers = PropertyWorkers.start(2);
  });
  afterAll(async () => {
    await workers.close();
  });

  it('spreads a check over the workers: every run is made, each stream with its own seed', async () => {
    const r = await checkOnWorkers(workers, 'pool-matches-model', { layer: 'simulated', runs: 400, seed: SEED });
    expect(r.error).toBeUndefined();
    expect(r).toMatchObject({ passed: true, runs: 400, seed: SEED, workers: 2 });
    expect(r.runLengths?.count).toBeGreaterThanOrEqual(400);
  });

  it('a failure found in a worker replays in this process from the seed and path it reports', async () => {
    const variant = findVariant('lock-per-call');
    expect(variant).toBeDefined();
    const r = await checkOnWorkers(workers, 'pool-matches-model', { layer: 'simulated', runs: 2_000, seed: SEED, variant });
    expect(r.passed).toBe(false);
    // The failing stream's own seed, one of the streams', not necessarily the base seed.
    expect(Array.from({ length: 8 }, (_, k) => streamSeed(SEED, k))).toContain(r.seed);
    const again = await checkPoolProperty({
      layer: 'simulated',
      seed: r.seed,
      path: r.path,
      commandsReplayPath: r.commandsReplayPath,
      variant,
      runs: 1,
    });
    expect(again.passed).toBe(false);
    expect(again.error).toBe(r.error);
  });

  it('an interrupt ends a long check after its current run, with the runs it made', async () => {
    const started = performance.now();
    const interruptAt = started + 1_500;
    const r = await checkOnWorkers(workers, 'pool-matches-model', {
      layer: 'simulated',
      runs: 10_000_000,
      seed: SEED,
      interruptWhen: () => performance.now() > interruptAt,
    });
    expect(r.passed).toBe(true);
    expect(r.interrupted).toBe(true);
    expect(r.runs).toBeGreaterThan(0);
    expect(r.runs).toBeLessThan(10_000_000);
  });

  it('keeps to the time budget of the whole check, not of each stream', async () => {
    const r = await checkOnWorkers(workers, 'pool-matches-model', {
      layer: 'simulated',
      runs: 10_000_000,
      seed: SEED,
      timeLimitMs: 1_000,
    });
    expect(r).toMatchObject({ passed: true, interrupted: true });
    // Generous for a loaded machine: eight streams each given the whole second would take 4 s or more.
    expect(r.wallMs).toBeLessThan(3_500);
  });

  it('a time limit counts from when the check was asked for, not from when a starting worker took it up', async () => {
    // A worker that is still loading (the TypeScript loader, grpc-js: a few hundred ms at least) when the check is asked.
    const fresh = PropertyWorkers.start(1);
    try {
      const r = await fresh.run('pool-matches-model', { layer: 'simulated', runs: 10_000_000, seed: SEED, timeLimitMs: 1_000 });
      expect(r).toMatchObject({ passed: true, interrupted: true });
      // The worker's own check time is what was left of the second once it had loaded (it took the
      // whole second on top of its loading before: a 10 s fuzz ran 15 s with four workers starting).
      expect(r.wallMs).toBeLessThan(1_000);
    } finally {
      await fresh.close();
    }
  });

  it('a check that throws in a worker comes back as an error with its message', async () => {
    await expect(workers.run('no-such-property', { layer: 'simulated', runs: 1 })).rejects.toThrow(WorkerCheckError);
    await expect(workers.run('no-such-property', { layer: 'simulated', runs: 1 })).rejects.toThrow(/no property named/);
  });

  it('a main process that never closes its workers still exits when its work is done', async () => {
    const script = [
      "const { PropertyWorkers } = await import('./properties/workers/worker-pool.ts');",
      'const w = PropertyWorkers.start(2);',
      "const r = await w.run('pool-matches-model', { layer: 'simulated', runs: 5, seed: 1 });",
      "console.log('ran', r.runs);",
    ].join('\n');
    const child = spawn(process.execPath, [...TS_NODE_ARGS, '--input-type=module', '-e', script], {
      cwd: fileURLToPath(new URL('../..', import.meta.url)),
      stdio: ['ignore', 'pipe', 'inherit'],
    });
    let out = '';
    child.stdout?.on('data', (d) => {
      out += d;
    });
    const code = await new Promise<number | string>((resolve) => {
      const timer = setTimeout(() => {
        child.kill('SIGKILL');
        resolve('still running after 30 s');
      }, 30_000);
      child.once('exit', (c) => {
        clearTimeout(timer);
        resolve(c ?? -1);
      });
    });
    expect(code).toBe(0);
    expect(out).toContain('ran 5');
  });

  it('closing the workers while a check runs rejects it as cut off, and nothing runs after', async () => {
    const own = PropertyWorkers.start(1);
    const running = own.run('pool-matches-model', { layer: 'simulated', runs: 10_000_000, seed: SEED });
    await new Promise((resolve) => setTimeout(resolve, 1_000));
    await own.close();
    await expect(running).rejects.toThrow(WorkerCrashError);
    await expect(own.run('pool-matches-model', { layer: 'simulated', runs: 1 })).rejects.toThrow(/closed/);
  });
});
