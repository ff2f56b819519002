import type { PropertyDefinition } from './catalog.js';
import type { PropertyConstraints, PropertyResult } from './check-runner.js';
import type { Replayed } from './replay.js';
import { checkOnWorkers, type PropertyWorkers } from './workers/worker-pool.js';

/**
 * What the suite decides, apart from how a CLI parses and prints: a regression file's verdict, and
 * where a property's runs go (worker streams, or this process).
 */

/** A regression file's verdict: a variant's file must still fail; a fixed bug's file must pass. */
export function regressionVerdict(r: Replayed): { readonly ok: boolean; readonly verdict: string } {
  const expectFail = r.failure.variant !== null;
  const ok = expectFail ? r.reproduced : !r.reproduced;
  const verdict = expectFail
    ? ok
      ? 'ok (variant still caught)'
      : 'NO LONGER CAUGHT (the variant passed: the suite lost this bug)'
    : ok
      ? 'ok (fixed, still passes)'
      : 'FAILS AGAIN (the fixed bug is back)';
  return { ok, verdict };
}

/** Checks `property` over `streams` worker streams when there is more than one (and workers), else here. */
export function runPropertyCheck(
  property: PropertyDefinition,
  constraints: PropertyConstraints & { runs: number },
  workers: PropertyWorkers | undefined,
  streams: number,
): Promise<PropertyResult> {
  return workers && streams > 1 ? checkOnWorkers(workers, property.name, constraints, streams) : property.check(constraints);
}
