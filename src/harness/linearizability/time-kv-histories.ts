import { readFile } from 'node:fs/promises';
import path from 'node:path';
import { checkOperations } from './check-operations.js';
import { kvModel } from './kv-model.js';
import type { CheckResult } from './model.js';
import { parsePorcupineKvLog } from './porcupine-kv.js';

/** Porcupine's six key-value histories (test-data/porcupine-kv), in its README's order. */
export const KV_HISTORIES = ['c01-ok', 'c01-bad', 'c10-ok', 'c10-bad', 'c50-ok', 'c50-bad'] as const;

/** The file under the porcupine-kv folder that holds Porcupine's own times for the six histories. */
export const PORCUPINE_KV_TIMES = 'porcupine-times.json';

/** Porcupine's time on one history, as recorded (not measured by this code). */
export interface PorcupineKvFileTime {
  readonly file: string;
  readonly medianMs: number;
  readonly minMs: number;
  readonly maxMs: number;
  readonly verdict: CheckResult;
}

/**
 * `porcupine-times.json`: Porcupine's per-file times, measured once with the Go harness in
 * test-data/porcupine-kv/porcupine-bench (Porcupine publishes no per-file figure of its own).
 */
export interface PorcupineKvTimes {
  readonly porcupineCommit: string;
  readonly goVersion: string;
  readonly date: string;
  readonly gomaxprocs: number;
  readonly runs: number;
  readonly loadAverage: string;
  readonly command: string;
  readonly note: string;
  readonly files: readonly PorcupineKvFileTime[];
}

const VERDICTS: readonly CheckResult[] = ['linearizable', 'not-linearizable', 'unknown'];

/** Reads and checks `porcupine-times.json` under `dir`; throws naming the file and the field when it is malformed. */
export async function readPorcupineKvTimes(dir: string): Promise<PorcupineKvTimes> {
  const where = path.join(dir, PORCUPINE_KV_TIMES);
  const doc: unknown = JSON.parse(await readFile(where, 'utf8'));
  const bad = (what: string): never => {
    throw new Error(`${where}: ${what}`);
  };
  if (typeof doc !== 'object' || doc === null) return bad('not a JSON object');
  const d = doc as Record<string, unknown>;
  for (const key of ['porcupineCommit', 'goVersion', 'date', 'loadAverage', 'command', 'note'] as const) {
    if (typeof d[key] !== 'string') bad(`"${key}" is not a string`);
  }
  for (const key of ['gomaxprocs', 'runs'] as const) {
    if (typeof d[key] !== 'number') bad(`"${key}" is not a number`);
  }
  if (!Array.isArray(d.files)) return bad('"files" is not an array');
  for (const [i, f] of (d.files as unknown[]).entries()) {
    const r = (typeof f === 'object' && f !== null ? f : {}) as Record<string, unknown>;
    if (typeof r.file !== 'string') bad(`files[${i}].file is not a string`);
    for (const key of ['medianMs', 'minMs', 'maxMs'] as const) {
      if (typeof r[key] !== 'number' || !Number.isFinite(r[key])) bad(`files[${i}].${key} is not a number`);
    }
    if (!VERDICTS.includes(r.verdict as CheckResult)) bad(`files[${i}].verdict is not one of ${VERDICTS.join(', ')}`);
  }
  return d as unknown as PorcupineKvTimes;
}

/** One line saying where the Porcupine column comes from: the recorded file, not this run. */
export function porcupineKvSource(times: PorcupineKvTimes): string {
  return (
    `Porcupine column: recorded in test-data/porcupine-kv/${PORCUPINE_KV_TIMES}, not measured in this run: ` +
    `Porcupine ${times.porcupineCommit.slice(0, 7)}, ${times.goVersion}, GOMAXPROCS ${times.gomaxprocs}, ` +
    `median of ${times.runs} runs, ${times.date}, load average ${times.loadAverage.split(' ')[0]}; ${times.note}`
  );
}

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
  /** Porcupine's time and verdict on the same file, from `porcupine-times.json` (not measured here). */
  readonly porcupine: PorcupineKvFileTime;
}

/**
 * Checks each of the six histories under `dir` (the porcupine-kv folder) `runs` times against the
 * key-value model at default options; the expected verdict is the file name's (`-ok`, `-bad`). Each
 * row carries Porcupine's recorded figure for the file (`porcupine-times.json` under `dir`).
 */
export async function timeKvHistories(dir: string, runs = 5): Promise<KvTiming[]> {
  const recorded = await readPorcupineKvTimes(dir);
  const timings: KvTiming[] = [];
  for (const name of KV_HISTORIES) {
    const porcupine = recorded.files.find((f) => f.file === `${name}.txt`);
    if (!porcupine) throw new Error(`${path.join(dir, PORCUPINE_KV_TIMES)}: no figure for ${name}.txt`);
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
      porcupine,
    });
  }
  return timings;
}

/**
 * The timings as a table, one line a file: our median beside Porcupine's recorded median and the
 * ratio ours / Porcupine; `source` (see `porcupineKvSource`) says where Porcupine's figures come from.
 */
export function kvTimingLines(timings: readonly KvTiming[], source: string): string[] {
  const runs = timings[0]?.runs ?? 0;
  return [
    `linearizability checker on Porcupine's key-value histories (default options, median of ${runs} runs, parsing excluded)`,
    'file          ops  verdict                             parts not checked  ours ms  Porcupine ms  ours/Porcupine',
    ...timings.map((t) => {
      const verdict = t.result === t.expected ? t.result : `${t.result} (EXPECTED ${t.expected})`;
      const theirs = t.porcupine.medianMs;
      const ratio = theirs > 0 ? `${(t.medianMs / theirs).toFixed(1)}x` : '-';
      const flag = t.porcupine.verdict === t.expected ? '' : `  (Porcupine's verdict: ${t.porcupine.verdict})`;
      return `${t.file.padEnd(11)} ${String(t.ops).padStart(5)}  ${verdict.padEnd(34)}  ${String(t.notChecked).padStart(17)}  ${t.medianMs.toFixed(2).padStart(7)}  ${theirs.toFixed(2).padStart(12)}  ${ratio.padStart(14)}${flag}`;
    }),
    `(${source})`,
  ];
}
