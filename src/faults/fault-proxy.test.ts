import { once } from 'node:events';
import net from 'node:net';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { FaultProxy } from './fault-proxy.js';

const cleanup: Array<() => Promise<void> | void> = [];
afterEach(async () => {
  for (const f of cleanup.splice(0).reverse()) await f();
});

/** An echo server on loopback that tracks (and on cleanup destroys) its sockets. */
async function echoServer(): Promise<{ address: string; accepted: () => number }> {
  const sockets = new Set<net.Socket>();
  let accepted = 0;
  const server = net.createServer({ allowHalfOpen: true }, (socket) => {
    accepted += 1;
    sockets.add(socket);
    socket.on('error', () => {});
    socket.once('close', () => sockets.delete(socket));
    socket.pipe(socket);
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  cleanup.push(
    () =>
      new Promise<void>((r) => {
        for (const s of sockets) s.destroy();
        server.close(() => r());
      }),
  );
  return { address: `127.0.0.1:${(server.address() as net.AddressInfo).port}`, accepted: () => accepted };
}

async function proxyTo(upstream: string, seed?: number): Promise<FaultProxy> {
  const proxy = await FaultProxy.start({ upstream, ...(seed === undefined ? {} : { seed }) });
  cleanup.push(() => proxy.close());
  return proxy;
}

/** A client socket that collects what it receives. */
async function client(proxy: FaultProxy) {
  const socket = net.connect(proxy.port, '127.0.0.1');
  socket.on('error', () => {});
  cleanup.push(() => {
    socket.destroy();
  });
  const chunks: Buffer[] = [];
  let received = 0;
  const waiters: Array<{ n: number; resolve: () => void }> = [];
  socket.on('data', (d: Buffer) => {
    chunks.push(d);
    received += d.length;
    for (const w of waiters.splice(0)) {
      if (received >= w.n) w.resolve();
      else waiters.push(w);
    }
  });
  const closed = new Promise<{ reset: boolean }>((resolve) => {
    let reset = false;
    socket.on('error', (e: NodeJS.ErrnoException) => {
      reset ||= e.code === 'ECONNRESET';
    });
    socket.once('close', () => resolve({ reset }));
  });
  // A connection the proxy resets at once may fail before 'connect': then `closed` tells.
  await Promise.race([once(socket, 'connect').catch(() => undefined), closed]);
  return {
    socket,
    chunks,
    received: () => received,
    closed,
    /** Resolves once `n` bytes in all have arrived. */
    receive: (n: number) =>
      new Promise<void>((resolve) => {
        if (received >= n) resolve();
        else waiters.push({ n, resolve });
      }),
  };
}

describe('FaultProxy', () => {
  it('forwards both ways, counts connections and bytes, and closes every socket it holds', async () => {
    const echo = await echoServer();
    const proxy = await proxyTo(echo.address);
    expect(proxy.address).toMatch(/^127\.0\.0\.1:\d+$/);
    const c = await client(proxy);
    c.socket.write('hello');
    await c.receive(5);
    expect(Buffer.concat(c.chunks).toString()).toBe('hello');
    expect(proxy.stats()).toMatchObject({ acceptedConnections: 1, openConnections: 1, bytesUpstream: 5, bytesDownstream: 5 });
    expect(Object.isFrozen(proxy.stats())).toBe(true);
    await proxy.close();
    await c.closed;
    expect(proxy.stats()).toMatchObject({ openConnections: 0, closedConnections: 1 });
    await proxy.close();
    expect(() => proxy.addToxic('x', { type: 'refuse' })).toThrow(expect.objectContaining({ code: 'ERR_PROXY_STATE' }));
  });

  it("counts a client's reset apart from its graceful close", async () => {
    const echo = await echoServer();
    const proxy = await proxyTo(echo.address);
    const graceful = await client(proxy);
    graceful.socket.end();
    await proxy.waitUntil((s) => s.openConnections === 0, 3_000, 'the first connection closed');
    expect(proxy.stats().clientResets).toBe(0);
    const abrupt = await client(proxy);
    await proxy.waitUntil((s) => s.openConnections === 1, 3_000, 'the second connection open');
    abrupt.socket.resetAndDestroy();
    await proxy.waitUntil((s) => s.openConnections === 0, 3_000, 'the second connection closed');
    expect(proxy.stats()).toMatchObject({ acceptedConnections: 2, clientResets: 1 });
  });

  it('validates options and toxic specs up front, naming the field', async () => {
    await expect(FaultProxy.start({ upstream: 'nope' })).rejects.toMatchObject({ code: 'ERR_PROXY_OPTIONS' });
    await expect(FaultProxy.start({ upstream: '127.0.0.1:0' })).rejects.toMatchObject({ code: 'ERR_PROXY_OPTIONS' });
    const proxy = await proxyTo('127.0.0.1:9');
    const bad = (name: string, spec: unknown) => () => proxy.addToxic(name, spec as never);
    expect(bad('l', { type: 'latency', latencyMs: -1 })).toThrow(/toxic "l" \(latency\): latencyMs must be a number in 0\.\./);
    expect(bad('l', { type: 'latency', latency: 5 })).toThrow(
      /unknown field "latency" \(takes type, latencyMs, jitterMs, direction\)/,
    );
    expect(bad('l', { type: 'latency', latencyMs: 5, direction: 'up' })).toThrow(
      /direction must be 'upstream', 'downstream' or 'both'/,
    );
    expect(bad('s', { type: 'stall-after', bytes: 1.5 })).toThrow(/bytes must be a whole number/);
    expect(bad('r', { type: 'reset', direction: 'upstream' })).toThrow(/unknown field "direction"/);
    expect(bad('x', { type: 'teleport' })).toThrow(/type must be one of latency, bandwidth/);
    expect(bad('', { type: 'refuse' })).toThrow(expect.objectContaining({ code: 'ERR_INVALID_TOXIC' }));
    proxy.addToxic('r', { type: 'refuse' });
    expect(bad('r', { type: 'refuse' })).toThrow(expect.objectContaining({ code: 'ERR_TOXIC_EXISTS' }));
    expect(() => proxy.removeToxic('nope')).toThrow(/no toxic named "nope" is installed \(installed: r\)/);
    expect(() => proxy.removeToxic('nope')).toThrow(expect.objectContaining({ code: 'ERR_TOXIC_NOT_FOUND' }));
    expect(proxy.toxics()).toEqual([{ name: 'r', type: 'refuse' }]);
    await expect(proxy.waitUntil((s) => s.acceptedConnections > 0, 50, 'a client')).rejects.toMatchObject({
      code: 'ERR_PROXY_WAIT_TIMEOUT',
      message: /did not reach "a client" within 50 ms/,
    });
  });

  it('latency delays each direction it names, on a connection already open, with jitter inside its bounds', async () => {
    const echo = await echoServer();
    const proxy = await proxyTo(echo.address, 42);
    const c = await client(proxy);
    proxy.addToxic('slow', { type: 'latency', latencyMs: 150, jitterMs: 50, direction: 'downstream' });
    const t0 = performance.now();
    c.socket.write('a');
    await c.receive(1);
    const elapsed = performance.now() - t0;
    expect(elapsed).toBeGreaterThanOrEqual(95);
    expect(elapsed).toBeLessThan(2_000);
    expect(proxy.stats().toxics).toEqual([
      { name: 'slow', type: 'latency', connectionsAffected: 1, connectionsReset: 0, connectionsClosed: 0, bytesSwallowed: 0 },
    ]);
    proxy.removeToxic('slow');
    expect(proxy.seed).toBe(42);
  });

  it('bandwidth throttles and slicer splits what it forwards', async () => {
    const echo = await echoServer();
    const proxy = await proxyTo(echo.address);
    const c = await client(proxy);
    proxy.addToxic('bw', { type: 'bandwidth', kbPerSecond: 64, direction: 'upstream' });
    const t0 = performance.now();
    c.socket.write(Buffer.alloc(16 * 1024));
    await c.receive(16 * 1024);
    expect(performance.now() - t0).toBeGreaterThanOrEqual(230); // 16 KiB at 64 KiB/s: 250 ms
    proxy.clearToxics();
    proxy.addToxic('slices', { type: 'slicer', sliceBytes: 3, delayMs: 5, direction: 'downstream' });
    c.chunks.length = 0;
    // The slices are seen where the proxy writes them, on its socket to the client: the client's
    // reads may join slices that arrive while its event loop is busy (a loaded machine does that).
    const writes = vi.spyOn(net.Socket.prototype, 'write');
    cleanup.push(() => writes.mockRestore()); // also if the test times out waiting
    try {
      const t1 = performance.now();
      c.socket.write('abcdefghij');
      await c.receive(16 * 1024 + 10);
      // Four slices, 5 ms apart: 15 ms, less a timer that fires a millisecond early.
      expect(performance.now() - t1).toBeGreaterThanOrEqual(10);
      const toClient = writes.mock.contexts
        .map((socket, k) => ({ socket: socket as net.Socket, data: writes.mock.calls[k]?.[0] }))
        .filter(({ socket }) => socket.remotePort === c.socket.localPort && socket !== c.socket)
        .map(({ data }) => Buffer.from(data as Buffer).toString());
      expect(toClient).toEqual(['abc', 'def', 'ghi', 'j']);
    } finally {
      writes.mockRestore();
    }
    expect(Buffer.concat(c.chunks).toString()).toBe('abcdefghij');
  });

  it('stall-after forwards N bytes then swallows everything and keeps the socket open; it stays stalled', async () => {
    const echo = await echoServer();
    const proxy = await proxyTo(echo.address);
    const c = await client(proxy);
    proxy.addToxic('hole', { type: 'stall-after', bytes: 4, direction: 'upstream' });
    c.socket.write('abcdef');
    await c.receive(4);
    await proxy.waitUntil((s) => s.bytesSwallowed === 2, 5_000, 'two bytes swallowed');
    expect(Buffer.concat(c.chunks).toString()).toBe('abcd');
    proxy.removeToxic('hole');
    expect(proxy.stats()).toMatchObject({ openConnections: 1, bytesSwallowed: 2, toxics: [] });
    // A new connection is clean; the stalled one is still open and still stalled.
    const d = await client(proxy);
    d.socket.write('xyz');
    await d.receive(3);
    expect(proxy.stats()).toMatchObject({ openConnections: 2 });
    // A reset from the client does end a black-holed connection (a FIN alone would be swallowed).
    c.socket.resetAndDestroy();
    await proxy.waitUntil((s) => s.openConnections === 1, 5_000, 'the stalled connection closed');
  });

  it('reset sends RST to open connections and to new ones until removed', async () => {
    const echo = await echoServer();
    const proxy = await proxyTo(echo.address);
    const c = await client(proxy);
    c.socket.write('x');
    await c.receive(1);
    proxy.addToxic('rst', { type: 'reset' });
    expect(await c.closed).toEqual({ reset: true });
    const d = await client(proxy);
    expect(await d.closed).toEqual({ reset: true });
    expect(proxy.stats()).toMatchObject({ connectionsReset: 2, toxics: [{ name: 'rst', connectionsReset: 2 }] });
    proxy.removeToxic('rst');
    proxy.addToxic('rst-new', { type: 'reset', connections: 'existing' });
    const e = await client(proxy);
    e.socket.write('y');
    await e.receive(1);
  });

  it('close-after closes a connection after a time; limit after N bytes', async () => {
    const echo = await echoServer();
    const proxy = await proxyTo(echo.address);
    proxy.addToxic('timeout', { type: 'close-after', afterMs: 100 });
    const t0 = performance.now();
    const c = await client(proxy);
    expect(await c.closed).toEqual({ reset: false });
    expect(performance.now() - t0).toBeGreaterThanOrEqual(90);
    proxy.removeToxic('timeout');
    proxy.addToxic('cap', { type: 'limit', bytes: 5, direction: 'downstream' });
    const d = await client(proxy);
    d.socket.write('0123456789');
    expect(await d.closed).toEqual({ reset: false });
    expect(Buffer.concat(d.chunks).toString()).toBe('01234');
    expect(proxy.stats()).toMatchObject({ connectionsClosedByToxic: 2, toxics: [{ name: 'cap', connectionsClosed: 1 }] });
  });

  it('handshake-blackhole accepts but never reaches the server; refuse closes new connections at once', async () => {
    const echo = await echoServer();
    const proxy = await proxyTo(echo.address);
    const open = await client(proxy);
    proxy.addToxic('bh', { type: 'handshake-blackhole' });
    const c = await client(proxy);
    c.socket.write('hello?');
    await proxy.waitUntil((s) => s.bytesSwallowed === 6, 5_000, 'swallowed');
    expect(echo.accepted()).toBe(1);
    expect(proxy.stats()).toMatchObject({
      openConnections: 2,
      toxics: [{ name: 'bh', connectionsAffected: 1, bytesSwallowed: 6 }],
    });
    proxy.removeToxic('bh');
    proxy.addToxic('no', { type: 'refuse' });
    const d = await client(proxy);
    expect(await d.closed).toEqual({ reset: false });
    // The connection opened before both toxics still works.
    open.socket.write('ok');
    await open.receive(2);
  });

  it('resets the client when the upstream server is down', async () => {
    const echo = await echoServer();
    const proxy = await proxyTo(echo.address);
    for (const f of cleanup.splice(0, 1)) await f(); // stop the echo server
    const c = await client(proxy);
    expect(await c.closed).toEqual({ reset: true });
    expect(proxy.stats()).toMatchObject({ upstreamFailures: 1, openConnections: 0 });
  });
});
