import type { PropertyConstraints, PropertyResult } from './check-runner.js';
import { checkKeysProperty, KEYS_PROPERTY } from './keys-property.js';
import { checkParallelProperty, PARALLEL_PROPERTY } from './parallel/parallel-property.js';
import { checkPoolProperty, POOL_PROPERTY } from './pool-property.js';

/** A property the CLIs can run, replay and fuzz. */
export interface PropertyDefinition {
  readonly name: string;
  readonly description: string;
  /** Whether it can run against `--target` servers (it needs no control over them). */
  readonly supportsTarget: boolean;
  check(constraints: PropertyConstraints): Promise<PropertyResult>;
}

export const PROPERTIES: readonly PropertyDefinition[] = [
  {
    name: POOL_PROPERTY,
    description:
      'generated command sequences (pool, requests, waves, health, stats, server faults) checked step by step against the model',
    supportsTarget: true,
    check: checkPoolProperty,
  },
  {
    name: PARALLEL_PROPERTY,
    description:
      'parallel programs (2-4 clients at once beside a nemesis, one key held back to check progress); each history checked for linearizability against the pool model, plus latency, ledgers, metrics and leaks',
    supportsTarget: true,
    check: checkParallelProperty,
  },
  {
    name: KEYS_PROPERTY,
    description: 'concurrent gets with different channel options: one connection per distinct key, counted on the server',
    supportsTarget: false,
    check: checkKeysProperty,
  },
];

export function findProperty(name: string): PropertyDefinition | undefined {
  return PROPERTIES.find((p) => p.name === name);
}
