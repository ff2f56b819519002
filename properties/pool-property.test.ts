import { describe, expect, it } from 'vitest';
import { readableSteps } from './check-runner.js';
import { checkKeysProperty } from './keys-property.js';
import { checkPoolProperty } from './pool-property.js';

// Fixed seeds keep `npm test` reproducible; `npm run properties` and the nightly fuzz explore fresh ones.
const SEED = 20_261_127;

describe('keys-isolate on the real pool (CI size)', () => {
  it.each(['simulated', 'live'] as const)('passes on the %s layer', async (layer) => {
    const r = await checkKeysProperty({ layer, runs: layer === 'live' ? 40 : 400, seed: SEED });
    expect(r.error).toBeUndefined();
    expect(r.passed).toBe(true);
  });
});

describe('pool-matches-model on the real pool (CI size)', () => {
  it('passes on the simulated layer, and --max-commands means what it says', async () => {
    const r = await checkPoolProperty({ layer: 'simulated', runs: 600, seed: SEED, maxCommands: 20 });
    expect(r.error).toBeUndefined();
    expect(r).toMatchObject({ passed: true, runs: 600 });
    // fast-check's default size never made more than 10 commands.
    expect(r.runLengths?.max).toBeGreaterThan(10);
    expect(r.runLengths?.max).toBeLessThanOrEqual(20);
  });

  it('passes on the live layer (real servers on loopback)', async () => {
    const r = await checkPoolProperty({ layer: 'live', runs: 60, seed: SEED });
    expect(r.error).toBeUndefined();
    expect(r).toMatchObject({ passed: true, runs: 60 });
  });
});

describe('readableSteps', () => {
  it('splits fast-check commands text on top-level commas only', () => {
    expect(readableSteps('add(0),wave([0,1], 2x1, delay=0ms),remove(1) /*replayPath="AB:C"*/')).toEqual([
      'add(0)',
      'wave([0,1], 2x1, delay=0ms)',
      'remove(1)',
    ]);
  });
});
