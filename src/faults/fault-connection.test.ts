import { once } from 'node:events';
import type net from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import { socketPair } from '../../test/socket-pair.js';
import { type ConnectionHost, FaultConnection, type InstalledToxic } from './fault-connection.js';
import { validateToxic } from './toxics.js';

const cleanup: Array<() => void> = [];
afterEach(() => {
  for (const f of cleanup.splice(0).reverse()) f();
});

/** A socket pair (see `socketPair`), destroyed after the test. */
async function pair(): Promise<{ ours: net.Socket; peer: net.Socket }> {
  const p = await socketPair();
  cleanup.push(() => {
    p.ours.destroy();
    p.peer.destroy();
  });
  return p;
}

function host(): ConnectionHost {
  return {
    toxics: () => [],
    random: () => 0.5,
    totals: { bytesUpstream: 0, bytesDownstream: 0, bytesSwallowed: 0, connectionsReset: 0, connectionsClosedByToxic: 0 },
    changed: () => {},
  };
}

/** Resolves once `socket` emits 'close'; rejects, naming it, if it has not within `ms` (a failure, not a barrier). */
function closes(socket: net.Socket, name: string, ms = 2_000): Promise<void> {
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`${name} never emitted 'close' (its handle is still open)`)), ms);
    socket.once('close', () => {
      clearTimeout(timer);
      resolve();
    });
  });
}

describe('FaultConnection.reset', () => {
  it('closes a socket whose end of stream is still being sent (the server closed first, then a reset toxic)', async () => {
    const client = await pair();
    const server = await pair();
    const conn = new FaultConnection(host(), client.ours, server.ours, () => {});
    const reset: InstalledToxic = {
      toxic: validateToxic('r', { type: 'reset' }),
      counters: { connectionsAffected: 0, connectionsReset: 0, connectionsClosed: 0, bytesSwallowed: 0 },
    };
    const before = process.getActiveResourcesInfo().filter((t) => t === 'TCPSocketWrap').length;
    // What the downstream pump does when the server's FIN arrives: end the client's side. Its
    // shutdown is under way until the next poll; a reset toxic added now must still close it.
    client.ours.end();
    conn.reset(reset);
    await Promise.all([
      closes(client.ours, "the proxy's client-side socket"),
      closes(server.ours, "the proxy's server-side socket"),
      closes(server.peer, 'the server'),
      // The client's side had its FIN already: it sees the end of stream (it is half-open, its own to close).
      once(client.peer, 'end'),
    ]);
    expect(process.getActiveResourcesInfo().filter((t) => t === 'TCPSocketWrap').length).toBe(before - 3);
    expect(reset.counters.connectionsReset).toBe(1);
  });
});
