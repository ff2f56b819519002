import { describe, expect, it } from 'vitest';
import type { LayerVerdict, VariantVerdict } from './self-check.js';
import { catalogueTable } from './self-check-table.js';

const caught = (over: Partial<LayerVerdict> = {}): LayerVerdict => ({
  caught: true,
  by: 'pool-linearizable',
  runs: 4,
  seconds: 1.234,
  shrunkCommands: 3,
  counterexample: ['c1: close()'],
  error: 'ModelDisagreement: ...',
  blindSpot: null,
  spentSeconds: 2,
  budgetSeconds: 60,
  ...over,
});

describe('catalogueTable', () => {
  it('one row a variant: catcher, run, seconds to first failure, shrunk/shortest; blind and missed said as such', () => {
    const verdicts: VariantVerdict[] = [
      {
        name: 'a',
        bugClass: 'leak',
        caught: true,
        caughtWhereExpected: true,
        shortestCommands: 2,
        layers: { simulated: caught({ by: 'pool-matches-model', runs: 7 }), live: caught({ shrunkBy: 'keys-isolate' }) },
      },
      {
        name: 'b-variant',
        bugClass: 'progress',
        caught: false,
        caughtWhereExpected: false,
        shortestCommands: 1,
        layers: {
          simulated: caught({ caught: false, by: null, blindSpot: 'no grpc-js there' }),
          live: caught({ caught: false, by: null, spentSeconds: 60.4 }),
        },
      },
    ];
    const lines = catalogueTable(verdicts).split('\n');
    expect(lines).toHaveLength(4);
    expect(lines[0]).toMatch(/^\| variant +\| class +\| simulated +\| live +\|$/);
    expect(lines[2]).toContain('| pool-matches-model, run 7, 1.23 s, 3/2 ');
    expect(lines[2]).toContain('| pool-linearizable (shortest by keys-isolate), run 4, 1.23 s, 3/2 |');
    expect(lines[3]).toContain('| blind ');
    expect(lines[3]).toContain('| MISSED (60 s) ');
    // Every line as wide as the others (a table a reader can scan).
    expect(new Set(lines.map((l) => l.length)).size).toBe(1);
  });
});
