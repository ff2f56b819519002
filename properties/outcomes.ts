import type { HealthOutcome, Outcome } from '../models/outcome.js';
import { GrpcStatusError, PoolClosedError } from '../src/pool/errors.js';

/** What the system under test did, in the model's words. `unexpected:` never matches a model outcome. */
export type Observed = Outcome | HealthOutcome | `unexpected:${string}`;

export function outcomeOfError(error: unknown): Observed {
  if (error instanceof PoolClosedError) return 'pool-closed';
  if (error instanceof GrpcStatusError) return `status:${error.status}`;
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
