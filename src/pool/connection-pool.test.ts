import * as grpc from '@grpc/grpc-js';
import { afterEach, describe, expect, it } from 'vitest';
import { TestServer, testServerRootCert } from '../server/test-server.js';
import { ConnectionPool } from './connection-pool.js';
import type { Connector } from './connector.js';
import { GrpcStatusError } from './errors.js';

const opened: Array<{ close(): Promise<void> }> = [];
async function server(options: Parameters<typeof TestServer.start>[0] = {}): Promise<TestServer> {
  const s = await TestServer.start(options);
  opened.push(s);
  return s;
}
function pool(): ConnectionPool {
  const p = new ConnectionPool();
  opened.unshift(p);
  return p;
}
afterEach(async () => {
  for (const r of opened.splice(0)) await r.close();
});

const call = (p: ConnectionPool, address: string, requestId: string, delayMs = 0) =>
  p.withConnection(address, undefined, (c) => p.connector.call(c, { requestId, delayMs }, 10_000));

describe('ConnectionPool over grpc-js (connections counted by the server)', () => {
  it('creates exactly one connection under 200 concurrent gets of one key', async () => {
    const s = await server();
    const p = pool();
    const connections = await Promise.all(Array.from({ length: 200 }, () => p.get(s.address)));
    expect(new Set(connections.map((c) => c.id)).size).toBe(1);
    // Found by the model property: gets that waited on the creation lock were counted as neither.
    expect(p.stats()).toMatchObject({ created: 1, reused: 199 });
    await Promise.all(Array.from({ length: 200 }, (_, i) => call(p, s.address, `r${i}`)));
    expect(s.ledger.snapshot()).toMatchObject({ acceptedConnections: 1, openConnections: 1, totalRequests: 200 });
    expect(s.ledger.entries('r').every((e) => e.count === 1)).toBe(true);
  });

  it('lets calls in flight finish on remove, then the server sees the connection close', async () => {
    const s = await server();
    const p = pool();
    const inFlight = Array.from({ length: 20 }, (_, i) => call(p, s.address, `d${i}`, 300));
    await s.ledger.waitUntil((l) => l.totalRequests === 20, 5_000, 'all 20 requests arrived');
    const removed = p.remove(s.address);
    const results = await Promise.allSettled(inFlight);
    expect(results.filter((r) => r.status === 'fulfilled')).toHaveLength(20);
    expect(await removed).toBe(true);
    await s.ledger.waitUntil((l) => l.openConnections === 0, 5_000, 'connection closed after drain');
    expect(p.size).toBe(0);
    // A later get makes a fresh connection.
    await call(p, s.address, 'after');
    expect(s.ledger.snapshot()).toMatchObject({ acceptedConnections: 2, openConnections: 1 });
  });

  it('closes the connection of a key removed while it was still connecting (found by the live property)', async () => {
    const s = await server();
    const p = pool();
    await p.add(s.address);
    await p.remove(s.address);
    // add() starts connecting, so the server accepts a connection; once removed, it must close.
    await s.ledger.waitUntil((l) => l.acceptedConnections === 1, 3_000, 'the connection add() started');
    await s.ledger.waitUntil((l) => l.openConnections === 0, 3_000, 'no connection left open');
    await p.add(s.address);
    await p.close();
    await s.ledger.waitUntil((l) => l.openConnections === 0, 3_000, 'no connection left open after close');
  });

  it('leaves no connection open on the server after close(), and refuses every later use', async () => {
    const a = await server();
    const b = await server();
    const p = pool();
    await call(p, a.address, 'a');
    await call(p, b.address, 'b');
    const pending = call(p, a.address, 'slow', 200);
    await p.close();
    await expect(pending).resolves.toMatchObject({ requestId: 'slow' });
    await a.ledger.waitUntil((l) => l.openConnections === 0, 5_000, 'a closed');
    await b.ledger.waitUntil((l) => l.openConnections === 0, 5_000, 'b closed');
    await expect(p.get(a.address)).rejects.toMatchObject({ code: 'ERR_POOL_CLOSED' });
    await expect(p.add(a.address)).rejects.toMatchObject({ code: 'ERR_POOL_CLOSED' });
    await expect(p.remove(a.address)).rejects.toMatchObject({ code: 'ERR_POOL_CLOSED' });
    await expect(p.close()).resolves.toBeUndefined();
  });

  it('gives keys that differ only in channel options separate connections', async () => {
    const s = await server();
    const p = pool();
    await p.withConnection(s.address, { channelOptions: { 'grpc.primary_user_agent': 'a' } }, (c) =>
      p.connector.call(c, { requestId: 'x' }, 5_000),
    );
    await p.withConnection(s.address, { channelOptions: { 'grpc.primary_user_agent': 'b' } }, (c) =>
      p.connector.call(c, { requestId: 'y' }, 5_000),
    );
    expect(p.size).toBe(2);
    expect(s.ledger.snapshot()).toMatchObject({ acceptedConnections: 2, openConnections: 2 });
  });

  it('gives keys that differ only in credentials separate connections (and equal credentials one)', async () => {
    const s = await server({ tls: true });
    const p = pool();
    const ca = testServerRootCert();
    const ssl1 = grpc.credentials.createSsl(ca);
    const ssl2 = grpc.credentials.createSsl(ca);
    const via = (credentials: grpc.ChannelCredentials, id: string) =>
      p.withConnection(s.address, { credentials, channelOptions: { 'grpc.ssl_target_name_override': 'localhost' } }, (c) =>
        p.connector.call(c, { requestId: id }, 5_000),
      );
    await via(ssl1, 'one');
    await via(ssl1, 'one-again');
    expect(s.ledger.snapshot()).toMatchObject({ acceptedConnections: 1, openConnections: 1 });
    await via(ssl2, 'two');
    expect(p.size).toBe(2);
    expect(s.ledger.snapshot()).toMatchObject({ acceptedConnections: 2, openConnections: 2 });
  });

  it('reconnects after the server restarts on the same port, keeping gRPC status codes on failure', async () => {
    const s = await server();
    const p = pool();
    const first = await call(p, s.address, 'before');
    const port = s.port;
    await s.kill();
    const failure = await call(p, s.address, 'while-down').catch((e: unknown) => e);
    expect(failure).toBeInstanceOf(GrpcStatusError);
    expect((failure as GrpcStatusError).status).toBe(grpc.status.UNAVAILABLE);
    await s.restart();
    expect(s.port).toBe(port);
    const after = await call(p, s.address, 'after');
    expect(after.serverId).not.toBe(first.serverId);
    expect(p.stats().created).toBe(1);
    expect(s.ledger.snapshot()).toMatchObject({ acceptedConnections: 2, openConnections: 1 });
  });
});

describe('ConnectionPool bookkeeping', () => {
  const fakeConnector = (failConnect = false): Connector => {
    let id = 0;
    return {
      connect: async (t) => {
        if (failConnect) throw new Error('refused');
        return { id: ++id, keyId: t.keyId, address: t.address };
      },
      close: async () => {},
      call: async (_c, r) => ({ requestId: r.requestId, payload: new Uint8Array(), timesSeen: 1, serverId: 'fake' }),
      health: async () => 'SERVING',
    };
  };

  it('counts created, reused and closed consistently, and add is idempotent', async () => {
    const p = new ConnectionPool({ connector: fakeConnector() });
    await p.add('127.0.0.1:1');
    await p.add('127.0.0.1:1');
    await p.get('127.0.0.1:1');
    await p.get('127.0.0.1:2');
    expect(p.stats()).toMatchObject({ created: 2, reused: 1, closed: 0, liveKeys: 2, inFlight: 0, draining: 0 });
    expect(await p.remove('127.0.0.1:1')).toBe(true);
    expect(await p.remove('127.0.0.1:1')).toBe(false);
    await p.close();
    const s = p.stats();
    expect(s).toMatchObject({ created: 2, closed: 2, liveKeys: 0 });
    expect(s.reuseRate).toBeCloseTo(1 / 3, 10);
  });

  it('reports a failed connect as ConnectError and keeps nothing', async () => {
    const p = new ConnectionPool({ connector: fakeConnector(true) });
    await expect(p.get('127.0.0.1:1')).rejects.toMatchObject({ code: 'ERR_CONNECT', message: /refused/ });
    expect(p.stats()).toMatchObject({ created: 0, connectFailures: 1, liveKeys: 0 });
    await p.close();
  });

  it('validates its options and addresses with typed errors', async () => {
    expect(() => new ConnectionPool({ connector: {} as Connector })).toThrow(
      expect.objectContaining({ code: 'ERR_INVALID_OPTIONS' }),
    );
    expect(() => new ConnectionPool({ name: '' })).toThrow(/non-empty/);
    const p = new ConnectionPool({ connector: fakeConnector() });
    await expect(p.get('nonsense')).rejects.toMatchObject({ code: 'ERR_INVALID_ADDRESS' });
    await expect(p.add('127.0.0.1:99999')).rejects.toMatchObject({ code: 'ERR_INVALID_ADDRESS' });
    await p.close();
  });

  it('validates every constructor option, and names itself "pool" by default', () => {
    expect(() => new ConnectionPool(null as never)).toThrow(/options must be an object/);
    expect(() => new ConnectionPool('x' as never)).toThrow(/options must be an object/);
    expect(() => new ConnectionPool({ connector: { close: async () => {} } as never })).toThrow(/connector must implement/);
    expect(() => new ConnectionPool({ connector: { connect: async () => ({}) } as never })).toThrow(/connector must implement/);
    expect(() => new ConnectionPool({ name: 5 as never })).toThrow(/non-empty string/);
    expect(new ConnectionPool({ connector: fakeConnector() }).name).toBe('pool');
    expect(new ConnectionPool({ connector: fakeConnector() }).stats().reuseRate).toBe(0);
  });

  it('says which action was refused after close', async () => {
    const p = new ConnectionPool({ connector: fakeConnector() });
    await p.close();
    await expect(p.get('127.0.0.1:1')).rejects.toThrow('cannot get a connection: the connection pool is closed');
    await expect(p.add('127.0.0.1:1')).rejects.toThrow('cannot add an address:');
    await expect(p.remove('127.0.0.1:1')).rejects.toThrow('cannot remove an address:');
  });

  it('never exposes a connection that finished connecting after close; it closes it instead', async () => {
    let finishConnect: (() => void) | undefined;
    let connectStarted: () => void = () => {};
    const connecting = new Promise<void>((r) => {
      connectStarted = r;
    });
    const closed: number[] = [];
    const connector: Connector = {
      ...fakeConnector(),
      connect: (t) =>
        new Promise((resolve) => {
          finishConnect = () => resolve({ id: 7, keyId: t.keyId, address: t.address });
          connectStarted();
        }),
      close: async (c) => {
        closed.push(c.id);
      },
    };
    const p = new ConnectionPool({ connector });
    const getting = p.get('127.0.0.1:1');
    await connecting;
    const closing = p.close();
    finishConnect?.();
    await expect(getting).rejects.toThrow('cannot get a connection: the connection pool is closed');
    await closing;
    expect(closed).toEqual([7]);
    expect(p.stats()).toMatchObject({ created: 1, closed: 1, liveKeys: 0, draining: 0 });
  });

  it('takes every key out the moment close() is called, even while another key is still connecting (found by pool-linearizable)', async () => {
    let finishConnect: (() => void) | undefined;
    const connector: Connector = {
      ...fakeConnector(),
      connect: (t) =>
        t.address === '127.0.0.1:2'
          ? new Promise((resolve) => {
              finishConnect = () => resolve({ id: 9, keyId: t.keyId, address: t.address });
            })
          : Promise.resolve({ id: 1, keyId: t.keyId, address: t.address }),
    };
    const p = new ConnectionPool({ connector });
    await p.add('127.0.0.1:1');
    const slow = p.get('127.0.0.1:2');
    // Let the slow get take its key's lock and start connecting.
    for (let turn = 0; turn < 10; turn++) await Promise.resolve();
    const closing = p.close();
    // Gets are refused from now on, so stats must no longer show a live key.
    await expect(p.get('127.0.0.1:1')).rejects.toThrow('the connection pool is closed');
    const s = p.stats();
    expect(s).toMatchObject({ liveKeys: 0 });
    expect(s.created).toBe(s.closed + s.liveKeys + s.draining);
    finishConnect?.();
    await expect(slow).rejects.toThrow('the connection pool is closed');
    await closing;
  });

  it('holds no lock for keys it no longer has (2,000 add/remove cycles over distinct keys)', async () => {
    const p = new ConnectionPool({ connector: fakeConnector() });
    for (let k = 1; k <= 2_000; k++) {
      await p.add(`127.0.0.1:${k}`);
      expect(await p.remove(`127.0.0.1:${k}`)).toBe(true);
    }
    expect(p.lockCount).toBe(0);
    expect(p.stats()).toMatchObject({ created: 2_000, closed: 2_000, liveKeys: 0 });
  });

  it('keeps created = closed + live + draining at every turn of a remove (found by pool-linearizable)', async () => {
    const p = new ConnectionPool({ connector: fakeConnector() });
    await p.add('127.0.0.1:1');
    const removing = p.remove('127.0.0.1:1');
    for (let turn = 0; turn < 50; turn++) {
      const s = p.stats();
      expect(s.created, `turn ${turn}`).toBe(s.closed + s.liveKeys + s.draining);
      await Promise.resolve();
    }
    expect(await removing).toBe(true);
  });

  it('counts a lease released twice only once, and reports leases on draining connections', async () => {
    const p = new ConnectionPool({ connector: fakeConnector() });
    const a = await p.acquire('127.0.0.1:1');
    const b = await p.acquire('127.0.0.1:1');
    a.release();
    a.release();
    expect(p.stats().inFlight).toBe(1);
    const removing = p.remove('127.0.0.1:1');
    // remove takes the key's lock first; wait (microtask by microtask) until it starts draining.
    for (let turns = 0; p.stats().draining === 0 && turns < 1_000; turns++) await Promise.resolve();
    expect(p.stats()).toMatchObject({ inFlight: 1, draining: 1, liveKeys: 0 });
    b.release();
    expect(await removing).toBe(true);
    expect(p.stats()).toMatchObject({ inFlight: 0, draining: 0, closed: 1 });
  });

  it('keys() and inspect(): live keys in creation order, a draining entry with its lease, the locks', async () => {
    const p = new ConnectionPool({ connector: fakeConnector() });
    await p.add('127.0.0.1:2');
    await p.add('127.0.0.1:1');
    const lease = await p.acquire('127.0.0.1:2');
    expect(p.keys()).toEqual([p.keyOf('127.0.0.1:2').id, p.keyOf('127.0.0.1:1').id]);
    const removing = p.remove('127.0.0.1:2');
    for (let turns = 0; p.stats().draining === 0 && turns < 1_000; turns++) await Promise.resolve();
    const seen = p.inspect();
    expect(seen.closed).toBe(false);
    expect(seen.entries).toEqual([
      { keyId: p.keyOf('127.0.0.1:1').id, address: '127.0.0.1:1', state: 'live', inFlight: 0, connectionId: 2 },
    ]);
    expect(seen.draining).toEqual([
      { keyId: p.keyOf('127.0.0.1:2').id, address: '127.0.0.1:2', state: 'draining', inFlight: 1, connectionId: 1 },
    ]);
    // The remove holds the key's lock while it drains; key 1's creation lock was let go.
    expect(seen.locks).toEqual([{ keyId: p.keyOf('127.0.0.1:2').id, users: 1, held: true }]);
    expect(p.keys()).toEqual([p.keyOf('127.0.0.1:1').id]);
    lease.release();
    await removing;
    await p.close();
    expect(p.inspect()).toMatchObject({ closed: true, entries: [], draining: [] });
  });

  it('close waits for connections a remove is still draining', async () => {
    const p = new ConnectionPool({ connector: fakeConnector() });
    const lease = await p.acquire('127.0.0.1:1');
    const removing = p.remove('127.0.0.1:1');
    for (let turns = 0; p.stats().draining === 0 && turns < 1_000; turns++) await Promise.resolve();
    let closed = false;
    const closing = p.close().then(() => {
      closed = true;
    });
    for (let turns = 0; turns < 1_000; turns++) await Promise.resolve();
    expect(closed, 'close resolved while a lease still held a draining connection').toBe(false);
    lease.release();
    await closing;
    await removing;
    expect(p.stats()).toMatchObject({ draining: 0, closed: 1 });
  });

  it('closes on `await using`', async () => {
    let pool: ConnectionPool | undefined;
    {
      await using p = new ConnectionPool({ connector: fakeConnector() });
      pool = p;
      await p.add('127.0.0.1:1');
    }
    expect(pool.isClosed).toBe(true);
    expect(pool.stats()).toMatchObject({ created: 1, closed: 1 });
  });
});
