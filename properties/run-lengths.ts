import type { PropertyResult } from './check-runner.js';

/** Mean, max and share of empty runs over the operations each generated run held (shrinking runs included). */
export function runLengths(sizes: readonly number[]): NonNullable<PropertyResult['runLengths']> {
  if (sizes.length === 0) return { mean: 0, max: 0, emptyShare: 0, total: 0, count: 0 };
  const total = sizes.reduce((a, b) => a + b, 0);
  return {
    mean: total / sizes.length,
    // A loop, not Math.max(...sizes): a long check's 100,000+ runs would overflow the stack.
    max: sizes.reduce((m, n) => Math.max(m, n), 0),
    emptyShare: sizes.filter((n) => n === 0).length / sizes.length,
    total,
    count: sizes.length,
  };
}
