import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { checkParallelProperty } from './parallel/parallel-property.js';
import { replayFile, saveFailure } from './replay.js';
import { findVariant } from './variants/index.js';

let dir: string;
beforeAll(async () => {
  dir = await mkdtemp(path.join(tmpdir(), 'replay-'));
});
afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

describe('replay runs the recorded schedule first', () => {
  it('a parallel failure file replays the failing history event for event', async () => {
    const variant = findVariant('close-keys-live-while-closing');
    const found = await checkParallelProperty({ layer: 'simulated', variant, seed: 5, runs: 2_000 });
    expect(found.passed).toBe(false);
    expect(found.failingHistory?.length).toBeGreaterThan(0);
    const file = await saveFailure(dir, found);

    const replayed = await replayFile(file);
    expect(replayed.reproduced).toBe(true);
    expect(replayed.onRecordedSchedule).toBe(true);
    expect(replayed.result.failingHistory).toEqual(found.failingHistory);

    // The same program on the schedules of other runs: another history each time, or a pass. Were the
    // schedule not what decides the history, the check above would hold by construction.
    const steps = found.counterexample ?? [];
    const run = Number(found.path?.split(':')[0]);
    for (const other of [run + 1, run + 2, run + 3]) {
      const r = await checkParallelProperty({
        layer: 'simulated',
        variant,
        seed: found.seed,
        path: String(other),
        steps,
        runs: 1,
      });
      expect(r.passed ? 'passed' : r.failingHistory).not.toEqual(found.failingHistory);
    }
  });
});
