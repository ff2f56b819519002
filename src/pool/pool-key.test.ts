import * as grpc from '@grpc/grpc-js';
import { describe, expect, it } from 'vitest';
import { CredentialsRegistry, canonicalChannelOptions, makePoolKey, normaliseAddress } from './pool-key.js';

describe('normaliseAddress', () => {
  it.each([
    ['127.0.0.1:50051', '127.0.0.1:50051'],
    ['LocalHost:0080', 'localhost:80'],
    ['[::1]:9', '[::1]:9'],
    ['[FE80::1]:65535', '[fe80::1]:65535'],
    [' 127.0.0.1:1 ', '127.0.0.1:1'],
  ])('%s -> %s', (input, expected) => {
    expect(normaliseAddress(input)).toBe(expected);
  });

  it.each([
    ['', /non-empty string/],
    ['   ', /non-empty string/],
    ['127.0.0.1:1 trailing', /not host:port/],
    [42, /non-empty string/],
    ['127.0.0.1', /not host:port/],
    ['127.0.0.1:0', /outside 1\.\.65535/],
    ['127.0.0.1:70000', /outside 1\.\.65535/],
    ['http://x:1', /not host:port/],
  ])('rejects %j with InvalidAddressError', (input, message) => {
    expect(() => normaliseAddress(input)).toThrow(message);
    expect(() => normaliseAddress(input)).toThrow(expect.objectContaining({ code: 'ERR_INVALID_ADDRESS' }));
  });
});

describe('makePoolKey', () => {
  it('treats every insecure credentials object as one identity, and each createSsl() as its own', () => {
    const registry = new CredentialsRegistry();
    const a = makePoolKey('127.0.0.1:1', { credentials: grpc.credentials.createInsecure() }, registry);
    const b = makePoolKey('127.0.0.1:1', {}, registry);
    expect(a.id).toBe(b.id);
    const ssl1 = grpc.credentials.createSsl();
    const ssl2 = grpc.credentials.createSsl();
    const k1 = makePoolKey('127.0.0.1:1', { credentials: ssl1 }, registry);
    const k2 = makePoolKey('127.0.0.1:1', { credentials: ssl2 }, registry);
    expect(k1.id).not.toBe(k2.id);
    expect(makePoolKey('127.0.0.1:1', { credentials: ssl1 }, registry).id).toBe(k1.id);
  });

  it('separates keys by channel options, whatever their order', () => {
    const registry = new CredentialsRegistry();
    const plain = makePoolKey('127.0.0.1:1', {}, registry);
    const x = makePoolKey('127.0.0.1:1', { channelOptions: { 'grpc.a': 1, 'grpc.b': 'x' } }, registry);
    const y = makePoolKey('127.0.0.1:1', { channelOptions: { 'grpc.b': 'x', 'grpc.a': 1 } }, registry);
    expect(x.id).toBe(y.id);
    expect(x.id).not.toBe(plain.id);
  });

  it('rejects malformed options with InvalidOptionsError', () => {
    const registry = new CredentialsRegistry();
    expect(() => canonicalChannelOptions([])).toThrow('channelOptions must be an object of name -> string|number; got an array');
    expect(() => canonicalChannelOptions(null)).toThrow(/got null$/);
    expect(() => canonicalChannelOptions('x')).toThrow(/got string x$/);
    expect(() => canonicalChannelOptions({ ' ': 1 })).toThrow(/empty option name/);
    expect(() => canonicalChannelOptions({ 'grpc.x': true })).toThrow(
      'channel option grpc.x must be a string or a finite number; got boolean true',
    );
    expect(() => canonicalChannelOptions({ 'grpc.x': {} })).toThrow(/got an object$/);
    expect(() => makePoolKey('127.0.0.1:1', null as never, registry)).toThrow(/key options must be an object; got null/);
    expect(() => makePoolKey('127.0.0.1:1', { credentials: { _equals: 1 } as never }, registry)).toThrow(/ChannelCredentials/);
    expect(() => canonicalChannelOptions({ '': 1 })).toThrow(/empty option name/);
    expect(() => canonicalChannelOptions({ 'grpc.x': Number.NaN })).toThrow(/finite number/);
    expect(() => canonicalChannelOptions({ 'grpc.x': {} })).toThrow(expect.objectContaining({ code: 'ERR_INVALID_OPTIONS' }));
    expect(() => makePoolKey('127.0.0.1:1', 'nope' as never, registry)).toThrow(/key options must be an object/);
    expect(() => makePoolKey('127.0.0.1:1', { credentials: {} as never }, registry)).toThrow(/ChannelCredentials/);
  });
});
