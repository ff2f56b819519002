import { describe, expect, it } from 'vitest';
import { checkEveryOpSettlesOnce, checkLatencyBound } from './checkers.js';
import type { HistoryEvent } from './history.js';

const ev = (index: number, timeMs: number, type: HistoryEvent['type'], op: number, f = 'call'): HistoryEvent => ({
  index,
  timeMs,
  process: 'p',
  type,
  f,
  op,
});

describe('checkers on hand-built histories', () => {
  it('accepts a history where every op settles once', () => {
    const h = [ev(0, 0, 'invoke', 1), ev(1, 1, 'invoke', 2), ev(2, 2, 'fail', 2), ev(3, 3, 'ok', 1)];
    expect(checkEveryOpSettlesOnce(h)).toMatchObject({ valid: true, problems: [] });
  });

  it('reports an op that never settled and one that settled twice', () => {
    const h = [ev(0, 0, 'invoke', 1), ev(1, 1, 'ok', 1), ev(2, 2, 'ok', 1), ev(3, 3, 'invoke', 2)];
    const v = checkEveryOpSettlesOnce(h);
    expect(v.valid).toBe(false);
    expect(v.problems).toHaveLength(2);
    expect(v.problems.join('\n')).toMatch(/op 1 .*without a pending invoke/);
    expect(v.problems.join('\n')).toMatch(/op 2 .*never settled/);
  });

  it('flags an op slower than the bound, and only ops of the named kind', () => {
    const h = [ev(0, 0, 'invoke', 1), ev(1, 0, 'invoke', 2, 'health'), ev(2, 50, 'ok', 1), ev(3, 900, 'ok', 2, 'health')];
    expect(checkLatencyBound(h, 'call', 100).valid).toBe(true);
    expect(checkLatencyBound(h, 'call', 40).problems).toEqual(['op 1 (call by p) took 50 ms, bound 40 ms']);
    expect(checkLatencyBound(h, 'health', 100).valid).toBe(false);
  });
});
