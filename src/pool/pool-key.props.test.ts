import { fc, test } from '@fast-check/vitest';
import { describe, expect } from 'vitest';
import { CredentialsRegistry, makePoolKey, normaliseAddress } from './pool-key.js';

const host = fc.oneof(
  fc.ipV4(),
  fc.domain().filter((d) => d.length < 60),
  fc.constantFrom('[::1]', '[FE80::1]', 'LocalHost'),
);
const port = fc.integer({ min: 1, max: 65_535 });
const options = fc.dictionary(fc.stringMatching(/^grpc\.[a-z_]{1,12}$/), fc.oneof(fc.integer(), fc.string({ maxLength: 5 })), {
  maxKeys: 4,
});

describe('pool keys', () => {
  test.prop([host, port])('normalising is idempotent and case-insensitive in the host', (h, p) => {
    const once = normaliseAddress(`${h}:${p}`);
    expect(normaliseAddress(once)).toBe(once);
    expect(normaliseAddress(`${h.toUpperCase()}:${p}`)).toBe(once);
    expect(once.endsWith(`:${p}`)).toBe(true);
  });

  test.prop([host, port, options, options])('two keys are equal exactly when their options are equal', (h, p, a, b) => {
    const registry = new CredentialsRegistry();
    const ka = makePoolKey(`${h}:${p}`, { channelOptions: a }, registry);
    const kb = makePoolKey(`${h}:${p}`, { channelOptions: b }, registry);
    const reversed = Object.fromEntries(Object.entries(a).reverse());
    expect(makePoolKey(`${h}:${p}`, { channelOptions: reversed }, registry).id).toBe(ka.id);
    const same = JSON.stringify(Object.entries(a).sort()) === JSON.stringify(Object.entries(b).sort());
    expect(ka.id === kb.id).toBe(same);
  });
});
