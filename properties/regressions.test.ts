import { describe, expect, it } from 'vitest';
import { regressionFiles, replayFile } from './replay.js';

const files = await regressionFiles();

describe('regression corpus (replayed before new random runs)', () => {
  it('holds failure files', () => {
    expect(files.length).toBeGreaterThan(0);
  });

  it.each(files)('%s', async (file) => {
    const r = await replayFile(file);
    if (r.failure.variant === null) {
      // A failure of the real pool: fixed, so it must pass now.
      expect(r.result.error).toBeUndefined();
      expect(r.reproduced).toBe(false);
    } else {
      // A known-broken variant: must still be caught, the same way.
      expect(r.reproduced).toBe(true);
      expect(r.sameCounterexample).toBe(true);
    }
  });
});
