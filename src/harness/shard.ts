/** One of n shards, 1-based: `--shard 2/4`. */
export interface Shard {
  readonly index: number;
  readonly count: number;
}

/** A shard's share of the work: batch numbers index-1, index-1+count, index-1+2*count, ... */
export function shardBatch(shard: Shard, j: number): number {
  return shard.index - 1 + j * shard.count;
}

/**
 * The seed of batch `batch` of a fuzz run seeded with `base`: a 32-bit mix (splitmix-style), so
 * neighbouring batches get unrelated seeds and every runner derives the same seed for a batch.
 */
export function batchSeed(base: number, batch: number): number {
  let x = (Math.imul(base | 0, 0x9e3779b1) + Math.imul(batch + 1, 0x85ebca6b)) | 0;
  x = Math.imul(x ^ (x >>> 16), 0x7feb352d);
  x = Math.imul(x ^ (x >>> 15), 0x846ca68b);
  return (x ^ (x >>> 16)) | 0;
}
