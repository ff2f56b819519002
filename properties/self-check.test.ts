import { transformSync } from 'esbuild';
import { describe, expect, it, vi } from 'vitest';
import { PROPERTIES } from './catalog.js';
import {
  BLIND_BUDGET_MS,
  DEFAULT_BUDGET_MS,
  layerBudgetMs,
  roundProperties,
  secondLookOrder,
  selfCheckVariant,
} from './self-check.js';
import { findVariant, VARIANTS } from './variants/index.js';
import { applyPatches } from './variants/patched-stack.js';

// The catalogue at a fixed seed and a small budget on the simulated layer (the live layer is
// measured by `npm run self-check`): every variant that layer can see must be caught.
describe('the suite catches every variant in the catalogue', () => {
  it('has at least 12 variants over at least 9 bug classes, each a patch that still applies to src/', async () => {
    expect(VARIANTS.length).toBeGreaterThanOrEqual(12);
    expect(new Set(VARIANTS.map((v) => v.bugClass)).size).toBeGreaterThanOrEqual(9);
    expect(new Set(VARIANTS.map((v) => v.name)).size).toBe(VARIANTS.length);
    // Each patch applies once to today's source and leaves it valid TypeScript (the variants run on
    // the simulated layer below also load their patched stack; the live-only ones load in
    // npm run self-check).
    for (const v of VARIANTS) {
      const texts = await applyPatches(v.name, v.patches);
      for (const [file, text] of texts) {
        expect(() => transformSync(text, { loader: 'ts', sourcefile: file }), `${v.name}: ${file}`).not.toThrow();
      }
    }
  });

  it.each(VARIANTS.filter((v) => v.blindSpot?.layer !== 'simulated').map((v) => [v.name, v] as const))(
    '%s',
    async (_name, variant) => {
      // 20 s each, or what the catalogue gives a variant that needs more.
      const capMs = Math.max(20_000, variant.budgetMs?.simulated ?? 0);
      const verdict = await selfCheckVariant(variant, { capMs, seed: 20_261_127, layers: ['simulated'] });
      const sim = verdict.layers.simulated;
      expect(sim?.caught).toBe(true);
      // Shrunk to the catalogue's shortest, or within one command of it; never below it (that
      // would make the catalogue's argument for the shortest wrong).
      expect(sim?.shrunkCommands).toBeGreaterThanOrEqual(variant.shortest.commands);
      expect(sim?.shrunkCommands).toBeLessThanOrEqual(variant.shortest.commands + 1);
    },
    // The cap, then shrinking and a second look.
    150_000,
  );
});

describe('the default self-check gives each variant the time it needs', () => {
  it('a variant the catalogue gives more time gets it on that layer; --cap overrides every budget', () => {
    const slow = findVariant('connector-drops-defaults');
    if (!slow) throw new Error('connector-drops-defaults is missing from the catalogue');
    expect(layerBudgetMs(slow, 'live')).toBeGreaterThan(DEFAULT_BUDGET_MS);
    // Blind there by the catalogue: a short try.
    expect(layerBudgetMs(slow, 'simulated')).toBe(BLIND_BUDGET_MS);
    const plain = findVariant('leak-on-remove');
    if (!plain) throw new Error('leak-on-remove is missing from the catalogue');
    expect(layerBudgetMs(plain, 'simulated')).toBe(DEFAULT_BUDGET_MS);
    expect(layerBudgetMs(slow, 'live', 5_000)).toBe(5_000);
  });

  it('after the short rounds, a variant the catalogue focuses goes to the properties it names (only there)', () => {
    const v = findVariant('handshake-watchdog-forgets-reset');
    if (!v) throw new Error('handshake-watchdog-forgets-reset is missing from the catalogue');
    const names = (layer: 'live' | 'simulated', round: number) => roundProperties(v, layer, round).map((p) => p.name);
    expect(names('live', 0)).toEqual(PROPERTIES.map((p) => p.name));
    expect(names('live', 1)).toEqual(PROPERTIES.map((p) => p.name));
    expect(names('live', 2)).toEqual(['pool-linearizable']);
    expect(names('live', 3)).toEqual(['pool-linearizable']);
    expect(names('simulated', 3)).toEqual(PROPERTIES.map((p) => p.name));
    // A second look (the first catch shrank badly) tries the focused properties first.
    const idle = findVariant('connector-reconnects-on-idle');
    if (!idle) throw new Error('connector-reconnects-on-idle is missing from the catalogue');
    expect(secondLookOrder(idle, 'live')[0]?.name).toBe('connectivity-spec');
    expect(secondLookOrder(idle, 'simulated').map((p) => p.name)).toEqual(PROPERTIES.map((p) => p.name));
  });

  it('the self-check follows those rounds: every property twice, then only the focused ones', async () => {
    // A bug the simulated layer cannot see, focused there on one property: every round runs out.
    const base = findVariant('handshake-watchdog-forgets-reset');
    if (!base) throw new Error('handshake-watchdog-forgets-reset is missing from the catalogue');
    const v = { ...base, focus: { simulated: ['keys-isolate'] } };
    const tried: string[] = [];
    const spies = PROPERTIES.map((p) =>
      vi.spyOn(p, 'check').mockImplementation(async (c) => {
        tried.push(p.name);
        return { passed: true, runs: 1, layer: c.layer, seed: c.seed ?? 0, wallMs: 1 } as Awaited<ReturnType<typeof p.check>>;
      }),
    );
    try {
      await selfCheckVariant(v, { capMs: 2_000, seed: 1, layers: ['simulated'] });
    } finally {
      for (const s of spies) s.mockRestore();
    }
    const all = PROPERTIES.map((p) => p.name);
    expect(tried.slice(0, 2 * all.length)).toEqual([...all, ...all]);
    expect(tried.slice(2 * all.length)).toEqual(['keys-isolate', 'keys-isolate']);
  });

  it('a second look: the focused property gets what is left, and a catch its replay does not repeat is minimised, as the first catch is', async () => {
    // The first catch (pool-matches-model) comes back long; the focused property catches too, but
    // its replay passes (the live layer's timing): only its minimiser gets the case short.
    const base = findVariant('leak-on-remove');
    if (!base) throw new Error('leak-on-remove is missing from the catalogue');
    const v = { ...base, shortest: { commands: 1, why: 'test' }, focus: { simulated: ['pool-linearizable'] } };
    const failed = (steps: string[]) => ({ passed: false, runs: 3, seed: 5, path: '2:0', wallMs: 1, counterexample: steps });
    const lookLimits: number[] = [];
    const spies = PROPERTIES.flatMap((p) => {
      const check = vi.spyOn(p, 'check').mockImplementation(async (c) => {
        const replay = c.runs === 1 && c.path !== undefined;
        if (p.name === 'pool-linearizable' && !replay) lookLimits.push(c.timeLimitMs ?? 0);
        const out =
          p.name === 'pool-matches-model'
            ? failed(['add(0)', 'remove(0)', 'add(1)', 'call(1)', 'remove(1)', 'stats(0)'])
            : p.name === 'pool-linearizable' && !replay
              ? failed(['prefix: add(0)', 'c1: call(0)', 'c2: remove(0)', 'c3: stats()'])
              : { passed: true, runs: 1, seed: 5, wallMs: 1 };
        return { layer: c.layer, ...out } as Awaited<ReturnType<typeof p.check>>;
      });
      const minimise =
        p.name === 'pool-linearizable' && p.minimise
          ? [
              vi
                .spyOn(p, 'minimise')
                .mockImplementation(
                  async (c) => ({ layer: c.layer, ...failed(['c1: remove(0)']) }) as Awaited<ReturnType<typeof p.check>>,
                ),
            ]
          : [];
      return [check, ...minimise];
    });
    let verdict: Awaited<ReturnType<typeof selfCheckVariant>>;
    try {
      verdict = await selfCheckVariant(v, { capMs: 8_000, seed: 1, layers: ['simulated'] });
    } finally {
      for (const s of spies) s.mockRestore();
    }
    expect(verdict.layers.simulated).toMatchObject({ caught: true, by: 'pool-matches-model', shrunkBy: 'pool-linearizable' });
    expect(verdict.layers.simulated?.shrunkCommands).toBe(1);
    // The focused property's look had what was left of the 8 s, not a quarter of it.
    expect(lookLimits).toHaveLength(1);
    expect(lookLimits[0]).toBeGreaterThan(7_000);
  });

  it('a verdict says what it spent and what it had', async () => {
    const v = findVariant('leak-on-remove');
    if (!v) throw new Error('leak-on-remove is missing from the catalogue');
    const verdict = await selfCheckVariant(v, { capMs: 7_000, seed: 1, layers: ['simulated'] });
    expect(verdict.layers.simulated?.budgetSeconds).toBe(7);
    expect(verdict.layers.simulated?.spentSeconds).toBeGreaterThanOrEqual(verdict.layers.simulated?.seconds ?? 0);
  });
});
