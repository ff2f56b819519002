import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { kvTimingLines, timeKvHistories } from './time-kv-histories.js';

const KV = fileURLToPath(new URL('../../../test-data/porcupine-kv', import.meta.url));

describe('timeKvHistories', () => {
  it("times the six histories at default options, each with Porcupine's verdict", async () => {
    const timings = await timeKvHistories(KV, 3);
    // Sizes and verdicts as test-data/porcupine-kv/README.md gives them.
    expect(timings.map((t) => [t.file, t.ops, t.result])).toEqual([
      ['c01-ok.txt', 58, 'linearizable'],
      ['c01-bad.txt', 38, 'not-linearizable'],
      ['c10-ok.txt', 337, 'linearizable'],
      ['c10-bad.txt', 405, 'not-linearizable'],
      ['c50-ok.txt', 1712, 'linearizable'],
      ['c50-bad.txt', 2024, 'not-linearizable'],
    ]);
    for (const t of timings) {
      expect(t.result).toBe(t.expected);
      expect(t.runs).toBe(3);
      expect(t.medianMs).toBeGreaterThan(0);
      expect(t.medianMs).toBeLessThan(2_000);
    }
    const lines = kvTimingLines(timings);
    console.log(lines.join('\n'));
    expect(lines).toHaveLength(2 + 6 + 1);
    expect(lines[2]).toMatch(/^c01-ok\.txt +58 +linearizable +0 +\d+\.\d +not published$/);
    expect(lines[8]).toContain('Porcupine publishes no per-file time');
  });

  it('flags a verdict that differs from the expected one', () => {
    const wrong = {
      file: 'x.txt',
      ops: 1,
      expected: 'linearizable',
      result: 'unknown',
      medianMs: 1,
      runs: 1,
      notChecked: 0,
    } as const;
    expect(kvTimingLines([wrong])[2]).toContain('unknown (EXPECTED linearizable)');
  });
});
