import { describe, expect, it } from 'vitest';
import { findVariant } from '../variants/index.js';
import { checkParallelProperty } from './parallel-property.js';

// Fixed seeds keep `npm test` reproducible; `npm run properties` and the nightly fuzz explore fresh ones.
const SEED = 20_261_127;

describe('pool-linearizable on the real pool (CI size)', () => {
  it('passes on the simulated layer, with runs longer than 10 operations', async () => {
    const r = await checkParallelProperty({ layer: 'simulated', runs: 400, seed: SEED, maxCommands: 16 });
    expect(r.error).toBeUndefined();
    expect(r).toMatchObject({ passed: true, runs: 400 });
    expect(r.runLengths?.max).toBeGreaterThan(10);
  });

  it('passes on the live layer (real servers on loopback)', async () => {
    const r = await checkParallelProperty({ layer: 'live', runs: 40, seed: SEED });
    expect(r.error).toBeUndefined();
    expect(r).toMatchObject({ passed: true, runs: 40 });
  });
});

describe('pool-linearizable catches what only overlapping operations show', () => {
  it.each([
    ['stats-inflight-zero', /not linearizable.*stats\(\)/],
    ['one-lock-for-all-keys', /no progress/],
    ['breaker-fails-next-3', /status:14/],
    // Its sleep shows as time on its own, or (when a key is held) as a wait with nothing in flight.
    ['slow-acquire', /on its own|nothing in flight/],
  ])('%s', async (name, message) => {
    const variant = findVariant(name);
    const r = await checkParallelProperty({ layer: 'simulated', runs: 3_000, seed: SEED, variant, noShrink: true });
    expect(r.passed).toBe(false);
    expect(r.error).toMatch(message);
  });
});
