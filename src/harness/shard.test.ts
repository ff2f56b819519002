import { describe, expect, it } from 'vitest';
import { batchSeed, shardBatch } from './shard.js';

describe('shards', () => {
  it('split batch numbers among n shards with no overlap and no gap', () => {
    const n = 3;
    const seen = new Map<number, number>();
    for (let index = 1; index <= n; index++) {
      for (let j = 0; j < 10; j++) {
        const b = shardBatch({ index, count: n }, j);
        expect(seen.has(b)).toBe(false);
        seen.set(b, index);
      }
    }
    expect([...seen.keys()].sort((a, b) => a - b)).toEqual(Array.from({ length: 30 }, (_, k) => k));
  });

  it('derive distinct, repeatable batch seeds from one base seed', () => {
    const seeds = Array.from({ length: 1_000 }, (_, b) => batchSeed(42, b));
    expect(new Set(seeds).size).toBe(1_000);
    expect(batchSeed(42, 7)).toBe(seeds[7]);
    expect(batchSeed(43, 7)).not.toBe(seeds[7]);
    for (const s of seeds) expect(Number.isInteger(s) && s >= -(2 ** 31) && s < 2 ** 31).toBe(true);
  });
});
