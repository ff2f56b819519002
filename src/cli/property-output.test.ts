import { afterEach, describe, expect, it } from 'vitest';
import type { PropertyResult } from '../../properties/check-runner.js';
import { GRPC_JS_DIR_ENV } from '../pool/grpc-js-release.js';
import { failureDetails } from './property-output.js';

const failed = {
  property: 'connectivity-spec',
  layer: 'live',
  passed: false,
  seed: 7,
  path: '0:1',
  shrinks: 1,
  counterexample: ['step'],
  error: 'boom',
  constraints: { maxCommands: 1, addresses: 1, runs: 1 },
  grpcJs: '1.8.0',
  targets: ['127.0.0.1:5000'],
} as unknown as PropertyResult;

describe('the printed "same case" runs where the failure was found', () => {
  const saved = process.env[GRPC_JS_DIR_ENV];
  afterEach(() => {
    if (saved === undefined) delete process.env[GRPC_JS_DIR_ENV];
    else process.env[GRPC_JS_DIR_ENV] = saved;
  });

  it('carries --target, and --grpc-js when the client ran on a chosen release', () => {
    process.env[GRPC_JS_DIR_ENV] = '/cache/grpc-js/1.8.0';
    expect(failureDetails(failed)).toMatch(/the same case: .* --target 127\.0\.0\.1:5000 --grpc-js 1\.8\.0 --no-regressions/);
  });

  it('leaves --grpc-js out on the release package.json pins', () => {
    delete process.env[GRPC_JS_DIR_ENV];
    expect(failureDetails(failed)).not.toMatch(/--grpc-js/);
  });
});

describe('a minimised case is described as what the minimiser did', () => {
  it('fewer operations, or as many made simpler; never "from 1 to 1"', () => {
    const fewer = failureDetails({ ...failed, minimised: { fromCommands: 4, toCommands: 2, candidates: 9 } });
    expect(fewer).toContain('minimised after shrinking, from 4 to 2 operations (9 candidates tried)');
    const simpler = failureDetails({ ...failed, minimised: { fromCommands: 1, toCommands: 1, candidates: 3 } });
    expect(simpler).toContain('minimised after shrinking, simplified, still 1 operation (3 candidates tried)');
    expect(simpler).not.toMatch(/from 1 to 1/);
    // Its steps are not what any --seed/--path generates: no "same case" command is offered.
    expect(simpler).not.toContain('the same case:');
    expect(simpler).toContain('its failure file replays it');
  });
});
