import { fc, test } from '@fast-check/vitest';
import { describe, expect, it } from 'vitest';
import { CredentialsRegistry, makePoolKey } from '../../src/pool/pool-key.js';
import { ModelDisagreement } from '../outcomes.js';
import { ProgramTextError } from '../parallel/program-text.js';
import { SimulatedBackend } from '../simulated-backend.js';
import {
  AddressRuleError,
  canonicalAddress,
  canonicalIpv6,
  classesFor,
  FINDINGS,
  formsOf,
  HOST_KINDS,
  SPELLINGS,
  type SpellingClass,
} from './addresses.js';
import { caseEnvironment, countCase, describeCase, keysCases, parseKeysCase } from './case.js';
import { checkServed, type PlannedCall } from './check.js';
import {
  credentialsFor,
  credentialsKey,
  IDENTITIES,
  identityOf,
  identityServed,
  instancesOf,
  parseCredentials,
} from './credentials.js';
import { CONNECTOR_DEFAULT_USER_AGENT, expectedUserAgent, OPTIONS_FORMS, optionsKey, userAgentMatches } from './options.js';
import type { Served } from './servers.js';
import { SimulatedKeysServers } from './servers.js';

const ALL_FINDINGS = new Set(Object.keys(FINDINGS));
const CLASSES: readonly SpellingClass[] = ['ipv4', 'ipv4-mapped', 'localhost', 'ipv6'];

describe("the property's address rule", () => {
  it('writes IPv6 addresses as RFC 5952 does', () => {
    expect(canonicalIpv6('2001:0db8::0001')).toBe('2001:db8::1');
    expect(canonicalIpv6('2001:db8:0:0:1:0:0:1')).toBe('2001:db8::1:0:0:1');
    expect(canonicalIpv6('2001:db8:0:0:0:0:2:1')).toBe('2001:db8::2:1');
    expect(canonicalIpv6('2001:db8:0:1:1:1:1:1')).toBe('2001:db8:0:1:1:1:1:1');
    expect(canonicalIpv6('2001:DB8::A')).toBe('2001:db8::a');
    expect(canonicalIpv6('0:0:0:0:0:0:0:1')).toBe('::1');
    expect(canonicalIpv6('::')).toBe('::');
    expect(canonicalIpv6('::ffff:7f00:1')).toBe('::ffff:127.0.0.1');
    expect(canonicalIpv6('0:0:0:0:0:FFFF:127.1.2.3')).toBe('::ffff:127.1.2.3');
    for (const bad of ['1::2::3', '1:2:3:4:5:6:7:8:9', '12345::', 'g::1', '1:2:3:4:5:6:7', '::1.2.3.256']) {
      expect(() => canonicalIpv6(bad), bad).toThrow(AddressRuleError);
    }
  });

  it('one canonical address per class, whatever the form; another per class (names and families never merge)', () => {
    for (const host of HOST_KINDS) {
      const v4 = host === 'localhost' ? '127.0.0.1' : '127.20.30.40';
      const byClass = classesFor(host, true).map(
        (c) => new Set(formsOf(c, ALL_FINDINGS).map((f) => canonicalAddress(f.spell(v4, 43_210)))),
      );
      for (const forms of byClass) expect(forms.size).toBe(1);
      expect(new Set(byClass.map((s) => [...s][0])).size).toBe(byClass.length);
    }
    expect(canonicalAddress('LocalHost:0080')).toBe('localhost:80');
    expect(() => canonicalAddress('127.0.0.010:80')).toThrow(AddressRuleError);
    expect(() => canonicalAddress('localhost')).toThrow(AddressRuleError);
  });

  it('classes a server can be reached by: IPv6 ones only with an IPv6 loopback, localhost only on localhost servers', () => {
    expect(classesFor('random', false)).toEqual(['ipv4']);
    expect(classesFor('random', true)).toEqual(['ipv4', 'ipv4-mapped']);
    expect(classesFor('localhost', false)).toEqual(['localhost', 'ipv4']);
    expect(classesFor('localhost', true)).toEqual(['localhost', 'ipv4', 'ipv6', 'ipv4-mapped']);
    for (const c of CLASSES) expect(formsOf(c, new Set()).every((f) => f.finding === undefined)).toBe(true);
  });

  // When the pool's keys change, this fails: then the finding goes (its forms join the default generation).
  it("agrees with the pool's keys on every generated form, and differs exactly on the forms of the known findings", () => {
    const registry = new CredentialsRegistry();
    const poolKey = (a: string) => {
      try {
        return makePoolKey(a, undefined, registry).id;
      } catch (error) {
        return `refused: ${(error as Error).message}`;
      }
    };
    const disagreeing = new Set<string>();
    for (const c of CLASSES) {
      const forms = formsOf(c, ALL_FINDINGS);
      const plain = forms.find((f) => f.form === 'plain');
      if (!plain) throw new Error(`no plain form of ${c}`);
      for (const f of forms) {
        const a = f.spell('127.20.30.40', 43_210);
        const b = plain.spell('127.20.30.40', 43_210);
        const agree = poolKey(a) === poolKey(b) && !poolKey(a).startsWith('refused');
        if (!agree) disagreeing.add(`${c}/${f.form}:${f.finding ?? 'none'}`);
        expect(agree, `${a} vs ${b}`).toBe(f.finding === undefined);
      }
    }
    expect(new Set([...disagreeing].map((d) => d.split(':').at(-1)))).toEqual(ALL_FINDINGS);
  });
});

describe('options and credentials as the property keys them', () => {
  it('forms of one option class are one key; classes differ; types count', () => {
    const byClass = new Map<string, Set<string>>();
    for (const f of OPTIONS_FORMS)
      byClass.set(f.optionsClass, (byClass.get(f.optionsClass) ?? new Set()).add(optionsKey(f.build())));
    for (const keys of byClass.values()) expect(keys.size).toBe(1);
    expect(new Set([...byClass.values()].map((s) => [...s][0])).size).toBe(byClass.size);
    expect(optionsKey({ a: 4 })).not.toBe(optionsKey({ a: '4' }));
    expect(optionsKey(undefined)).toBe(optionsKey({}));
  });

  it("expects the caller's user agent, else the connector's default, and the secondary agent last", () => {
    expect(expectedUserAgent(undefined)).toEqual({ primary: CONNECTOR_DEFAULT_USER_AGENT });
    const both = expectedUserAgent({ 'grpc.secondary_user_agent': 'x', 'grpc.primary_user_agent': 'a' });
    expect(both).toEqual({ primary: 'a', secondary: 'x' });
    expect(userAgentMatches('a grpc-node-js/1.14.7 x', both)).toBe(true);
    expect(userAgentMatches(`${CONNECTOR_DEFAULT_USER_AGENT} grpc-node-js/1.14.7 x`, both)).toBe(false);
    expect(userAgentMatches('a grpc-node-js/1.14.7', both)).toBe(false);
    expect(userAgentMatches(`${CONNECTOR_DEFAULT_USER_AGENT} grpc-node-js/1.8.0`, expectedUserAgent({}))).toBe(true);
  });

  it('insecure credentials are one key, each TLS object its own; identities read back at the seam and from the server', () => {
    for (const identity of IDENTITIES) {
      for (const instance of instancesOf(identity)) {
        const c = { identity, instance };
        expect(parseCredentials(`${identity}${instance === 0 ? '' : `#${instance}`}`)).toEqual(c);
        expect(identityOf(credentialsFor(c))).toBe(identity);
      }
    }
    expect(new Set([0, 1, 2].map((i) => credentialsKey({ identity: 'insecure', instance: i as 0 | 1 | 2 }))).size).toBe(1);
    expect(credentialsKey({ identity: 'tls:bob', instance: 1 })).not.toBe(credentialsKey({ identity: 'tls:bob', instance: 2 }));
    expect(credentialsFor({ identity: 'tls:bob', instance: 1 })).not.toBe(credentialsFor({ identity: 'tls:bob', instance: 2 }));
    expect(parseCredentials('tls:anon#0')).toBeUndefined();
    expect(parseCredentials('tls:carol#1')).toBeUndefined();
    expect([identityServed('insecure', null), identityServed('tls', null), identityServed('tls', 'alice')]).toEqual([
      'insecure',
      'tls:anon',
      'tls:alice',
    ]);
  });
});

describe('keys-isolate cases', () => {
  test.prop([keysCases(2, 12, caseEnvironment(true))])('read back from their steps', (k) => {
    expect(parseKeysCase(describeCase(k), 2)).toEqual(k);
  });

  test.prop([keysCases(3, 8, caseEnvironment())])('call only what a server can answer', (k) => {
    for (const c of k.calls) {
      const plan = k.servers[c.server];
      if (!plan) throw new Error(`server ${c.server} is not in the case`);
      expect(classesFor(plan.host, true)).toContain(c.spelling.spellingClass);
      expect(c.spelling.finding).toBeUndefined();
      expect(plan.kind === 'insecure').toBe(c.credentials.identity === 'insecure');
    }
  });

  it('refuse steps that are not a case', () => {
    const head = 'servers(0=tls@localhost, 1=insecure@random)';
    for (const steps of [
      ['get(0, ipv4/plain, insecure, none/omitted)'],
      [head],
      [head, 'get(2, ipv4/plain, insecure, none/omitted)'],
      [head, 'get(1, ipv4/plain, tls:alice#1, none/omitted)'],
      [head, 'get(0, ipv4/sideways, tls:alice#1, none/omitted)'],
      [head, 'get(0, ipv4/plain, tls:alice#1, none/loud)'],
      ['servers(0=tls@localhost)', 'get(0, ipv4/plain, tls:alice#1, none/omitted)'],
    ]) {
      expect(() => parseKeysCase(steps, 2), steps.join(' | ')).toThrow(ProgramTextError);
    }
  });

  it('counts every dimension, equal keys respelled and near keys, over a sample', () => {
    const counts: Record<string, number> = {};
    for (const k of fc.sample(keysCases(2, 12, caseEnvironment()), { numRuns: 300, seed: 7 })) {
      for (const [name, n] of Object.entries(countCase(k))) counts[name] = (counts[name] ?? 0) + n;
    }
    for (const name of [
      'insecure',
      'tls:anon',
      'tls:alice',
      'tls:bob',
      'spelling:ipv4',
      'spelling:localhost',
      'spelled:upper',
      'options:none',
      'options-spelled:reordered',
      'server:tls@localhost',
      'server:insecure@random',
      'respelled',
      'near:address',
      'near:identity',
      'near:credentials-object',
      'near:options',
    ]) {
      expect(counts[name], name).toBeGreaterThan(0);
    }
  });
});

describe('the simulated servers resolve spellings as a resolver would', () => {
  it('a name to its addresses, IPv4-mapped to IPv4; nothing else', async () => {
    const backend = new SimulatedBackend(2);
    const servers = new SimulatedKeysServers(backend, [
      { kind: 'insecure', host: 'localhost' },
      { kind: 'tls', host: 'random' },
    ]);
    const seen: string[] = [];
    const inner = {
      connect: async (t: { address: string }) => {
        seen.push(t.address);
        return { id: seen.length, keyId: '', address: t.address };
      },
      close: async () => {},
      call: async () => ({ requestId: '', payload: new Uint8Array(), timesSeen: 1, serverId: '' }),
      health: async () => 'SERVING' as const,
    };
    const c = servers.connector(inner);
    const target = (address: string) => ({ keyId: address, address, credentials: undefined, channelOptions: {} });
    const onLocalhost = SPELLINGS.filter((s) => classesFor('localhost', true).includes(s.spellingClass));
    for (const f of onLocalhost) await c.connect(target(servers.spell(0, f)));
    for (const f of SPELLINGS.filter((s) => classesFor('random', true).includes(s.spellingClass))) {
      await c.connect(target(servers.spell(1, f)));
    }
    expect(new Set(seen.slice(0, onLocalhost.length))).toEqual(new Set([backend.addresses[0]]));
    expect(new Set(seen.slice(onLocalhost.length))).toEqual(new Set([backend.addresses[1]]));
    await expect(c.connect(target(`localhost:${backend.addresses[1]?.split(':')[1]}`))).rejects.toThrow(/no simulated server/);
    await expect(c.connect(target('127.0.0.1:1'))).rejects.toThrow(/no simulated server/);
  });
});

describe('checkServed', () => {
  const call = (n: number, identity: string, key: string, server = 0, options?: Record<string, string>): PlannedCall => ({
    requestId: `keys-r-${n}-${identity}`,
    server,
    key,
    spelled: 'h:1',
    describe: `call ${n}`,
    options,
  });
  const served = (p: PlannedCall, connection: string, identity: string, userAgent?: string): Served => ({
    requestId: p.requestId,
    connection,
    identity,
    userAgent: userAgent ?? `${p.options?.['grpc.primary_user_agent'] ?? CONNECTOR_DEFAULT_USER_AGENT} grpc-node-js/1.14.7`,
  });
  const a1 = call(0, 'tls:alice', 'A');
  const a2 = call(1, 'tls:alice', 'A');
  const b = call(2, 'tls:bob', 'B');
  const anon = call(3, 'tls:anon', 'N');
  const good = () => [
    served(a1, 'p1', 'tls:alice'),
    served(a2, 'p1', 'tls:alice'),
    served(b, 'p2', 'tls:bob'),
    served(anon, 'p3', 'tls:anon'),
  ];
  const planned = [a1, a2, b, anon];
  const fails = (records: Served[][], where: 'server' | 'seam' = 'server', plan = planned) => {
    try {
      checkServed(plan, records, where);
    } catch (error) {
      expect(error).toBeInstanceOf(ModelDisagreement);
      return (error as Error).message;
    }
    return 'passed';
  };

  it('passes when every key has its own connection of its identity', () => {
    expect(fails([good(), []])).toBe('passed');
  });

  it('a request served by another server, twice, or never', () => {
    expect(fails([good().slice(1), [served(a1, 'q1', 'tls:alice')]])).toMatch(/served by server\(s\) 1; it names server 0/);
    expect(fails([[...good(), served(b, 'p2', 'tls:bob')], []])).toMatch(/keys-r-2-tls:bob .* served by server\(s\) 0, 0/);
    expect(fails([good().slice(0, 3), []])).toMatch(/keys-r-3-tls:anon .* served by no server/);
  });

  it('a request of one identity over a connection of another', () => {
    const r = good();
    r[2] = served(b, 'p1', 'tls:alice');
    expect(fails([r, []])).toMatch(/keys-r-2-tls:bob .* meant for tls:bob went over connection p1 .* is tls:alice/);
  });

  it('one key over two connections; two keys of one identity over one', () => {
    const split = good();
    split[1] = served(a2, 'p9', 'tls:alice');
    expect(fails([split, []])).toMatch(
      /server 0, tls:alice: 2 connection\(s\) the server saw for 1 distinct key\(s\); one key went over 2/,
    );
    const a3 = call(4, 'tls:alice', 'A2');
    expect(fails([[...good(), served(a3, 'p1', 'tls:alice')], []], 'server', [...planned, a3])).toMatch(
      /tls:alice: 1 connection\(s\) the server saw for 2 distinct key\(s\); different keys shared a connection: \[call 0; call 1\] and \[call 4\]/,
    );
  });

  it("the caller's user agent (live), the key's options at the seam (simulated)", () => {
    const ua = call(0, 'insecure', 'U', 0, { 'grpc.primary_user_agent': 'keys-a' });
    expect(fails([[served(ua, 'p1', 'insecure')]], 'server', [ua])).toBe('passed');
    expect(
      fails([[served(ua, 'p1', 'insecure', `${CONNECTOR_DEFAULT_USER_AGENT} grpc-node-js/1.14.7`)]], 'server', [ua]),
    ).toMatch(/arrived with user-agent "keys-connector-default grpc-node-js\/1.14.7", not \{"primary":"keys-a"\}/);
    const seam = (channelOptions: Record<string, string | number>): Served => ({
      requestId: ua.requestId,
      connection: '#1',
      identity: 'insecure',
      channelOptions,
    });
    expect(fails([[seam({ 'grpc.primary_user_agent': 'keys-a' })]], 'seam', [ua])).toBe('passed');
    expect(fails([[seam({})]], 'seam', [ua])).toMatch(/opened with options \{\}, not the key's/);
  });
});
