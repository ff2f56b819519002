import fc from 'fast-check';
import { grpcJsRelease } from '../../src/pool/grpc-js-release.js';
import type { PropertyConstraints, PropertyResult } from '../check-runner.js';

/**
 * The result of a live-only property asked to run on the simulated layer: nothing run, nothing
 * failed (`runs` 0, as a check whose budget ran out before its first run). The CLIs say it is
 * skipped, and why, before they would ask; this keeps other callers (self-check, workers) honest.
 */
export function notOnThisLayer(property: string, c: PropertyConstraints, why: string): PropertyResult {
  return {
    property,
    layer: c.layer ?? 'simulated',
    variant: c.variant?.name,
    passed: true,
    interrupted: false,
    runs: 0,
    seed: c.seed ?? 0,
    wallMs: 0,
    path: undefined,
    commandsReplayPath: undefined,
    counterexample: undefined,
    lastSteps: undefined,
    error: undefined,
    shrinks: 0,
    fastCheckVersion: fc.__version,
    grpcJs: grpcJsRelease(),
    constraints: { maxCommands: c.maxCommands ?? 1, addresses: 1, runs: 0 },
    skipped: why,
  };
}
