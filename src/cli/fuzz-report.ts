import type { Layer } from '../../properties/check-runner.js';
import type { Shard } from '../harness/shard.js';

/** One batch of a fuzz run: one property, one layer, one seed. */
export interface BatchReport {
  readonly batch: number;
  readonly property: string;
  readonly seed: number;
  readonly layer: Layer;
  readonly runs: number;
  readonly passed: boolean;
  /** The time budget ran out before the batch's first run: it checked nothing (and did not fail). */
  readonly noRuns?: boolean;
  readonly wallMs: number;
  readonly counterexample: string[] | null;
  readonly error: string | null;
  readonly failureFile: string | null;
}

/** What one fuzz shard writes to `fuzz-report*.json`. */
export interface FuzzReport {
  readonly version: 1;
  readonly seed: number;
  readonly shard: Shard;
  readonly budgetMs: number;
  readonly elapsedMs: number;
  readonly layers: Layer[];
  /** The @grpc/grpc-js release the client stack ran on (`--grpc-js`, else package.json's). Absent in older reports. */
  readonly grpcJs?: string;
  /** Set (the signal's name, or EPIPE) when the run was stopped early: the report is partial. Absent in older reports. */
  readonly interrupted?: string | null;
  readonly totals: { readonly batches: number; readonly runs: number; readonly failures: number };
  readonly batches: BatchReport[];
}

/** A file that is not a fuzz report this code can merge; the message names the file and the field. */
export class FuzzReportError extends Error {
  readonly code = 'ERR_FUZZ_REPORT';
  constructor(
    readonly file: string,
    problem: string,
  ) {
    super(`${file}: not a fuzz report this tool can merge: ${problem}`);
    this.name = 'FuzzReportError';
  }
}

const isObject = (x: unknown): x is Record<string, unknown> => typeof x === 'object' && x !== null && !Array.isArray(x);
const isCount = (x: unknown): x is number => Number.isInteger(x) && (x as number) >= 0;

/** Checks that `data` (parsed from `file`) has the shape of a `FuzzReport`; throws `FuzzReportError` naming the first bad field. */
export function validateFuzzReport(file: string, data: unknown): FuzzReport {
  const bad = (problem: string): never => {
    throw new FuzzReportError(file, problem);
  };
  if (!isObject(data)) return bad('expected a JSON object');
  if (data.version !== 1) bad(`field "version" must be 1; got ${JSON.stringify(data.version)}`);
  if (!Number.isInteger(data.seed)) bad('field "seed" must be a whole number');
  const shard = data.shard;
  if (!isObject(shard) || !isCount(shard.index) || !isCount(shard.count) || shard.index < 1 || shard.index > shard.count) {
    bad('field "shard" must be { index, count } with 1 <= index <= count');
  }
  for (const key of ['budgetMs', 'elapsedMs'] as const) {
    if (typeof data[key] !== 'number' || !((data[key] as number) >= 0)) bad(`field "${key}" must be a number >= 0`);
  }
  if (data.interrupted !== undefined && data.interrupted !== null && typeof data.interrupted !== 'string') {
    bad('field "interrupted" must be a string or null');
  }
  const totals = data.totals;
  if (!isObject(totals) || !isCount(totals.batches) || !isCount(totals.runs) || !isCount(totals.failures)) {
    bad('field "totals" must hold whole numbers batches, runs and failures');
  }
  if (!Array.isArray(data.batches)) return bad('field "batches" must be a list');
  for (const [i, b] of (data.batches as unknown[]).entries()) {
    if (!isObject(b)) return bad(`batches[${i}] must be an object`);
    if (!isCount(b.batch) || !isCount(b.runs) || typeof b.passed !== 'boolean' || !Number.isInteger(b.seed)) {
      bad(`batches[${i}] must hold batch, runs, seed (whole numbers) and passed (true or false)`);
    }
    if (b.layer !== 'live' && b.layer !== 'simulated') bad(`batches[${i}].layer must be "live" or "simulated"`);
    if (b.counterexample !== null && !(Array.isArray(b.counterexample) && b.counterexample.every((s) => typeof s === 'string'))) {
      bad(`batches[${i}].counterexample must be a list of steps or null`);
    }
  }
  return data as unknown as FuzzReport;
}
