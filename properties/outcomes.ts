import type { HealthOutcome, Outcome } from '../models/outcome.js';
/** What the system under test did, in the model's words. `unexpected:` never matches a model outcome. */
export type Observed = Outcome | HealthOutcome | `unexpected:${string}`;

/**
 * The model's word for an error. Read by its stable `code`, not by class: a broken variant's pool
 * is loaded from a patched copy of the source, whose error classes are other objects.
 */
export function outcomeOfError(error: unknown): Observed {
  const e = error as { code?: unknown; status?: unknown } | null;
  if (e?.code === 'ERR_POOL_CLOSED') return 'pool-closed';
  if (e?.code === 'ERR_CONNECT') return 'connect-failed';
  if (e?.code === 'ERR_GRPC_STATUS' && typeof e.status === 'number') return `status:${e.status}`;
  return `unexpected:${describeError(error)}`;
}

export function describeError(error: unknown): string {
  if (error instanceof Error) return `${error.name}${'code' in error ? ` [${String(error.code)}]` : ''}: ${error.message}`;
  return String(error);
}

/** Throws a model-disagreement error unless `observed` is one of `allowed`. */
export function expectOneOf(what: string, observed: Observed, allowed: readonly string[]): void {
  if (!allowed.includes(observed)) {
    throw new ModelDisagreement(`${what}: got ${observed}, the model allows ${allowed.join(' | ')}`);
  }
}

/** The system under test did something the model or an invariant does not allow. */
export class ModelDisagreement extends Error {
  readonly code = 'ERR_MODEL_DISAGREEMENT';
  constructor(message: string) {
    super(message);
    this.name = 'ModelDisagreement';
  }
}

/**
 * The harness could not act or observe (a nemesis action failed, a ledger read went unanswered):
 * the run says nothing about the pool, so it is set aside and counted, never a counterexample.
 */
export class HarnessFailure extends Error {
  readonly code = 'ERR_HARNESS';
  constructor(message: string) {
    super(message);
    this.name = 'HarnessFailure';
  }
}

/** Reads from the servers; a read that fails is the observer's failure (`HarnessFailure`), not the pool's. */
export async function observe<T>(what: string, read: () => Promise<T>): Promise<T> {
  try {
    return await read();
  } catch (error) {
    throw new HarnessFailure(`could not ${what}: ${error instanceof Error ? error.message : String(error)}`);
  }
}

/**
 * The harness could not set a run up at all: a server that cannot start, a port that cannot be
 * bound, an API the test servers need missing from the installed @grpc/grpc-js. Nothing about the
 * pool was learned, and every later run would fail the same way: the check stops at once and the
 * CLIs exit 3 naming it, never with a shrunk counterexample.
 */
export class SetupFailure extends Error {
  readonly code = 'ERR_SETUP';
  constructor(message: string) {
    super(message);
    this.name = 'SetupFailure';
  }
}

/** Runs a set-up step of the harness; any error it throws becomes a `SetupFailure` naming `what`. */
export async function setUp<T>(what: string, step: () => T | Promise<T>): Promise<T> {
  try {
    return await step();
  } catch (error) {
    throw new SetupFailure(
      `could not ${what}: ${describeError(error)} (the harness cannot run here, so nothing was checked: not a finding about the pool)`,
    );
  }
}
