/**
 * Types shared by the linearizability checker and the models it checks against. Types only: the
 * search lives in `checker.ts`, concrete models beside their history parsers.
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
  describeOperation?(input: I, output: O | undefined): string;
  describeState?(state: S): string;
}

/** A sequential specification whose step may lead to several states (an empty array: illegal). */
export interface NondeterministicModel<S, I, O> extends Omit<LinearizabilityModel<S, I, O>, 'step'> {
  step(state: S, input: I, output: O | undefined): readonly S[];
}

/** `linearizable`, `not-linearizable`, or `unknown` when the search ran out of time. */
export type CheckResult = 'linearizable' | 'not-linearizable' | 'unknown';

/** The verdict on one independent sub-history. */
export interface PartitionReport {
  readonly result: CheckResult;
  /** How many operations the sub-history holds. */
  readonly ops: number;
  /** Op ids of the longest linearizable prefix found, in linearization order (filled when not linearizable). */
  readonly longestPrefix: number[];
  /** Where the longest prefix got stuck: the operations that could not be placed next, and the state there. */
  readonly stuck?: { readonly opIds: number[]; readonly state: string };
}

/** What `checkOperations` returns: plain, serialisable data. */
export interface LinearizabilityReport {
  readonly result: CheckResult;
  readonly elapsedMs: number;
  readonly partitions: PartitionReport[];
}

/** Options of `checkOperations`; every field optional. */
export interface CheckOptions {
  /** Give up with `unknown` after this long (whole history, all partitions). Default: no limit. */
  readonly timeoutMs?: number;
}
