import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { findVariant } from '../variants/index.js';
import {
  CONNECTIVITY_LIVE_ONLY,
  checkConnectivityProperty,
  connectivityScenarios,
  parseConnectivityStep,
} from './connectivity-property.js';

// A fixed seed keeps `npm test` reproducible; `npm run properties` explores fresh ones.
const SEED = 20_261_127;

describe('connectivity-spec', () => {
  it('is skipped, not failed, on the simulated layer, saying why', async () => {
    const r = await checkConnectivityProperty({ layer: 'simulated', runs: 10 });
    expect(r).toMatchObject({ passed: true, runs: 0, skipped: CONNECTIVITY_LIVE_ONLY });
  });

  it('passes on the real stack (live layer, real servers on loopback)', async () => {
    const r = await checkConnectivityProperty({ layer: 'live', runs: 8, seed: SEED });
    expect(r.error).toBeUndefined();
    expect(r).toMatchObject({ passed: true, runs: 8 });
  });

  it('reads every scenario back from the text a failure file records', () => {
    fc.assert(
      fc.property(connectivityScenarios(), (s) => {
        expect(String(parseConnectivityStep(String(s)))).toBe(String(s));
      }),
    );
  });

  // Each variant on a scenario that shows it: the check named in the message is the one that caught it.
  it.each([
    [
      'connector-drops-backoff-options',
      'backoff(initial=50ms, max=200ms, at=key, refuse=reset, calls=none, channels=1)',
      /no retry for \d+ ms after its attempt 1|first retry after/,
    ],
    ['connector-reconnects-on-idle', 'idle(calls=1, drop=goaway, window=300ms)', /opened a new one within 300 ms/],
    [
      'connector-waits-for-ready-always',
      'outage(initial=200ms, max=1000ms, refuse=reset, down=2 attempts, wfr=no, calls=50ms)',
      /started while the server was down ended OK after \d+ ms/,
    ],
    [
      'client-drops-wait-for-ready',
      'outage(initial=50ms, max=100ms, refuse=reset, down=1 attempts, wfr=yes, calls=none)',
      /the wait-for-ready call ended UNAVAILABLE/,
    ],
    [
      'close-skips-unready-channels',
      'close-queued(in=connecting, wfr=yes, deadline=1500ms)',
      /ended DEADLINE_EXCEEDED \d+ ms after the close/,
    ],
  ])('fails on %s', async (name, step, message) => {
    const variant = findVariant(name);
    if (!variant) throw new Error(`${name} is missing from the catalogue`);
    const r = await checkConnectivityProperty({ layer: 'live', variant, steps: [step], runs: 1, seed: SEED, noShrink: true });
    expect(r.passed).toBe(false);
    expect(r.error).toMatch(message);
  });
});
