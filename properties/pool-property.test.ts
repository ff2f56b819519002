import { describe, expect, it } from 'vitest';
import { checkPoolProperty, readableSteps } from './pool-property.js';
import { VARIANTS } from './variants/index.js';

// Fixed seeds keep `npm test` reproducible; `npm run properties` and the nightly fuzz explore fresh ones.
const SEED = 20_261_127;

describe('pool-matches-model on the real pool (CI size)', () => {
  it('passes on the simulated layer', async () => {
    const r = await checkPoolProperty({ layer: 'simulated', runs: 600, seed: SEED });
    expect(r.error).toBeUndefined();
    expect(r).toMatchObject({ passed: true, runs: 600 });
  });

  it('passes on the live layer (real servers on loopback)', async () => {
    const r = await checkPoolProperty({ layer: 'live', runs: 60, seed: SEED });
    expect(r.error).toBeUndefined();
    expect(r).toMatchObject({ passed: true, runs: 60 });
  });
});

describe('known-broken variants are caught, with short counterexamples', () => {
  it.each(VARIANTS.map((v) => [v.name, v] as const))('%s fails on the simulated layer', async (_name, variant) => {
    const r = await checkPoolProperty({ layer: 'simulated', runs: 500, seed: SEED, variant });
    expect(r.passed).toBe(false);
    expect(r.error).toMatch(/ModelDisagreement/);
    expect(r.counterexample?.length).toBeGreaterThan(0);
    expect(r.counterexample?.length).toBeLessThanOrEqual(4);
  });

  it.each(['lock-per-call', 'leak-on-remove'])('%s fails on the live layer too', async (name) => {
    const variant = VARIANTS.find((v) => v.name === name);
    const r = await checkPoolProperty({ layer: 'live', runs: 100, seed: SEED, variant });
    expect(r.passed).toBe(false);
    expect(r.counterexample?.length).toBeLessThanOrEqual(4);
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
