import * as grpc from '@grpc/grpc-js';
import { afterEach, describe, expect, it } from 'vitest';
import { LoadTestMetrics } from '../metrics/load-test-metrics.js';
import { ConnectionPool } from '../pool/connection-pool.js';
import { TestServer } from '../server/test-server.js';
import { closeSharedPool, PoolClient, sharedPool } from './pool-client.js';

const cleanup: Array<() => Promise<void>> = [];
afterEach(async () => {
  for (const f of cleanup.splice(0).reverse()) await f();
});
async function server(): Promise<TestServer> {
  const s = await TestServer.start();
  cleanup.push(() => s.close());
  return s;
}
function ownPool(): ConnectionPool {
  const p = new ConnectionPool();
  cleanup.push(() => p.close());
  return p;
}

describe('PoolClient', () => {
  it('makes calls and health checks over one pooled connection (counted on the server)', async () => {
    const s = await server();
    const pool = ownPool();
    const client = new PoolClient(s.address, { pool });
    const reply = await client.call({ requestId: 'one', payload: new Uint8Array([1, 2, 3]) });
    expect(reply).toMatchObject({ requestId: 'one', timesSeen: 1 });
    expect([...reply.payload]).toEqual([1, 2, 3]);
    expect(await Promise.all(Array.from({ length: 20 }, () => client.health()))).toEqual(Array(20).fill('SERVING'));
    s.setServingStatus('NOT_SERVING');
    expect(await client.health()).toBe('NOT_SERVING');
    expect(s.ledger.snapshot()).toMatchObject({ acceptedConnections: 1, openConnections: 1 });
  });

  it('counts a failed call as failed, in its stats and in the metrics, and keeps the gRPC status', async () => {
    const s = await server();
    const metrics = new LoadTestMetrics();
    const client = new PoolClient(s.address, { pool: ownPool(), metrics });
    await client.call();
    await expect(client.call({ failCode: grpc.status.ABORTED })).rejects.toMatchObject({ code: 'ERR_GRPC_STATUS', status: 10 });
    await expect(client.call({ delayMs: 2_000 }, { deadlineMs: 50 })).rejects.toMatchObject({
      status: grpc.status.DEADLINE_EXCEEDED,
    });
    expect(client.stats()).toMatchObject({ calls: 3, succeeded: 1, failed: 2 });
    expect(metrics.counts()).toMatchObject({ totalRequests: 3, successfulRequests: 1, failedRequests: 2 });
  });

  it('fails a call to a port nobody listens on with UNAVAILABLE, counted as failed', async () => {
    const s = await server();
    const address = s.address;
    await s.close();
    const metrics = new LoadTestMetrics();
    const client = new PoolClient(address, { pool: ownPool(), metrics });
    await expect(client.call({}, { deadlineMs: 2_000 })).rejects.toMatchObject({ status: grpc.status.UNAVAILABLE });
    expect(metrics.counts()).toMatchObject({ totalRequests: 1, failedRequests: 1 });
  });

  it('shares the default pool between clients that are given none', async () => {
    const s = await server();
    cleanup.push(() => closeSharedPool());
    const a = new PoolClient(s.address);
    const b = new PoolClient(s.address);
    expect(a.pool).toBe(sharedPool());
    expect(b.pool).toBe(a.pool);
    await Promise.all([a.call(), b.call(), a.health(), b.health()]);
    expect(s.ledger.snapshot()).toMatchObject({ acceptedConnections: 1, openConnections: 1 });
  });

  it('rejects bad input with typed errors that say what was wrong', async () => {
    const pool = ownPool();
    expect(() => new PoolClient('no-port', { pool })).toThrow(expect.objectContaining({ code: 'ERR_INVALID_ADDRESS' }));
    expect(() => new PoolClient('127.0.0.1:1', { pool, deadlineMs: 0 })).toThrow(
      expect.objectContaining({ code: 'ERR_INVALID_DEADLINE' }),
    );
    expect(() => new PoolClient('127.0.0.1:1', { pool, channelOptions: { x: {} as never } })).toThrow(
      expect.objectContaining({ code: 'ERR_INVALID_OPTIONS' }),
    );
    const client = new PoolClient('127.0.0.1:1', { pool });
    await expect(client.call({}, { deadlineMs: -5 })).rejects.toMatchObject({ code: 'ERR_INVALID_DEADLINE', message: /-5/ });
    await expect(client.call({}, { deadlineMs: Number.NaN })).rejects.toMatchObject({ code: 'ERR_INVALID_DEADLINE' });
    await expect(client.call({ failCode: 17 })).rejects.toMatchObject({ code: 'ERR_INVALID_REQUEST', message: /1\.\.16/ });
    await expect(client.call({ delayMs: -1 })).rejects.toMatchObject({ code: 'ERR_INVALID_REQUEST' });
    client.close();
    await expect(client.call()).rejects.toMatchObject({ code: 'ERR_CLIENT_CLOSED' });
    await expect(client.health()).rejects.toMatchObject({ code: 'ERR_CLIENT_CLOSED' });
    expect(() => client.stats()).toThrow(expect.objectContaining({ code: 'ERR_CLIENT_CLOSED' }));
    await pool.close();
    const late = new PoolClient('127.0.0.1:1', { pool });
    await expect(late.call()).rejects.toMatchObject({ code: 'ERR_POOL_CLOSED' });
  });

  it('names the shared pool, and closing it makes the next sharedPool() a new one', async () => {
    const first = sharedPool();
    expect(first.name).toBe('shared');
    expect(sharedPool()).toBe(first);
    await closeSharedPool();
    expect(first.isClosed).toBe(true);
    const second = sharedPool();
    expect(second).not.toBe(first);
    await closeSharedPool();
    await closeSharedPool();
  });

  it('validates requests and options before sending anything', async () => {
    const s = await server();
    const pool = ownPool();
    expect(() => new PoolClient(s.address, null as never)).toThrow('PoolClient options must be an object');
    expect(() => new PoolClient(s.address, 'x' as never)).toThrow('PoolClient options must be an object');
    expect(() => new PoolClient(s.address, { pool: {} as never })).toThrow('pool must be a ConnectionPool');
    const client = new PoolClient(s.address, { pool });
    await expect(client.health(42 as never)).rejects.toThrow('health service name must be a string');
    await expect(client.call({ requestId: '' })).rejects.toThrow('requestId must be a non-empty string');
    await expect(client.call({ requestId: 7 as never })).rejects.toThrow('requestId must be a non-empty string');
    await expect(client.call({ failCode: 1.5 })).rejects.toThrow(
      'failCode must be a gRPC status code 1..16 (or 0 for none); got 1.5',
    );
    await expect(client.call({ failCode: -1 })).rejects.toThrow(/got -1$/);
    await expect(client.call({ delayMs: Number.NaN })).rejects.toThrow('delayMs must be a non-negative number; got NaN');
    // The edges are allowed: 16 is a status, 0 means none, and nothing invalid reached the server.
    expect(s.ledger.snapshot().totalRequests).toBe(0);
    await expect(client.call({ failCode: 16 })).rejects.toMatchObject({ status: 16 });
    await expect(client.call({ failCode: 0 })).resolves.toMatchObject({ timesSeen: 1 });
    expect(client.stats()).toMatchObject({ calls: 2, succeeded: 1, failed: 1 });
  });

  it('passes wait-for-ready to the connector only when the call asks for it', async () => {
    const seen: Array<boolean | undefined> = [];
    const pool = new ConnectionPool({
      connector: {
        connect: async (t) => ({ id: 1, keyId: t.keyId, address: t.address }),
        close: async () => {},
        call: async (_c, r) => {
          seen.push(r.waitForReady);
          return { requestId: r.requestId, payload: new Uint8Array(), timesSeen: 1, serverId: 'fake' };
        },
        health: async () => 'SERVING',
      },
    });
    cleanup.push(() => pool.close());
    const client = new PoolClient('127.0.0.1:1', { pool });
    await client.call({}, { waitForReady: true });
    await client.call();
    await client.call({}, { waitForReady: false });
    expect(seen).toEqual([true, false, false]);
  });

  it('says which action a closed client refused', async () => {
    const client = new PoolClient('127.0.0.1:1', { pool: ownPool() });
    client.close();
    await expect(client.call()).rejects.toThrow('cannot call: the client is closed');
    await expect(client.health()).rejects.toThrow('cannot check health:');
    expect(() => client.stats()).toThrow('cannot read stats:');
  });

  it('records a failed call with its real latency, and counts health checks', async () => {
    const s = await server();
    const metrics = new LoadTestMetrics();
    const client = new PoolClient(s.address, { pool: ownPool(), metrics });
    await client.health();
    await client.health();
    await expect(client.call({ delayMs: 60, failCode: 13 })).rejects.toMatchObject({ status: 13 });
    const c = metrics.counts();
    expect(c).toMatchObject({ totalRequests: 1, failedRequests: 1 });
    // Measured in µs from before the call: at least the server's delay, well under the deadline.
    expect(c.maxLatencyUs).toBeGreaterThanOrEqual(55_000);
    expect(c.maxLatencyUs).toBeLessThan(5_000_000);
    expect(client.stats().healthChecks).toBe(2);
  });

  it('counts itself active in the metrics while it has a call in flight, once however many, and not after', async () => {
    const s = await server();
    const metrics = new LoadTestMetrics();
    const pool = ownPool();
    const a = new PoolClient(s.address, { pool, metrics });
    const b = new PoolClient(s.address, { pool, metrics });
    // Held on the server: a has three calls in flight, b one that fails, all four seen by the server.
    const held = [
      a.call({ requestId: 'a1', delayMs: 1_000 }),
      a.call({ requestId: 'a2', delayMs: 1_000 }),
      a.call({ requestId: 'a3', delayMs: 1_000 }),
      b.call({ requestId: 'b1', delayMs: 1_000, failCode: 13 }).catch((e: unknown) => e),
    ];
    await s.ledger.waitUntil((l) => l.totalRequests === 4, 5_000, 'four calls held on the server');
    expect(metrics.counts().activeClients).toBe(2);
    const outcomes = await Promise.allSettled(held);
    expect(outcomes.map((o) => o.status)).toEqual(['fulfilled', 'fulfilled', 'fulfilled', 'fulfilled']);
    // Every call ended, one of them failed: nobody is active any more.
    expect(metrics.counts()).toMatchObject({ activeClients: 0, totalRequests: 4, failedRequests: 1 });
    // A call refused before it was sent never made the client active.
    await expect(a.call({ delayMs: -1 })).rejects.toMatchObject({ code: 'ERR_INVALID_REQUEST' });
    expect(metrics.counts().activeClients).toBe(0);
  });
});
