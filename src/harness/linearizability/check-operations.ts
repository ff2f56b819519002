import type {
  CheckOptions,
  LinearizabilityModel,
  LinearizabilityReport,
  Operation,
  PartitionReport,
  UnknownReason,
} from './model.js';
import { MemoBudget, PartitionSearch } from './partition-search.js';

/**
 * Default of `CheckOptions.maxStates`. An entry costs about 20 bytes plus one bit per operation of
 * its part (more for a new model state: its hash string), so this stays within a few hundred MB
 * for parts of a few hundred operations, and is reached in seconds rather than minutes.
 */
export const DEFAULT_MAX_STATES = 4_000_000;

/** The largest `CheckOptions.maxStates` allowed: below the 2^24 entries a JavaScript Map can hold. */
export const MAX_STATES_LIMIT = 16_000_000;

// Steps each unfinished part searches in its turn (about a millisecond). Taking turns finds an
// illegal part after about (parts x its own search), whatever the order of the parts and however
// long a legal one would take; the deadline is read between turns (performance.now() costs more
// than a step).
const TURN_STEPS = 1 << 12;

interface Limits {
  readonly deadline: number;
  readonly maxStates: number;
  readonly checkAll: boolean;
}

// Invalid options are the caller's bug, not the history's: refused before anything is searched.
function limits(options: CheckOptions, start: number): Limits {
  const { timeoutMs, maxStates = DEFAULT_MAX_STATES, checkAllPartitions = false } = options;
  if (timeoutMs !== undefined && !(timeoutMs >= 0))
    throw new RangeError(`timeoutMs must be a number >= 0 (or absent: no limit), got ${timeoutMs}`);
  if (!Number.isInteger(maxStates) || maxStates < 1 || maxStates > MAX_STATES_LIMIT)
    throw new RangeError(`maxStates must be a whole number from 1 to ${MAX_STATES_LIMIT}, got ${maxStates}`);
  return { deadline: start + (timeoutMs ?? Number.POSITIVE_INFINITY), maxStates, checkAll: checkAllPartitions };
}

const threw = (what: string, error: unknown) =>
  `model.${what}() threw: ${error instanceof Error ? `${error.name}: ${error.message}` : String(error)}`;

// The whole history's verdict: one illegal part decides it; otherwise any unknown part makes it unknown.
function verdict(partitions: readonly PartitionReport[]): Pick<LinearizabilityReport, 'result' | 'reason'> {
  if (partitions.some((p) => p.result === 'not-linearizable')) return { result: 'not-linearizable' };
  const reasons = new Set(partitions.map((p) => p.reason));
  const reason = (['model-error', 'memory', 'timeout'] as const).find((r: UnknownReason) => reasons.has(r));
  return reason === undefined ? { result: 'linearizable' } : { result: 'unknown', reason };
}

/**
 * Checks that `ops` is linearizable with respect to `model`. Splits the history first when the model
 * provides `partition`, and searches the parts taking turns (one report each, in the model's order,
 * labelled by `partitionLabel`); by default it stops at the first part found not linearizable and
 * reports the others as `not-checked`. Returns plain data: a history or a model never makes it
 * throw. Running out of time (`timeoutMs`) or memory (`maxStates`), or an exception from the model,
 * gives `unknown` with the reason and what was searched. Throws only a RangeError for invalid
 * options, before searching anything.
 */
export function checkOperations<S, I, O>(
  model: LinearizabilityModel<S, I, O>,
  ops: readonly Operation<I, O>[],
  options: CheckOptions = {},
): LinearizabilityReport {
  const start = performance.now();
  const { deadline, maxStates, checkAll } = limits(options, start);
  let parts: readonly (readonly Operation<I, O>[])[];
  try {
    parts = model.partition ? model.partition(ops) : [ops];
  } catch (error) {
    const elapsedMs = performance.now() - start;
    return { result: 'unknown', reason: 'model-error', error: threw('partition', error), elapsedMs, partitions: [] };
  }
  const budget = new MemoBudget(maxStates);
  const reports: (PartitionReport | undefined)[] = new Array(parts.length).fill(undefined);
  const searches: (PartitionSearch<S, I, O> | undefined)[] = parts.map((part, i) => {
    let label: string | undefined;
    try {
      label = model.partitionLabel?.(part);
    } catch (error) {
      const reason = 'model-error';
      reports[i] = {
        result: 'unknown',
        ops: part.length,
        longestPrefix: [],
        statesExplored: 0,
        reason,
        error: threw('partitionLabel', error),
      };
      return undefined;
    }
    return new PartitionSearch(model, part, label, budget);
  });

  // Round robin over the unfinished parts; a finished one is swapped out (the order of turns is immaterial).
  const pending = searches.flatMap((s, i) => (s === undefined ? [] : [i]));
  let turn = 0;
  let timedOut = false;
  while (pending.length > 0) {
    if (turn >= pending.length) turn = 0;
    const i = pending[turn] as number;
    const report = (searches[i] as PartitionSearch<S, I, O>).run(TURN_STEPS);
    if (report === undefined) {
      turn++;
    } else {
      reports[i] = report;
      searches[i] = undefined;
      pending[turn] = pending[pending.length - 1] as number;
      pending.pop();
      if (report.result === 'not-linearizable' && !checkAll) break;
    }
    if (performance.now() > deadline) {
      timedOut = true;
      break;
    }
  }
  for (const i of pending) {
    const search = searches[i] as PartitionSearch<S, I, O>;
    reports[i] = timedOut ? search.stop('unknown', 'timeout') : search.stop('not-checked');
  }
  const partitions = reports as PartitionReport[];
  return { ...verdict(partitions), elapsedMs: performance.now() - start, partitions };
}
