/**
 * Types shared by the linearizability checker and the models it checks against. Types only: the
 * search lives in `partition-search.ts`, the scheduling of parts and the verdict in
 * `check-operations.ts`, concrete models (`cas-register-model.ts`, `kv-model.ts`) beside their
 * history parsers.
 */

/** One operation of a history: invoked at `call`, returned at `ret` (Infinity when the outcome is unknown). */
export interface Operation<I, O> {
  /** Unique within the history; reports name operations by it. */
  readonly id: number;
  /** Who issued it (a process, a client, `nemesis`); one timeline lane each. */
  readonly client: string;
  readonly input: I;
  /**
   * undefined exactly when the outcome is unknown: it may have taken effect at any point after `call`,
   * or not at all. Give such an operation `ret = Infinity`: placing it last then stands for "never
   * took effect", so the model's step needs no separate no-op case.
   */
  readonly output: O | undefined;
  readonly call: number;
  readonly ret: number;
}

/** A sequential specification: what the object does when operations take effect one at a time. */
export interface LinearizabilityModel<S, I, O> {
  init(): S;
  /** The state after applying input->output in `state`, or undefined if that answer is illegal there. output undefined: unknown outcome, any answer allowed. */
  step(state: S, input: I, output: O | undefined): S | undefined;
  /** A canonical string of the state for memoisation (equal states, equal strings). */
  hash(state: S): string;
  /** Optional: split a history into independent sub-histories (e.g. per key). Must return ALL operations; soundness is the model's responsibility. */
  partition?(ops: readonly Operation<I, O>[]): Operation<I, O>[][];
  /** Optional: a name for one part that `partition` returned (e.g. its key), reported as the part's `label`. */
  partitionLabel?(ops: readonly Operation<I, O>[]): string;
  describeOperation?(input: I, output: O | undefined): string;
  describeState?(state: S): string;
}

/** A sequential specification whose step may lead to several states (an empty array: illegal). */
export interface NondeterministicModel<S, I, O> extends Omit<LinearizabilityModel<S, I, O>, 'step'> {
  step(state: S, input: I, output: O | undefined): readonly S[];
}

/** The verdict on a history: `unknown` when the search could not finish (see `UnknownReason`). */
export type CheckResult = 'linearizable' | 'not-linearizable' | 'unknown';

/**
 * The verdict on one part: a `CheckResult`, or `not-checked` when the search of this part was
 * stopped unfinished (or never started) because another part was already found not linearizable.
 */
export type PartitionResult = CheckResult | 'not-checked';

/**
 * Why a search answered `unknown`: `timeout` (`timeoutMs` ran out), `memory` (the memo reached
 * `maxStates` entries), `model-error` (a model function threw; `error` says which and what).
 */
export type UnknownReason = 'timeout' | 'memory' | 'model-error';

/** The verdict on one independent sub-history. */
export interface PartitionReport {
  readonly result: PartitionResult;
  /** The model's name for this part (`partitionLabel`), e.g. the key; absent when the model gives none. */
  readonly label?: string;
  /** How many operations the sub-history holds. */
  readonly ops: number;
  /** Op ids of the longest linearizable prefix found, in linearization order (filled when not linearizable, or unknown). */
  readonly longestPrefix: number[];
  /** Where the longest prefix got stuck: the operations that could not be placed next, and the state there. */
  readonly stuck?: { readonly opIds: number[]; readonly state: string };
  /** Memo entries (placed operations, state) the search recorded: how much it searched. */
  readonly statesExplored: number;
  /** Set exactly when `result` is `unknown`. */
  readonly reason?: UnknownReason;
  /** With reason `model-error`: which model function threw, on which operation, and its message. */
  readonly error?: string;
}

/** What `checkOperations` returns: plain, serialisable data. */
export interface LinearizabilityReport {
  readonly result: CheckResult;
  /** Set exactly when `result` is `unknown`: `model-error` if any part had one, else `memory`, else `timeout`. */
  readonly reason?: UnknownReason;
  /** With reason `model-error` raised by `partition` itself (then `partitions` is empty). */
  readonly error?: string;
  readonly elapsedMs: number;
  /** One report per part, in the order the model's `partition` returned them. */
  readonly partitions: PartitionReport[];
}

/** Options of `checkOperations`; every field optional. */
export interface CheckOptions {
  /** Give up with `unknown` (reason `timeout`) after this long, whole history, all partitions. Default: no limit. */
  readonly timeoutMs?: number;
  /**
   * Memory bound: the most memo entries (pairs of placed operations and state, plus distinct model
   * states) all partitions searched at once may hold; reaching it makes that part `unknown` with
   * reason `memory`. Default `DEFAULT_MAX_STATES` (4,000,000); at most `MAX_STATES_LIMIT` (16,000,000).
   */
  readonly maxStates?: number;
  /** Search every part to the end even after one is not linearizable (a full report, slower). Default false. */
  readonly checkAllPartitions?: boolean;
}
