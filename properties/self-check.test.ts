import { describe, expect, it } from 'vitest';
import { selfCheckVariant } from './self-check.js';
import { VARIANTS } from './variants/index.js';

// The catalogue at a fixed seed and a small budget: every known-broken variant must be caught,
// with a shrunk counterexample within 2 commands of the shortest sequence that shows its bug.
describe('the suite catches every variant in the catalogue', () => {
  it('has at least 10 variants over at least 7 bug classes', () => {
    expect(VARIANTS.length).toBeGreaterThanOrEqual(10);
    expect(new Set(VARIANTS.map((v) => v.bugClass)).size).toBeGreaterThanOrEqual(7);
    expect(new Set(VARIANTS.map((v) => v.name)).size).toBe(VARIANTS.length);
  });

  it.each(VARIANTS.map((v) => [v.name, v] as const))('%s', async (_name, variant) => {
    const verdict = await selfCheckVariant(variant, { capMs: 30_000, seed: 20_261_127, layers: ['simulated'] });
    expect(verdict.caught).toBe(true);
    expect(verdict.shrunkCommands).toBeGreaterThanOrEqual(1);
    expect(verdict.shrunkCommands).toBeLessThanOrEqual(variant.shortest.commands + 2);
  });
});
