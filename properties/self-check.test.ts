import { describe, expect, it } from 'vitest';
import { selfCheckVariant } from './self-check.js';
import { VARIANTS, variantStack } from './variants/index.js';

// The catalogue at a fixed seed and a small budget on the simulated layer (the live layer is
// measured by `npm run self-check`): every variant that layer can see must be caught.
describe('the suite catches every variant in the catalogue', () => {
  it('has at least 12 variants over at least 9 bug classes, each a patch that still applies to src/', async () => {
    expect(VARIANTS.length).toBeGreaterThanOrEqual(12);
    expect(new Set(VARIANTS.map((v) => v.bugClass)).size).toBeGreaterThanOrEqual(9);
    expect(new Set(VARIANTS.map((v) => v.name)).size).toBe(VARIANTS.length);
    for (const v of VARIANTS) await expect(variantStack(v), v.name).resolves.toBeDefined();
  });

  it.each(VARIANTS.filter((v) => v.blindSpot?.layer !== 'simulated').map((v) => [v.name, v] as const))(
    '%s',
    async (_name, variant) => {
      const verdict = await selfCheckVariant(variant, { capMs: 20_000, seed: 20_261_127, layers: ['simulated'] });
      const sim = verdict.layers.simulated;
      expect(sim?.caught).toBe(true);
      // Shrunk to the catalogue's shortest, or within one command of it; never below it (that
      // would make the catalogue's argument for the shortest wrong).
      expect(sim?.shrunkCommands).toBeGreaterThanOrEqual(variant.shortest.commands);
      expect(sim?.shrunkCommands).toBeLessThanOrEqual(variant.shortest.commands + 1);
    },
  );
});
