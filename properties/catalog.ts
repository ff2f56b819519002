import type { PropertyConstraints, PropertyResult } from './check-runner.js';
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
];

export function findProperty(name: string): PropertyDefinition | undefined {
  return PROPERTIES.find((p) => p.name === name);
}
