import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { findVariant } from '../variants/index.js';
import { checkLimitsProperty, LIMITS_LIVE_ONLY, LimitsCase } from './limits-property.js';

const SEED = 20_261_127;

describe('transport-limits', () => {
  it('is skipped, not failed, on the simulated layer, saying why', async () => {
    const r = await checkLimitsProperty({ layer: 'simulated', runs: 10 });
    expect(r).toMatchObject({ passed: true, runs: 0, skipped: LIMITS_LIVE_ONLY });
  });

  it('passes on the real stack, payloads up to 4 MiB and past it, more calls than streams', async () => {
    const r = await checkLimitsProperty({ layer: 'live', runs: 25, seed: SEED });
    expect(r.error).toBeUndefined();
    expect(r).toMatchObject({ passed: true, runs: 25 });
  });

  it('passes a case at the edges: empty, exactly at the limit, one byte over, one stream for 9 calls', async () => {
    // 16 384-byte limit: a 16 362-byte payload makes a reply of at most 16 384 bytes (10-byte server id).
    const step = 'limits(streams=1, max=16384, delay=2ms, sizes=0 16361 16362 16363 16384 1 0 0 0)';
    const r = await checkLimitsProperty({ layer: 'live', steps: [step], runs: 1, seed: SEED });
    expect(r.error).toBeUndefined();
    expect(r.passed).toBe(true);
  });

  it('reads every case back from the text a failure file records', () => {
    fc.assert(
      fc.property(LimitsCase.arbitrary(), (c) => {
        expect(String(LimitsCase.parse(String(c)))).toBe(String(c));
      }),
    );
  });

  it.each([
    [
      'message-limit-in-kib',
      'limits(streams=none, max=default, delay=0ms, sizes=5000)',
      /5000-byte payload .* ended RESOURCE_EXHAUSTED; expected OK/,
    ],
    [
      'connector-refuses-over-8-streams',
      'limits(streams=none, max=default, delay=5ms, sizes=0 0 0 0 0 0 0 0 0)',
      /0-byte payload .* ended RESOURCE_EXHAUSTED; expected OK/,
    ],
  ])('fails on %s', async (name, step, message) => {
    const variant = findVariant(name);
    if (!variant) throw new Error(`${name} is missing from the catalogue`);
    const r = await checkLimitsProperty({ layer: 'live', variant, steps: [step], runs: 1, seed: SEED, noShrink: true });
    expect(r.passed).toBe(false);
    expect(r.error).toMatch(message);
  });
});
