import net from 'node:net';
import * as grpc from '@grpc/grpc-js';
import { afterEach, describe, expect, it } from 'vitest';
import { TestServer } from '../server/test-server.js';
import { GrpcConnector } from './grpc-connector.js';

const cleanup: Array<() => Promise<void> | void> = [];
afterEach(async () => {
  for (const f of cleanup.splice(0).reverse()) await f();
});
const target = (address: string) => ({ keyId: address, address, credentials: undefined, channelOptions: {} });

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
});
