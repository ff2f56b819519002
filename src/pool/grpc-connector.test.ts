import net from 'node:net';
import * as grpc from '@grpc/grpc-js';
import { afterEach, describe, expect, it } from 'vitest';
import { FaultProxy } from '../faults/fault-proxy.js';
import { TestServer, testServerRootCert } from '../server/test-server.js';
import { GrpcConnector } from './grpc-connector.js';
import { grpcJs, missingClientApis } from './grpc-js-release.js';

const cleanup: Array<() => Promise<void> | void> = [];
afterEach(async () => {
  for (const f of cleanup.splice(0).reverse()) await f();
});
const target = (address: string, channelOptions = {}) => ({ keyId: address, address, credentials: undefined, channelOptions });
/** A target over TLS, trusting the test servers' certificate (issued to localhost). */
const tlsTarget = (address: string, channelOptions = {}) => ({
  ...target(address, { ...channelOptions, 'grpc.ssl_target_name_override': 'localhost' }),
  credentials: grpcJs().credentials.createSsl(testServerRootCert()),
});
const FAST_RECONNECT = { 'grpc.initial_reconnect_backoff_ms': 100, 'grpc.max_reconnect_backoff_ms': 500 };

/** A test server (TLS if asked) behind a fault proxy, both closed after the test. */
async function proxiedServer(options: { tls?: boolean } = {}): Promise<{ server: TestServer; proxy: FaultProxy }> {
  const server = await TestServer.start(options);
  cleanup.push(() => server.close());
  const proxy = await FaultProxy.start({ upstream: server.address, host: server.host });
  cleanup.push(() => proxy.close());
  return { server, proxy };
}

/** Calls until one succeeds (each call bounded by its own deadline); resolves with the ms it took. */
async function msUntilServing(connector: GrpcConnector, c: Parameters<GrpcConnector['call']>[0], boundMs: number) {
  const t0 = performance.now();
  for (let i = 0; performance.now() - t0 < boundMs; i += 1) {
    try {
      await connector.call(c, { requestId: `recover-${i}` }, 1_000);
      return performance.now() - t0;
    } catch {
      // DEADLINE_EXCEEDED on the dead connection, UNAVAILABLE while reconnecting: try again.
    }
  }
  throw new Error(`the key did not serve again within ${boundMs} ms`);
}

describe('the grpc-js APIs the client stack needs', () => {
  it('the pinned release has them all; a release lacking some is told apart, each named', () => {
    expect(missingClientApis()).toEqual([]);
    const real = grpcJs();
    const lacking = { ...real, Metadata: undefined, credentials: undefined, Channel: undefined, Client: null } as never;
    expect(missingClientApis(lacking)).toEqual([
      'credentials.createInsecure',
      'Metadata',
      'Client.prototype.getChannel',
      'Client.prototype.close',
      'Channel.prototype.getConnectivityState',
      'Channel.prototype.watchConnectivityState',
    ]);
    expect(missingClientApis({ ...real, connectivityState: {} } as never)).toEqual(['connectivityState.CONNECTING']);
  });
});

describe('GrpcConnector', () => {
  it('numbers its connections in creation order and validates its default options', async () => {
    expect(() => new GrpcConnector({ 'grpc.x': {} as never })).toThrow(expect.objectContaining({ code: 'ERR_INVALID_OPTIONS' }));
    const s = await TestServer.start();
    cleanup.push(() => s.close());
    const connector = new GrpcConnector();
    const a = await connector.connect(target(s.address));
    const b = await connector.connect(target(s.address));
    cleanup.push(
      () => connector.close(a),
      () => connector.close(b),
    );
    expect([a.id, b.id]).toEqual([1, 2]);
  });

  it('asks health for the named service, and keeps the status of a failed check', async () => {
    const s = await TestServer.start();
    cleanup.push(() => s.close());
    s.setServingStatus('NOT_SERVING', 'loadtest.v1.LoadTest');
    const connector = new GrpcConnector();
    const c = await connector.connect(target(s.address));
    cleanup.push(() => connector.close(c));
    expect(await connector.health(c, '', 2_000)).toBe('SERVING');
    expect(await connector.health(c, 'loadtest.v1.LoadTest', 2_000)).toBe('NOT_SERVING');
    await expect(connector.health(c, 'no.such.Service', 2_000)).rejects.toMatchObject({
      status: grpc.status.NOT_FOUND,
      message: expect.stringMatching(/^Health\.Check failed with gRPC status 5 \(NOT_FOUND\)/),
    });
    await expect(connector.call(c, { requestId: 'x', failCode: 9 }, 2_000)).rejects.toMatchObject({
      message: expect.stringMatching(/^Call failed with gRPC status 9 \(FAILED_PRECONDITION\)/),
    });
  });

  it('gives up at the deadline on a server that accepts and never answers', async () => {
    const sockets = new Set<net.Socket>();
    const blackhole = net.createServer((socket) => {
      sockets.add(socket);
    });
    await new Promise<void>((r) => blackhole.listen(0, '127.0.0.1', r));
    cleanup.push(
      () =>
        new Promise<void>((r) => {
          for (const sk of sockets) sk.destroy();
          blackhole.close(() => r());
        }),
    );
    const address = `127.0.0.1:${(blackhole.address() as net.AddressInfo).port}`;
    const connector = new GrpcConnector();
    const c = await connector.connect(target(address));
    cleanup.push(() => connector.close(c));
    await expect(connector.call(c, { requestId: 'y' }, 300)).rejects.toMatchObject({ status: grpc.status.DEADLINE_EXCEEDED });
    await expect(connector.health(c, '', 300)).rejects.toMatchObject({ status: grpc.status.DEADLINE_EXCEEDED });
  });

  it('closes a connected channel at once (a bound for a loaded machine, not a benchmark)', async () => {
    const s = await TestServer.start();
    cleanup.push(() => s.close());
    const connector = new GrpcConnector();
    const c = await connector.connect(target(s.address));
    await connector.call(c, { requestId: 'z' }, 2_000);
    const t0 = performance.now();
    await connector.close(c);
    expect(performance.now() - t0).toBeLessThan(2_000);
    await s.ledger.waitUntil((l) => l.openConnections === 0, 3_000, 'closed');
  });

  it('a channel closed while backing off does not reconnect when its server returns (found by the nightly fuzz)', async () => {
    const s = await TestServer.start();
    cleanup.push(() => s.close());
    await s.kill();
    const connector = new GrpcConnector({ 'grpc.initial_reconnect_backoff_ms': 100, 'grpc.max_reconnect_backoff_ms': 300 });
    const c = await connector.connect(target(s.address));
    await expect(connector.call(c, { requestId: 'down' }, 1_000)).rejects.toMatchObject({ status: grpc.status.UNAVAILABLE });
    await connector.close(c);
    await s.restart();
    // Several backoff periods: a closed channel must not connect (grpc-js 1.14 did, and held the socket).
    await expect(s.ledger.waitUntil((l) => l.acceptedConnections > 0, 1_500, 'a connection')).rejects.toMatchObject({
      code: 'ERR_LEDGER_WAIT_TIMEOUT',
    });
  });

  it('detects a black-holed connection with its default keepalive and serves again once the black hole lifts', async () => {
    const { server, proxy } = await proxiedServer();
    // Forward the handshake and a few calls, then swallow everything both ways: a half-open connection.
    proxy.addToxic('hole', { type: 'stall-after', bytes: 4_096 });
    const connector = new GrpcConnector(FAST_RECONNECT);
    const c = await connector.connect(target(proxy.address));
    cleanup.push(() => connector.close(c));
    const payload = new Uint8Array(1_024);
    let failed: unknown;
    for (let i = 0; i < 20 && failed === undefined; i += 1) {
      await connector.call(c, { requestId: `before-${i}`, payload }, 1_000).catch((e: unknown) => {
        failed = e;
      });
    }
    expect(failed).toMatchObject({ status: grpc.status.DEADLINE_EXCEEDED });
    proxy.removeToxic('hole'); // the stalled connection stays dead: only a new connection serves
    // keepalive_time + keepalive_timeout (10 s + 5 s by default), plus the reconnect and a loaded machine's slack.
    const ms = await msUntilServing(connector, c, 25_000);
    console.log(`black hole lifted: serving again after ${Math.round(ms)} ms (default keepalive)`);
    expect(server.ledger.snapshot().acceptedConnections).toBe(2);
  }, 40_000);

  it('takes keepalive settings per key from channel options, over the constructor defaults', async () => {
    const { proxy } = await proxiedServer();
    proxy.addToxic('hole', { type: 'stall-after', bytes: 4_096 });
    const connector = new GrpcConnector({ ...FAST_RECONNECT, 'grpc.keepalive_time_ms': 60_000 });
    // A timeout of 1.5 s, not less: a loaded machine can hold a healthy connection's pong that long.
    const c = await connector.connect(
      target(proxy.address, { 'grpc.keepalive_time_ms': 300, 'grpc.keepalive_timeout_ms': 1_500 }),
    );
    cleanup.push(() => connector.close(c));
    const payload = new Uint8Array(1_024);
    for (let i = 0; i < 20 && proxy.stats().bytesSwallowed === 0; i += 1) {
      await connector.call(c, { requestId: `before-${i}`, payload }, 1_000).catch(() => undefined);
    }
    proxy.removeToxic('hole');
    expect(await msUntilServing(connector, c, 10_000)).toBeLessThan(10_000);
    expect(proxy.stats().acceptedConnections).toBe(2);
  });

  it('closes at once a channel stuck in a handshake black hole, and leaves no socket behind (seen by the proxy)', async () => {
    const { proxy } = await proxiedServer();
    proxy.addToxic('bh', { type: 'handshake-blackhole' });
    const connector = new GrpcConnector();
    const c = await connector.connect(target(proxy.address));
    await proxy.waitUntil((s) => s.acceptedConnections === 1, 5_000, 'the channel connects ahead of use');
    const t0 = performance.now();
    await connector.close(c);
    const closeMs = performance.now() - t0;
    console.log(`handshake black hole: close took ${Math.round(closeMs)} ms`);
    expect(closeMs).toBeLessThan(1_500);
    await proxy.waitUntil((s) => s.openConnections === 0, 3_000, 'the client let go of its socket');
  });

  it.each([
    ['handshake-blackhole', { type: 'handshake-blackhole' }],
    ['stall-after 0', { type: 'stall-after', bytes: 0 }],
  ] as const)(
    'closes at once a TLS channel whose TLS handshake is black-holed (%s), and leaves no socket behind',
    async (_, toxic) => {
      const { server, proxy } = await proxiedServer({ tls: true });
      const sockets = () => process.getActiveResourcesInfo().filter((r) => r === 'TCPSocketWrap').length;
      const socketsBefore = sockets();
      proxy.addToxic('bh', toxic);
      const connector = new GrpcConnector(FAST_RECONNECT);
      const c = await connector.connect(tlsTarget(proxy.address));
      await proxy.waitUntil((s) => s.acceptedConnections === 1, 5_000, 'the channel connects ahead of use');
      const t0 = performance.now();
      await connector.close(c);
      const closeMs = performance.now() - t0;
      console.log(`TLS handshake black hole (${_}): close took ${Math.round(closeMs)} ms`);
      // Counted where the client cannot lie: the proxy's own sockets and the server's ledger.
      await proxy.waitUntil((s) => s.clientOpenConnections === 0, 3_000, 'the client let go of its socket');
      await server.ledger.waitUntil((l) => l.openConnections === 0, 3_000, 'no connection left on the server');
      // Several backoff periods: the aborted attempt must not make the closed channel try again.
      await expect(proxy.waitUntil((s) => s.acceptedConnections > 1, 1_500, 'a second attempt')).rejects.toMatchObject({
        name: 'ProxyWaitTimeoutError',
      });
      await proxy.close(); // whatever the black hole kept upstream goes too: only the client's socket could remain
      await new Promise((resolve) => setImmediate(resolve));
      expect(sockets()).toBe(socketsBefore);
      expect(closeMs).toBeLessThan(2_500);
    },
  );

  it.each([
    ['plaintext', false],
    ['TLS', true],
  ] as const)(
    'gives up a connection attempt whose handshake never answers, and serves once the black hole is gone (%s; found by pool-linearizable)',
    async (_, tls) => {
      const { proxy } = await proxiedServer({ tls });
      proxy.addToxic('bh', { type: 'handshake-blackhole' });
      const connector = new GrpcConnector(FAST_RECONNECT, { handshakeTimeoutMs: 500 });
      const c = await connector.connect((tls ? tlsTarget : target)(proxy.address));
      cleanup.push(() => connector.close(c));
      await proxy.waitUntil((s) => s.acceptedConnections === 1, 5_000, 'the channel connects ahead of use');
      proxy.removeToxic('bh');
      // grpc-js alone waits on the first attempt for as long as its TCP connection lives.
      expect(await msUntilServing(connector, c, 10_000)).toBeLessThan(10_000);
      expect(proxy.stats().acceptedConnections).toBeGreaterThanOrEqual(2);
    },
  );

  it.each([
    ['plaintext', false],
    ['TLS', true],
  ] as const)(
    'closing a READY connection that went black leaves no half-closed socket behind (%s; seen by the proxy)',
    async (_, tls) => {
      const { proxy } = await proxiedServer({ tls });
      const connector = new GrpcConnector();
      const c = await connector.connect((tls ? tlsTarget : target)(proxy.address));
      await connector.call(c, { requestId: 'ready' }, 2_000);
      proxy.addToxic('hole', { type: 'stall-after', bytes: 0 });
      const t0 = performance.now();
      await connector.close(c);
      const closeMs = performance.now() - t0;
      console.log(`READY black hole (${_}): close took ${Math.round(closeMs)} ms`);
      expect(closeMs).toBeLessThan(3_000);
      // A FIN alone is swallowed and the client would hold its half-closed socket: only a reset frees both ends.
      await proxy.waitUntil((s) => s.openConnections === 0, 3_000, 'the client let go of its socket');
      expect(proxy.stats().clientResets).toBe(1);
    },
  );

  it.each([
    ['plaintext', false],
    ['TLS', true],
  ] as const)(
    'still closes a healthy connection gracefully: a reset is only for one that does not answer its ping (%s; seen by the proxy and the server)',
    async (_, tls) => {
      const { server, proxy } = await proxiedServer({ tls });
      const connector = new GrpcConnector();
      const c = await connector.connect((tls ? tlsTarget : target)(proxy.address));
      await connector.call(c, { requestId: 'ok' }, 2_000);
      await connector.close(c);
      await server.ledger.waitUntil((l) => l.openConnections === 0, 3_000, 'closed');
      await proxy.waitUntil((s) => s.openConnections === 0, 3_000, 'closed at the proxy');
      expect(proxy.stats()).toMatchObject({ acceptedConnections: 1, connectionsReset: 0, clientResets: 0 });
    },
  );

  it('validates handshakeTimeoutMs; 0 turns the watchdog off (a black-holed handshake is then never given up)', async () => {
    for (const bad of [-1, Number.NaN, Number.POSITIVE_INFINITY]) {
      expect(() => new GrpcConnector({}, { handshakeTimeoutMs: bad })).toThrow(
        expect.objectContaining({ code: 'ERR_INVALID_OPTIONS', message: expect.stringContaining('handshakeTimeoutMs') }),
      );
    }
    const { proxy } = await proxiedServer();
    proxy.addToxic('bh', { type: 'handshake-blackhole' });
    const watched = new GrpcConnector(FAST_RECONNECT, { handshakeTimeoutMs: 200 });
    const unwatched = new GrpcConnector(FAST_RECONNECT, { handshakeTimeoutMs: 0 });
    const a = await watched.connect(target(proxy.address));
    cleanup.push(() => watched.close(a));
    await proxy.waitUntil(
      (s) => s.acceptedConnections >= 2,
      5_000,
      'the watchdog gave up the first attempt and grpc-js tried again',
    );
    const { proxy: other } = await proxiedServer();
    other.addToxic('bh', { type: 'handshake-blackhole' });
    const b = await unwatched.connect(target(other.address));
    cleanup.push(() => unwatched.close(b));
    await other.waitUntil((s) => s.acceptedConnections === 1, 5_000, 'the channel connects ahead of use');
    // Several of the watched channel's timeouts and backoffs: no second attempt without a watchdog.
    await expect(other.waitUntil((s) => s.acceptedConnections > 1, 1_500, 'a second attempt')).rejects.toMatchObject({
      name: 'ProxyWaitTimeoutError',
    });
  });

  it('a wait-for-ready call waits through refused connections and is served once they are accepted; a plain one fails UNAVAILABLE', async () => {
    const { server, proxy } = await proxiedServer();
    proxy.addToxic('no', { type: 'refuse' });
    const connector = new GrpcConnector(FAST_RECONNECT);
    const c = await connector.connect(target(proxy.address));
    cleanup.push(() => connector.close(c));
    await expect(connector.call(c, { requestId: 'plain' }, 20_000)).rejects.toMatchObject({ status: grpc.status.UNAVAILABLE });
    const waiting = connector.call(c, { requestId: 'patient', waitForReady: true }, 20_000);
    const settled = waiting.then(
      () => 'served',
      (e: unknown) => e,
    );
    const before = proxy.stats().acceptedConnections;
    await proxy.waitUntil((s) => s.acceptedConnections > before, 5_000, 'another refused attempt while the call waits');
    proxy.removeToxic('no');
    expect(await settled).toBe('served');
    expect(server.ledger.timesSeen('patient')).toBe(1);
    expect(server.ledger.timesSeen('plain')).toBe(0);
  });
});
