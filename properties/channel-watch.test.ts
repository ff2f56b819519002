import * as grpc from '@grpc/grpc-js';
import { afterEach, describe, expect, it } from 'vitest';
import { type GrpcConnection, GrpcConnector } from '../src/pool/grpc-connector.js';
import { TestServer } from '../src/server/test-server.js';
import { ChannelWatch } from './channel-watch.js';
import { FAST_RECONNECT } from './scheduled-connector.js';

const opened: Array<() => Promise<void>> = [];
afterEach(async () => {
  for (const close of opened.splice(0).reverse()) await close();
});

async function setUp() {
  const server = await TestServer.start();
  opened.push(() => server.close());
  const watch = new ChannelWatch();
  const inner = new GrpcConnector(FAST_RECONNECT);
  const connector = watch.track(inner);
  const connections: GrpcConnection[] = [];
  opened.push(async () => {
    for (const c of connections) await inner.close(c);
  });
  const connect = async () => {
    const c = await connector.connect({ address: server.address, keyId: 'k' } as Parameters<typeof connector.connect>[0]);
    connections.push(c);
    return c;
  };
  return { server, watch, connector, connect };
}

/** A channel whose server was killed, after a call on it was refused as UNAVAILABLE. */
async function refusedChannel() {
  const setup = await setUp();
  await setup.server.kill();
  const c = await setup.connect();
  await expect(setup.connector.call(c, { requestId: 'r1' }, 2_000)).rejects.toMatchObject({ status: 14 });
  return { ...setup, c };
}

describe('ChannelWatch: what a retrying caller waits on instead of a fixed sleep', () => {
  it('with no channel to the address, it only paces the retry (about 50 ms, not a backoff)', async () => {
    const started = performance.now();
    await new ChannelWatch().changed('127.0.0.1:1');
    const elapsed = performance.now() - started;
    expect(elapsed).toBeGreaterThanOrEqual(30);
    // Generous for a loaded machine: far below the 1 s a backing-off channel may take.
    expect(elapsed).toBeLessThan(900);
  });

  it('a channel whose server stays down: bounded (grpc-js keeps the channel in TRANSIENT_FAILURE)', async () => {
    const { server, watch, c } = await refusedChannel();
    // The channel whose call was refused backs off.
    expect(c.client.getChannel().getConnectivityState(false)).toBe(grpc.connectivityState.TRANSIENT_FAILURE);
    const started = performance.now();
    await watch.changed(server.address);
    // Its bound is 1 s; generous for a loaded machine, the point is that it ends.
    expect(performance.now() - started).toBeLessThan(4_000);
  });

  it('after the server is back, waiting on the channel and calling again succeeds', async () => {
    const { server, watch, connector, c } = await refusedChannel();
    await server.restart();
    let attempts = 1;
    for (;;) {
      await watch.changed(server.address);
      attempts += 1;
      const ok = await connector.call(c, { requestId: `r${attempts}` }, 2_000).then(
        () => true,
        () => false,
      );
      if (ok) break;
      expect(attempts).toBeLessThan(20);
    }
    // Each retry waits for the next reconnect attempt: a handful, where a 10 ms poll would make dozens.
    expect(attempts).toBeLessThanOrEqual(5);
  });
});
