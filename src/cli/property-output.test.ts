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
