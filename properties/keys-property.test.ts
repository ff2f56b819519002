import { describe, expect, it } from 'vitest';
import { FINDINGS, hasIpv6Loopback } from './keys/addresses.js';
import { KEYS_VARIANTS } from './keys/variants.js';
import { checkKeysProperty } from './keys-property.js';

// Fixed seeds keep `npm test` reproducible; `npm run properties` and the fuzz explore fresh ones.
const SEED = 20_261_206;

describe('keys-isolate with credentials, address spellings and option sets', () => {
  it.each([
    ['simulated', 300],
    ['live', 30],
  ] as const)('passes on the real pool, %s layer, generating every dimension', async (layer, runs) => {
    const r = await checkKeysProperty({ layer, runs, seed: SEED });
    expect(r.error).toBeUndefined();
    expect(r).toMatchObject({ passed: true, runs, voidRuns: { count: 0 } });
    const counts = r.commandCounts ?? {};
    for (const name of ['insecure', 'tls:anon', 'tls:alice', 'tls:bob', 'spelling:ipv4', 'spelling:localhost', 'respelled']) {
      expect(counts[name], name).toBeGreaterThan(0);
    }
    if (hasIpv6Loopback()) expect(counts['spelling:ipv6']).toBeGreaterThan(0);
    for (const c of ['none', 'ua-a', 'ua-b', 'ua-a+x', 'x', 'ua-b+max']) expect(counts[`options:${c}`], c).toBeGreaterThan(0);
  });

  it('runs a case read back from its steps (a failure file), on the live layer', async () => {
    const steps = [
      'servers(0=tls@localhost, 1=insecure@random)',
      'get(0, localhost/upper, tls:alice#1, ua-a+x/reordered)',
      'get(0, localhost/plain, tls:alice#1, ua-a+x/ordered)',
      'get(0, ipv4/plain, tls:alice#1, ua-a+x/ordered)',
      'get(0, localhost/plain, tls:bob#1, ua-a+x/ordered)',
      'get(0, localhost/plain, tls:anon#2, x/plain)',
      'get(1, ipv4/plain, insecure#2, none/empty)',
      'get(1, ipv4/plain, insecure, none/omitted)',
    ];
    const r = await checkKeysProperty({ layer: 'live', runs: 2, steps, seed: SEED });
    expect(r.error).toBeUndefined();
    expect(r.lastSteps).toEqual(steps);
    expect(r.commandCounts).toMatchObject({ respelled: 4, 'tls:alice': 6, 'spelling:localhost': 8 });
  });
});

// Each known finding: generated, it fails the property. When the pool changes, this fails: then the
// finding leaves FINDINGS and its spellings join the default generation.
describe('the findings of keys-isolate on the real pool', () => {
  it.each([
    ['ipv6-zero-compression', /equal keys must share one connection/],
    ['port-leading-zero', /InvalidAddressError.*invalid address ".*:0\d{5}": it is not host:port/],
  ])('%s', async (finding, message) => {
    expect(FINDINGS[finding]).toBeDefined();
    const r = await checkKeysProperty({ layer: 'simulated', runs: 300, seed: SEED }, { findings: [finding] });
    expect(r.passed).toBe(false);
    expect(r.error).toMatch(message);
  });
});

// The variants of properties/keys/variants.ts, each caught where a layer can see it (and shrunk to
// its shortest, or one more): every one on the simulated layer; on the live layer the one only it
// can see, and the two that break credentials isolation.
const LIVE = new Set(['connector-defaults-over-caller-options', 'keys-ignore-credentials', 'keys-credentials-by-class']);
describe('keys-isolate catches the variants of its dimensions', () => {
  it.each(
    KEYS_VARIANTS.flatMap((v) =>
      (['simulated', 'live'] as const)
        .filter((layer) => v.blindSpot?.layer !== layer && (layer === 'simulated' || LIVE.has(v.name)))
        .map((layer) => [v.name, layer, v] as const),
    ),
  )('%s (%s)', async (_name, layer, variant) => {
    const r = await checkKeysProperty({ variant, layer, runs: layer === 'live' ? 200 : 1_000, seed: SEED });
    expect(r.passed).toBe(false);
    expect(r.error).toMatch(/ModelDisagreement/);
    expect(r.counterexample?.length ?? 0).toBeGreaterThanOrEqual(1 + variant.shortest.commands);
    expect(r.counterexample?.length ?? 0).toBeLessThanOrEqual(2 + variant.shortest.commands);
  });
});
