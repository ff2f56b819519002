import type { Layer, PropertyConstraints, PropertyResult } from './check-runner.js';
import { CONNECTIVITY_PROPERTY, checkConnectivityProperty } from './connectivity/connectivity-property.js';
import { checkLimitsProperty, LIMITS_PROPERTY } from './connectivity/limits-property.js';
import { checkEnvironmentProperty, ENVIRONMENT_PROPERTY } from './environment-property.js';
import { checkKeysProperty, KEYS_PROPERTY } from './keys-property.js';
import { minimiseFailure, PROGRAM_SHAPE } from './minimise.js';
import { checkParallelProperty, PARALLEL_PROPERTY } from './parallel/parallel-property.js';
import { parseProgram } from './parallel/program-text.js';
import { checkPoolProperty, POOL_PROPERTY } from './pool-property.js';
import { STEPS_SHAPE } from './sequential-minimise.js';

/** A property the CLIs can run, replay and fuzz. */
export interface PropertyDefinition {
  readonly name: string;
  readonly description: string;
  /** Whether it can run against `--target` servers (it needs no control over them). */
  readonly supportsTarget: boolean;
  /**
   * Runs per layer when `--runs` is not given, where the CLIs' defaults (200 live, 3000 simulated)
   * would make the default `npm run properties` too long: a run of this property takes seconds.
   */
  readonly defaultRuns?: Partial<Record<Layer, number>>;
  check(constraints: PropertyConstraints): Promise<PropertyResult>;
  /**
   * Minimises a failure it found (its counterexample's steps, on the schedule it failed on, then
   * fresh ones), where the property can: what `check` does itself after shrinking, offered apart
   * for a failure found without shrinking (the self-check, a fuzz batch).
   */
  minimise?(constraints: PropertyConstraints, failure: PropertyResult): Promise<PropertyResult>;
}

export const PROPERTIES: readonly PropertyDefinition[] = [
  {
    name: POOL_PROPERTY,
    description:
      'generated command sequences (pool, requests, waves, health, stats, server faults) checked step by step against the model',
    supportsTarget: true,
    check: checkPoolProperty,
    minimise: (c, r) => minimiseFailure(c, r, r.counterexample ?? [], STEPS_SHAPE, checkPoolProperty),
  },
  {
    name: PARALLEL_PROPERTY,
    description:
      'parallel programs (2-4 clients at once beside a nemesis, one key held back to check progress); each history checked for linearizability against the pool model, plus latency, ledgers, metrics and leaks',
    supportsTarget: true,
    check: checkParallelProperty,
    minimise: (c, r) => minimiseFailure(c, r, parseProgram(r.counterexample ?? []), PROGRAM_SHAPE, checkParallelProperty),
  },
  {
    name: KEYS_PROPERTY,
    description: 'concurrent gets with different channel options: one connection per distinct key, counted on the server',
    supportsTarget: false,
    check: checkKeysProperty,
  },
  {
    name: CONNECTIVITY_PROPERTY,
    description:
      "gRPC's connectivity specs on the live layer: reconnect backoff counted at the server, no reconnect while idle, fail-fast and wait-for-ready calls, recovery within the backoff bound, queued calls ended by a close (skipped on the simulated layer)",
    supportsTarget: false,
    defaultRuns: { live: 16 },
    check: checkConnectivityProperty,
  },
  {
    name: LIMITS_PROPERTY,
    description:
      "message sizes from empty to past the receive limit and more calls at once than the server's stream limit, on one connection (live layer only)",
    supportsTarget: false,
    defaultRuns: { live: 24 },
    check: checkLimitsProperty,
  },
  {
    name: ENVIRONMENT_PROPERTY,
    description:
      "the seed's TestEnvironment built and disposed in generated lifecycles (pools made with newPool, clients, calls, a dispose in flight or after, twice): every call served once and counted once, nothing left open after dispose (live layer only)",
    supportsTarget: false,
    defaultRuns: { live: 50 },
    check: checkEnvironmentProperty,
  },
];

export function findProperty(name: string): PropertyDefinition | undefined {
  return PROPERTIES.find((p) => p.name === name);
}
