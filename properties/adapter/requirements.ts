import type { PropertyConstraints, PropertyResult } from '../check-runner.js';
import { notOnThisLayer } from '../connectivity/live-only.js';
import { type PoolAdapter, type PoolFeatures, preciseModelApplies } from './adapter.js';

/** What a property needs of the pool under test. */
export interface Needs {
  /** The precise model must describe the pool (one connection per key, kept while idle, drained). */
  readonly preciseModel?: boolean;
  readonly features?: readonly (keyof PoolFeatures)[];
}

/** Why the adapter cannot run a property that needs `needs` (undefined: it can). */
export function unmetNeeds(adapter: PoolAdapter, needs: Needs): string | undefined {
  const missing = (needs.features ?? []).filter((f) => !adapter.features[f]);
  const why: string[] = [];
  if (needs.preciseModel && !preciseModelApplies(adapter)) {
    const c = adapter.contract;
    why.push(
      `its contract (${c.connectionsPerKey} connection(s) per key, ${c.idleKeptPerKey} kept idle, ${c.drains ? 'drains' : 'no drain'}) is not the one the step-by-step model describes (1 per key, kept, drained)`,
    );
  }
  if (missing.length) why.push(`it does not offer ${missing.join(', ')}`);
  return why.length ? `the ${adapter.name} pool cannot run this property: ${why.join('; ')}` : undefined;
}

/** The result of a property the pool under test cannot run: nothing run, nothing failed, and why. */
export function notForThisPool(property: string, c: PropertyConstraints, why: string): PropertyResult {
  return { ...notOnThisLayer(property, c, why), ...(c.pool ? { pool: c.pool } : {}) };
}
