import net from 'node:net';
import * as grpc from '@grpc/grpc-js';
import { afterEach, describe, expect, it } from 'vitest';
import { type LedgerResponseMessage, loadTestProto } from '../proto/load-test-proto.js';
import { TestServer } from './test-server.js';

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
function bareClient(address: string) {
  const { Client } = loadTestProto();
  const client = new Client(address, grpc.credentials.createInsecure(), { 'grpc.use_local_subchannel_pool': 1 });
  clients.push(client);
  const call = (request: { requestId: string; delayMs?: number; failCode?: number }, deadlineMs = 5_000) =>
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
