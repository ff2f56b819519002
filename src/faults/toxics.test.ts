import { describe, expect, it } from 'vitest';
import { seededRandom } from './seeded-random.js';
import { parseToxicSpec, validateToxic } from './toxics.js';

describe('parseToxicSpec', () => {
  it.each([
    ['latency:50', { type: 'latency', latencyMs: 50 }],
    ['latency:50:10@down', { type: 'latency', latencyMs: 50, jitterMs: 10, direction: 'downstream' }],
    ['bandwidth:64@up', { type: 'bandwidth', kbPerSecond: 64, direction: 'upstream' }],
    ['slicer:1:1', { type: 'slicer', sliceBytes: 1, delayMs: 1 }],
    ['stall-after:4096@both', { type: 'stall-after', bytes: 4096, direction: 'both' }],
    ['limit:10000', { type: 'limit', bytes: 10_000 }],
    ['close-after:1000', { type: 'close-after', afterMs: 1000 }],
    ['reset', { type: 'reset', connections: 'all' }],
    ['reset:new', { type: 'reset', connections: 'new' }],
    ['handshake-blackhole', { type: 'handshake-blackhole' }],
    ['refuse', { type: 'refuse' }],
  ])('%s', (text, spec) => {
    expect(parseToxicSpec(text)).toEqual(spec);
    expect(() => validateToxic('t', parseToxicSpec(text))).not.toThrow();
  });

  it.each([
    ['teleport', /unknown toxic type "teleport"/],
    ['latency', /expected latency:MS\[:JITTER_MS\]/],
    ['latency:1:2:3', /expected latency:MS\[:JITTER_MS\]/],
    ['latency:abc', /MS must be a non-negative number; got "abc"/],
    ['latency:5@sideways', /@up, @down or @both; got @sideways/],
    ['refuse@up', /takes no @direction/],
    ['refuse:1', /refuse \(no arguments\)/],
    ['reset:some', /reset takes new, existing or all/],
  ])('%s is refused', (text, message) => {
    expect(() => parseToxicSpec(text)).toThrow(message);
  });

  it('validation fills in defaults and freezes the toxic', () => {
    const t = validateToxic('l', { type: 'latency', latencyMs: 5 });
    expect(t).toEqual({ name: 'l', type: 'latency', latencyMs: 5, jitterMs: 0, direction: 'both' });
    expect(Object.isFrozen(t)).toBe(true);
    expect(() => validateToxic('b', { type: 'bandwidth', kbPerSecond: 0 })).toThrow(/kbPerSecond must be a number in 0\.001\.\./);
  });
});

describe('seededRandom', () => {
  it('gives the same sequence for the same seed, in [0, 1)', () => {
    const a = seededRandom(7);
    const b = seededRandom(7);
    const xs = Array.from({ length: 100 }, () => a());
    expect(Array.from({ length: 100 }, () => b())).toEqual(xs);
    expect(xs.every((x) => x >= 0 && x < 1)).toBe(true);
    expect(seededRandom(8)()).not.toBe(xs[0]);
  });
});
