import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { kvTimingLines, porcupineKvSource, readPorcupineKvTimes, timeKvHistories } from './time-kv-histories.js';

const KV = fileURLToPath(new URL('../../../test-data/porcupine-kv', import.meta.url));

describe('timeKvHistories', () => {
  it("times the six histories at default options, each beside Porcupine's recorded time and verdict", async () => {
    const timings = await timeKvHistories(KV, 3);
    // Sizes and verdicts as test-data/porcupine-kv/README.md gives them.
    expect(timings.map((t) => [t.file, t.ops, t.result, t.porcupine.file, t.porcupine.verdict])).toEqual([
      ['c01-ok.txt', 58, 'linearizable', 'c01-ok.txt', 'linearizable'],
      ['c01-bad.txt', 38, 'not-linearizable', 'c01-bad.txt', 'not-linearizable'],
      ['c10-ok.txt', 337, 'linearizable', 'c10-ok.txt', 'linearizable'],
      ['c10-bad.txt', 405, 'not-linearizable', 'c10-bad.txt', 'not-linearizable'],
      ['c50-ok.txt', 1712, 'linearizable', 'c50-ok.txt', 'linearizable'],
      ['c50-bad.txt', 2024, 'not-linearizable', 'c50-bad.txt', 'not-linearizable'],
    ]);
    for (const t of timings) {
      expect(t.result).toBe(t.expected);
      expect(t.runs).toBe(3);
      expect(t.medianMs).toBeGreaterThan(0);
      expect(t.porcupine.minMs).toBeGreaterThan(0);
      expect(t.porcupine.minMs).toBeLessThanOrEqual(t.porcupine.medianMs);
      expect(t.porcupine.medianMs).toBeLessThanOrEqual(t.porcupine.maxMs);
    }
    const recorded = await readPorcupineKvTimes(KV);
    const lines = kvTimingLines(timings, porcupineKvSource(recorded));
    console.log(lines.join('\n'));
    expect(lines).toHaveLength(2 + 6 + 1);
    for (const [i, t] of timings.entries()) {
      // ours ms, Porcupine's recorded ms, and the ratio, on the file's own line
      const row = lines[2 + i] ?? '';
      expect(row.startsWith(t.file)).toBe(true);
      expect(row).toMatch(/ \d+\.\d\d +\d+\.\d\d +\d+\.\dx$/);
      expect(row).toContain(t.porcupine.medianMs.toFixed(2));
      expect(row).not.toContain('not published');
    }
    expect(lines[8]).toContain('porcupine-times.json, not measured in this run');
    expect(lines[8]).toContain(recorded.porcupineCommit.slice(0, 7));
  });

  it('flags a verdict that differs from the expected one, ours or Porcupine', () => {
    const wrong = {
      file: 'x.txt',
      ops: 1,
      expected: 'linearizable',
      result: 'unknown',
      medianMs: 3,
      runs: 1,
      notChecked: 0,
      porcupine: { file: 'x.txt', medianMs: 2, minMs: 1, maxMs: 4, verdict: 'not-linearizable' },
    } as const;
    const row = kvTimingLines([wrong], 'source')[2];
    expect(row).toContain('unknown (EXPECTED linearizable)');
    expect(row).toMatch(/3\.00 +2\.00 +1\.5x {2}\(Porcupine's verdict: not-linearizable\)$/);
  });

  it('rejects a recorded-times file with a missing figure, naming the field', async () => {
    const dir = await mkdtemp(path.join(tmpdir(), 'kv-times-'));
    try {
      const doc = {
        porcupineCommit: 'abc',
        goVersion: 'go1',
        date: 'd',
        gomaxprocs: 2,
        runs: 1,
        loadAverage: '0',
        command: 'c',
        note: 'n',
        files: [{ file: 'c01-ok.txt', medianMs: 1, minMs: 1, verdict: 'linearizable' }],
      };
      await writeFile(path.join(dir, 'porcupine-times.json'), JSON.stringify(doc));
      await expect(readPorcupineKvTimes(dir)).rejects.toThrow('files[0].maxMs is not a number');
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });
});
