import { readFile } from 'node:fs/promises';
import path from 'node:path';
import { checkOperations } from './check-operations.js';
import { kvModel } from './kv-model.js';
import type { CheckResult } from './model.js';
import { parsePorcupineKvLog } from './porcupine-kv.js';

/** Porcupine's six key-value histories (test-data/porcupine-kv), in its README's order. */
export const KV_HISTORIES = ['c01-ok', 'c01-bad', 'c10-ok', 'c10-bad', 'c50-ok', 'c50-bad'] as const;

/**
 * What Porcupine states about its own time on these files: nothing per file. Its porcupine_test.go
 * (github.com/anishathalye/porcupine, read at 55508eb) has a `BenchmarkKv…` for each of the six
 * but publishes no result; its only figures are comments on the unpartitioned model, a different
 * check (the whole store as one state): "about 90 seconds" for c10-ok and "about 60 seconds" for c10-bad.
 */
export const PORCUPINE_KV_FIGURES =
  'Porcupine publishes no per-file time for these histories (porcupine_test.go has BenchmarkKv* for all six, with no result stated)';

/** One history's timing: the verdict at default options and the median check time over the runs. */
export interface KvTiming {
  readonly file: string;
  readonly ops: number;
  readonly expected: CheckResult;
  readonly result: CheckResult;
  /** Median of `runs` checks, parsing excluded (the file is parsed once, before timing). */
  readonly medianMs: number;
  readonly runs: number;
  /** Parts left `not-checked` because an illegal part ended the search. */
  readonly notChecked: number;
}

/**
 * Checks each of the six histories under `dir` (the porcupine-kv folder) `runs` times against the
 * key-value model at default options; the expected verdict is the file name's (`-ok`, `-bad`).
 */
export async function timeKvHistories(dir: string, runs = 5): Promise<KvTiming[]> {
  const timings: KvTiming[] = [];
  for (const name of KV_HISTORIES) {
    const ops = parsePorcupineKvLog(await readFile(path.join(dir, `${name}.txt`), 'utf8'), `${name}.txt`);
    const times: number[] = [];
    let report = checkOperations(kvModel, ops);
    for (let r = 0; r < runs; r++) {
      const start = performance.now();
      report = checkOperations(kvModel, ops);
      times.push(performance.now() - start);
    }
    times.sort((a, b) => a - b);
    timings.push({
      file: `${name}.txt`,
      ops: ops.length,
      expected: name.endsWith('-ok') ? 'linearizable' : 'not-linearizable',
      result: report.result,
      medianMs: times[Math.floor(times.length / 2)] ?? Number.NaN,
      runs,
      notChecked: report.partitions.filter((p) => p.result === 'not-checked').length,
    });
  }
  return timings;
}

/** The timings as a table, one line a file, what Porcupine states beside each (see `PORCUPINE_KV_FIGURES`). */
export function kvTimingLines(timings: readonly KvTiming[]): string[] {
  const runs = timings[0]?.runs ?? 0;
  return [
    `linearizability checker on Porcupine's key-value histories (default options, median of ${runs} runs, parsing excluded)`,
    'file          ops  verdict                             parts not checked  ours ms  Porcupine',
    ...timings.map((t) => {
      const verdict = t.result === t.expected ? t.result : `${t.result} (EXPECTED ${t.expected})`;
      const ms = t.medianMs.toFixed(1);
      return `${t.file.padEnd(11)} ${String(t.ops).padStart(5)}  ${verdict.padEnd(34)}  ${String(t.notChecked).padStart(17)}  ${ms.padStart(7)}  not published`;
    }),
    `(${PORCUPINE_KV_FIGURES}; its only stated KV times, about 90 s for c10-ok and 60 s for c10-bad, are for an unpartitioned model, a different check)`,
  ];
}
