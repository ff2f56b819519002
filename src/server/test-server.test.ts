import net from 'node:net';
import tls from 'node:tls';
import * as grpc from '@grpc/grpc-js';
import { afterEach, describe, expect, it } from 'vitest';
import { type LedgerResponseMessage, loadTestProto } from '../proto/load-test-proto.js';
import { TestServer, testClientIdentity, testServerRootCert } from './test-server.js';

const servers: TestServer[] = [];
const clients: grpc.Client[] = [];
afterEach(async () => {
  for (const c of clients.splice(0)) c.close();
  for (const s of servers.splice(0)) await s.close();
});

async function start(options: Parameters<typeof TestServer.start>[0] = {}): Promise<TestServer> {
  const s = await TestServer.start(options);
  servers.push(s);
  return s;
}

// A bare grpc-js client, independent of the pool, so these tests judge the server alone.
function bareClient(address: string, credentials = grpc.credentials.createInsecure(), options: grpc.ChannelOptions = {}) {
  const { Client } = loadTestProto();
  const client = new Client(address, credentials, { 'grpc.use_local_subchannel_pool': 1, ...options });
  clients.push(client);
  const call = (request: { requestId: string; delayMs?: number; failCode?: number; payload?: Buffer }, deadlineMs = 5_000) =>
    new Promise<{ timesSeen: number; serverId: string }>((resolve, reject) =>
      client.Call(request, new grpc.Metadata(), { deadline: Date.now() + deadlineMs }, (e, r) =>
        e ? reject(e) : resolve(r as never),
      ),
    );
  const ledger = (idPrefix = '') =>
    new Promise<LedgerResponseMessage>((resolve, reject) =>
      client.GetLedger({ idPrefix }, new grpc.Metadata(), {}, (e, r) => (e ? reject(e) : resolve(r as LedgerResponseMessage))),
    );
  return { client, call, ledger };
}

describe('TestServer', () => {
  it('starts on an OS-picked port and records each request id with its count', async () => {
    const s = await start();
    expect(s.port).toBeGreaterThan(0);
    expect(s.address).toMatch(new RegExp(`^127\\.\\d+\\.\\d+\\.\\d+:${s.port}$`));
    expect((await start({ host: '127.0.0.1' })).address).toMatch(/^127\.0\.0\.1:\d+$/);
    const c = bareClient(s.address);
    expect((await c.call({ requestId: 'a' })).timesSeen).toBe(1);
    expect((await c.call({ requestId: 'a' })).timesSeen).toBe(2);
    await c.call({ requestId: 'b' });
    expect(s.ledger.entries()).toEqual([
      { requestId: 'a', count: 2 },
      { requestId: 'b', count: 1 },
    ]);
    const remote = await c.ledger('a');
    expect(remote.entries).toEqual([{ requestId: 'a', count: 2 }]);
    expect(remote).toMatchObject({ acceptedConnections: 1, openConnections: 1, totalRequests: 3 });
  });

  it('counts transport connections on its own sockets, including ones that never speak gRPC', async () => {
    const s = await start();
    const raw = net.connect(s.port, s.host);
    await s.ledger.waitUntil((l) => l.openConnections === 1, 5_000, 'raw socket accepted');
    raw.destroy();
    await s.ledger.waitUntil((l) => l.openConnections === 0, 5_000, 'raw socket closed');
    expect(s.ledger.snapshot().acceptedConnections).toBe(1);
  });

  it('delays and fails on request, and refuses a status code that does not exist', async () => {
    const s = await start();
    const c = bareClient(s.address);
    const t0 = performance.now();
    await c.call({ requestId: 'slow', delayMs: 100 });
    expect(performance.now() - t0).toBeGreaterThanOrEqual(95);
    await expect(c.call({ requestId: 'f', failCode: grpc.status.RESOURCE_EXHAUSTED })).rejects.toMatchObject({
      code: grpc.status.RESOURCE_EXHAUSTED,
    });
    await expect(c.call({ requestId: 'bad', failCode: 99 })).rejects.toMatchObject({
      code: grpc.status.INVALID_ARGUMENT,
      details: expect.stringMatching(/not a gRPC status code/),
    });
    await expect(c.call({ requestId: 'late', delayMs: 5_000 }, 100)).rejects.toMatchObject({
      code: grpc.status.DEADLINE_EXCEEDED,
    });
  });

  it('stops gracefully: a call in flight completes, then nothing is open', async () => {
    const s = await start();
    const c = bareClient(s.address);
    const inFlight = c.call({ requestId: 'g', delayMs: 200 });
    await s.ledger.waitUntil((l) => l.totalRequests === 1, 5_000, 'request arrived');
    await s.stop(3_000);
    await expect(inFlight).resolves.toMatchObject({ timesSeen: 1 });
    expect(s.state).toBe('stopped');
    expect(s.ledger.snapshot().openConnections).toBe(0);
    await expect(c.call({ requestId: 'after-stop' }, 1_000)).rejects.toMatchObject({ code: grpc.status.UNAVAILABLE });
  });

  it('kills: calls in flight fail at once; restarts on the same port with a new instance id', async () => {
    const s = await start();
    const c = bareClient(s.address);
    const before = await c.call({ requestId: 'k0' });
    const inFlight = c.call({ requestId: 'k1', delayMs: 10_000 }, 20_000);
    await s.ledger.waitUntil((l) => l.totalRequests === 2, 5_000, 'request arrived');
    const port = s.port;
    await s.kill();
    await expect(inFlight).rejects.toMatchObject({ code: grpc.status.UNAVAILABLE });
    await s.restart();
    expect(s.port).toBe(port);
    const after = await c.call({ requestId: 'k2' });
    expect(after.serverId).not.toBe(before.serverId);
    expect(s.ledger.snapshot()).toMatchObject({ acceptedConnections: 2, openConnections: 1 });
  });

  it('serves grpc.health.v1 with a settable status', async () => {
    const s = await start();
    const { client } = bareClient(s.address);
    const { service } = await import('grpc-health-check');
    const Health = grpc.makeClientConstructor(service, 'grpc.health.v1.Health');
    const health = new Health(s.address, grpc.credentials.createInsecure(), {
      channelOverride: client.getChannel(),
    }) as unknown as grpc.Client & {
      Check(r: { service: string }, cb: (e: grpc.ServiceError | null, r?: { status: string }) => void): void;
    };
    const check = () =>
      new Promise<string>((res, rej) => health.Check({ service: '' }, (e, r) => (e ? rej(e) : res(r?.status ?? ''))));
    expect(await check()).toBe('SERVING');
    s.setServingStatus('NOT_SERVING');
    expect(await check()).toBe('NOT_SERVING');
  });

  it('refuses bad options and wrong lifecycle steps with typed errors', async () => {
    await expect(TestServer.start({ port: -1 })).rejects.toMatchObject({ code: 'ERR_SERVER_OPTIONS' });
    await expect(TestServer.start({ host: '10.0.0.1' })).rejects.toMatchObject({ code: 'ERR_SERVER_OPTIONS' });
    const s = await start();
    await expect(s.restart()).rejects.toMatchObject({ code: 'ERR_SERVER_STATE', message: /it is running/ });
    await s.kill();
    await expect(s.kill()).rejects.toMatchObject({ code: 'ERR_SERVER_STATE' });
    const taken = await start();
    await expect(TestServer.start({ host: taken.host, port: taken.port })).rejects.toMatchObject({
      code: 'ERR_SERVER_STATE',
      message: /EADDRINUSE/,
    });
  });
});

describe('TestServer faults (what a grpc-js client sees)', () => {
  it('goAway: calls in flight finish, the server stays up, the next call opens a new connection', async () => {
    const s = await start();
    const c = bareClient(s.address);
    await c.call({ requestId: 'g0' });
    const inFlight = c.call({ requestId: 'g1', delayMs: 300 });
    await s.ledger.waitUntil((l) => l.totalRequests === 2, 5_000, 'request arrived');
    const goneAway = s.goAway(5_000);
    await expect(inFlight).resolves.toMatchObject({ timesSeen: 1 });
    await goneAway;
    expect(s.state).toBe('running');
    await expect(c.call({ requestId: 'g2' })).resolves.toMatchObject({ timesSeen: 1 });
    expect(s.ledger.snapshot()).toMatchObject({ acceptedConnections: 2, openConnections: 1 });
  });

  it('goAway drops a connection whose calls outlast the grace: the client sees UNAVAILABLE', async () => {
    const s = await start();
    const c = bareClient(s.address);
    const inFlight = c.call({ requestId: 'long', delayMs: 10_000 }, 20_000);
    const dropped = expect(inFlight).rejects.toMatchObject({ code: grpc.status.UNAVAILABLE });
    await s.ledger.waitUntil((l) => l.totalRequests === 1, 5_000, 'request arrived');
    await s.goAway(100);
    await dropped;
    await expect(c.call({ requestId: 'next' })).resolves.toMatchObject({ timesSeen: 1 });
  });

  it('maxConnectionAgeMs: GOAWAY by age; calls keep succeeding over successive connections', async () => {
    // An age of 1 s, not less: a loaded machine can take longer than a shorter age to connect, and
    // grpc-js then retries on a second connection before the first call is served.
    const s = await start({ maxConnectionAgeMs: 1_000, maxConnectionAgeGraceMs: 2_000 });
    const c = bareClient(s.address);
    await c.call({ requestId: 'age-0' });
    await s.ledger.waitUntil((l) => l.acceptedConnections >= 1 && l.openConnections === 0, 10_000, 'aged out');
    const aged = s.ledger.snapshot().acceptedConnections;
    await expect(c.call({ requestId: 'age-1' })).resolves.toMatchObject({ timesSeen: 1 });
    expect(s.ledger.snapshot().acceptedConnections).toBeGreaterThan(aged);
  });

  it('maxConcurrentStreams 1: a grpc-js client queues the extra calls on its side; none fails', async () => {
    const s = await start({ maxConcurrentStreams: 1 });
    const c = bareClient(s.address);
    await c.call({ requestId: 'warm' }); // SETTINGS received: the client knows the limit
    const t0 = performance.now();
    const results = await Promise.allSettled([0, 1, 2, 3].map((i) => c.call({ requestId: `s${i}`, delayMs: 100 })));
    expect(results.map((r) => r.status)).toEqual(['fulfilled', 'fulfilled', 'fulfilled', 'fulfilled']);
    // One at a time: four calls of 100 ms take 400 ms, not 100.
    expect(performance.now() - t0).toBeGreaterThanOrEqual(380);
    expect(s.ledger.snapshot()).toMatchObject({ acceptedConnections: 1 });
    await expect(start({ maxConcurrentStreams: 0 })).rejects.toMatchObject({ code: 'ERR_SERVER_OPTIONS' });
  });

  it('pauseReading: calls go unread and end at their deadline; resumeReading serves again on the same connection', async () => {
    const s = await start();
    const c = bareClient(s.address);
    await c.call({ requestId: 'r0' });
    s.pauseReading();
    await expect(c.call({ requestId: 'r1' }, 300)).rejects.toMatchObject({ code: grpc.status.DEADLINE_EXCEEDED });
    expect(s.ledger.timesSeen('r1')).toBe(0);
    s.resumeReading();
    await expect(c.call({ requestId: 'r2' })).resolves.toMatchObject({ timesSeen: 1 });
    expect(s.ledger.snapshot()).toMatchObject({ acceptedConnections: 1 });
  });

  it('TLS handshake failure: a client trusting another CA, or speaking plaintext, gets UNAVAILABLE', async () => {
    const s = await start({ tls: true, host: '127.0.0.1' });
    const otherCa = Buffer.from(tls.rootCertificates[0] ?? '');
    const wrongCa = bareClient(s.address, grpc.credentials.createSsl(otherCa));
    await expect(wrongCa.call({ requestId: 't0' }, 5_000)).rejects.toMatchObject({
      code: grpc.status.UNAVAILABLE,
      details: expect.stringMatching(/unable to verify the first certificate/),
    });
    const plaintext = bareClient(s.address);
    await expect(plaintext.call({ requestId: 't1' }, 5_000)).rejects.toMatchObject({ code: grpc.status.UNAVAILABLE });
    const trusting = bareClient(s.address, grpc.credentials.createSsl(testServerRootCert()));
    await expect(trusting.call({ requestId: 't2' })).resolves.toMatchObject({ timesSeen: 1 });
    expect(s.ledger.timesSeen('t0') + s.ledger.timesSeen('t1')).toBe(0);
  });
});

/** TLS credentials trusting the test CA, as `who` (alice, bob) or anonymous, checking the certificate's name `localhost`. */
function tlsAs(who?: 'alice' | 'bob') {
  const id = who ? testClientIdentity(who) : undefined;
  return grpc.credentials.createSsl(testServerRootCert(), id?.privateKey ?? null, id?.certChain ?? null);
}
const LOCALHOST_NAME = { 'grpc.ssl_target_name_override': 'localhost' };

describe('TestServer client identities (mTLS) and served records', () => {
  it("mtls-optional: alice, bob and an anonymous TLS client are each served; the ledger names each one's connection and certificate", async () => {
    const s = await start({ tls: 'mtls-optional', recordServed: true });
    const alice = bareClient(s.address, tlsAs('alice'), { ...LOCALHOST_NAME, 'grpc.primary_user_agent': 'ua-alice' });
    const bob = bareClient(s.address, tlsAs('bob'), LOCALHOST_NAME);
    const anon = bareClient(s.address, tlsAs(), LOCALHOST_NAME);
    await alice.call({ requestId: 'm-alice-1' });
    await bob.call({ requestId: 'm-bob' });
    await anon.call({ requestId: 'm-anon' });
    await alice.call({ requestId: 'm-alice-2' });
    await anon.call({ requestId: 'other' });
    const served = s.ledger.served('m-');
    expect(served.map((r) => [r.requestId, r.transport, r.clientCertificate])).toEqual([
      ['m-alice-1', 'tls', 'alice'],
      ['m-bob', 'tls', 'bob'],
      ['m-anon', 'tls', null],
      ['m-alice-2', 'tls', 'alice'],
    ]);
    const peer = Object.fromEntries(served.map((r) => [r.requestId, r.peer]));
    // Each client is its own connection, named by its peer address; alice's two calls share hers.
    expect(peer['m-alice-1']).toBe(peer['m-alice-2']);
    expect(new Set([peer['m-alice-1'], peer['m-bob'], peer['m-anon']]).size).toBe(3);
    expect(peer['m-bob']).toMatch(/^[\d.]+:\d+$/);
    expect(served[0]?.userAgent).toMatch(/^ua-alice grpc-node-js\/\d/);
    expect(served[1]?.userAgent).toMatch(/^grpc-node-js\/\d/);
    expect(s.ledger.snapshot()).toMatchObject({ acceptedConnections: 3, openConnections: 3 });
  });

  it('mtls: a client certificate is required (an anonymous TLS client fails its handshake); tls: true asks for none', async () => {
    const required = await start({ tls: 'mtls', recordServed: true });
    await expect(bareClient(required.address, tlsAs('bob'), LOCALHOST_NAME).call({ requestId: 'r-bob' })).resolves.toBeDefined();
    await expect(
      bareClient(required.address, tlsAs(), LOCALHOST_NAME).call({ requestId: 'r-anon' }, 3_000),
    ).rejects.toMatchObject({
      code: grpc.status.UNAVAILABLE,
    });
    expect(required.ledger.served().map((r) => [r.requestId, r.clientCertificate])).toEqual([['r-bob', 'bob']]);
    const serverAuthOnly = await start({ tls: true, recordServed: true });
    await bareClient(serverAuthOnly.address, tlsAs('alice'), LOCALHOST_NAME).call({ requestId: 's-alice' });
    // Not asked for, alice's certificate is never sent: the server sees an anonymous TLS client.
    expect(serverAuthOnly.ledger.served()).toEqual([expect.objectContaining({ transport: 'tls', clientCertificate: null })]);
  });

  it('plaintext servers record insecure clients only when asked to (recordServed)', async () => {
    const recording = await start({ recordServed: true });
    await bareClient(recording.address).call({ requestId: 'p1' });
    expect(recording.ledger.served()).toEqual([
      expect.objectContaining({ requestId: 'p1', transport: 'insecure', clientCertificate: null }),
    ]);
    const quiet = await start();
    await bareClient(quiet.address).call({ requestId: 'q1' });
    expect(quiet.ledger.timesSeen('q1')).toBe(1);
    expect(quiet.ledger.served()).toEqual([]);
  });

  it('localhost: listens on 127.0.0.1 and ::1 (where the machine has it) on one port, reached by each spelling, and again after a restart', async () => {
    const s = await start({ host: 'localhost', recordServed: true });
    expect(s.address).toBe(`localhost:${s.port}`);
    expect(s.listenHosts[0]).toBe('127.0.0.1');
    const v6 = await new Promise<boolean>((resolve) => {
      const probe = net.createServer().once('error', () => resolve(false));
      probe.listen({ host: '::1', port: 0 }, () => probe.close(() => resolve(true)));
    });
    expect(s.listenHosts).toEqual(v6 ? ['127.0.0.1', '::1'] : ['127.0.0.1']);
    const spellings = [`127.0.0.1:${s.port}`, `localhost:${s.port}`, ...(v6 ? [`[::1]:${s.port}`] : [])];
    for (const [i, address] of spellings.entries()) await bareClient(address).call({ requestId: `l${i}` });
    expect(s.ledger.snapshot().acceptedConnections).toBe(spellings.length);
    if (v6) expect(s.ledger.served().some((r) => r.peer.startsWith('::1:'))).toBe(true);
    await s.kill();
    await s.restart();
    expect(s.listenHosts).toEqual(v6 ? ['127.0.0.1', '::1'] : ['127.0.0.1']);
    await bareClient(spellings.at(-1) as string).call({ requestId: 'after-restart' });
    expect(s.ledger.timesSeen('after-restart')).toBe(1);
  });
});
