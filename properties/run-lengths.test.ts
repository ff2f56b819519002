import { describe, expect, it } from 'vitest';
import { runLengths } from './run-lengths.js';

describe('runLengths', () => {
  it('summarises the runs of a long check without running out of stack (a self-check try runs up to 100,000 and more)', () => {
    // The default self-check crashed with "RangeError: Maximum call stack size exceeded" on a
    // simulated try: the largest run was taken by spreading every run's length into Math.max.
    const sizes = Array.from({ length: 1_000_000 }, (_, i) => i % 7);
    sizes[123_456] = 40;
    const r = runLengths(sizes);
    expect(r).toMatchObject({ max: 40, count: 1_000_000 });
    expect(r.emptyShare).toBeCloseTo(1 / 7, 3);
  });
});
