import { once } from 'node:events';
import type net from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import { socketPair } from '../../test/socket-pair.js';
import { type ConnectionHost, FaultConnection, type InstalledToxic, zeroTotals } from './fault-connection.js';
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
    totals: zeroTotals(),
    changed: () => {},
  };
}

/** `spec` installed as toxic `name`, with counters at zero. */
function install(name: string, spec: Parameters<typeof validateToxic>[1]): InstalledToxic {
  return {
    toxic: validateToxic(name, spec),
    counters: { connectionsAffected: 0, connectionsReset: 0, connectionsClosed: 0, bytesSwallowed: 0 },
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
    const reset = install('r', { type: 'reset' });
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

// Survivors of the mutation run (docs/measurements.md): the counters per direction and per toxic,
// and a second reset or close of a connection already closing.
describe('FaultConnection counters', () => {
  const toxic = (name: string, type: 'reset' | 'close'): InstalledToxic =>
    install(name, type === 'reset' ? { type } : { type: 'close-after', afterMs: 0 });

  it('counts bytes forwarded each way apart', async () => {
    const client = await pair();
    const server = await pair();
    const h = host();
    new FaultConnection(h, client.ours, server.ours, () => {});
    const up = once(server.peer, 'data');
    client.peer.write('abc');
    await up;
    const down = once(client.peer, 'data');
    server.peer.write('hello');
    await down;
    expect(h.totals.bytesUpstream).toBe(3);
    expect(h.totals.bytesDownstream).toBe(5);
  });

  it('a connection already reset or closed is counted once: a second reset or close does nothing', async () => {
    const client = await pair();
    const server = await pair();
    const h = host();
    const conn = new FaultConnection(h, client.ours, server.ours, () => {});
    const reset = toxic('r', 'reset');
    const close = toxic('c', 'close');
    conn.reset(reset);
    conn.reset(reset);
    conn.closeBy(close);
    expect(reset.counters).toMatchObject({ connectionsAffected: 1, connectionsReset: 1 });
    expect(close.counters).toMatchObject({ connectionsAffected: 0, connectionsClosed: 0 });
    expect(h.totals).toMatchObject({ connectionsReset: 1, connectionsClosedByToxic: 0 });
  });

  it('one toxic affecting a connection twice counts it once; two toxics count it once each', async () => {
    const client = await pair();
    const server = await pair();
    const conn = new FaultConnection(host(), client.ours, server.ours, () => {});
    const a = toxic('a', 'close');
    const b = toxic('b', 'close');
    conn.affected(a.counters);
    conn.affected(a.counters);
    conn.affected(b.counters);
    expect(a.counters.connectionsAffected).toBe(1);
    expect(b.counters.connectionsAffected).toBe(1);
  });

  it('a close by a toxic ends both sockets (the peers see the end) and counts it', async () => {
    const client = await pair();
    const server = await pair();
    const h = host();
    const conn = new FaultConnection(h, client.ours, server.ours, () => {});
    const close = toxic('c', 'close');
    // Listened for before the close: the proxy's sockets close right after their end is sent.
    const ended = Promise.all([
      once(client.peer, 'end'),
      once(server.peer, 'end'),
      closes(client.ours, "the proxy's client-side socket"),
      closes(server.ours, "the proxy's server-side socket"),
    ]);
    conn.closeBy(close);
    await ended;
    expect(close.counters.connectionsClosed).toBe(1);
    expect(h.totals.connectionsClosedByToxic).toBe(1);
  });
});

describe('FaultConnection toxics, with the random draw fixed', () => {
  /**
   * A connection whose host holds `spec` and draws `draw` for every jitter; the client's peer
   * writes `text`. Resolves with the ms until all of it reached the server and the sizes of the
   * writes the proxy made (its own count, whatever the reader coalesces).
   */
  async function through(spec: Parameters<typeof validateToxic>[1], draw: number, text: string) {
    const client = await pair();
    const server = await pair();
    const installed = install('t', spec);
    const writes: number[] = [];
    const h = host();
    let forwarded = 0;
    const conn = new FaultConnection(
      {
        ...h,
        toxics: () => [installed],
        random: () => draw,
        changed: () => {
          if (h.totals.bytesUpstream > forwarded) writes.push(h.totals.bytesUpstream - forwarded);
          forwarded = h.totals.bytesUpstream;
        },
      },
      client.ours,
      server.ours,
      () => {},
    );
    cleanup.push(() => conn.destroy());
    const chunks: string[] = [];
    const t0 = performance.now();
    const all = new Promise<void>((resolve) => {
      server.peer.on('data', (d: Buffer) => {
        chunks.push(d.toString());
        if (chunks.join('').length >= text.length) resolve();
      });
    });
    client.peer.write(text);
    await all;
    return { ms: performance.now() - t0, text: chunks.join(''), writes };
  }

  it('latency with jitter: the lowest draw takes the jitter off, the highest adds it', async () => {
    // latency 300 ms ± 300: a draw of 0 forwards at once, one near 1 after almost 600 ms. Compared
    // within the run (the fast one under half the slow one), and the slow one's floor, which only
    // load can lengthen.
    const spec = { type: 'latency', latencyMs: 300, jitterMs: 300 } as const;
    const fast = await through(spec, 0, 'x');
    const slow = await through(spec, 0.999, 'x');
    expect(slow.ms).toBeGreaterThanOrEqual(590);
    expect(fast.ms).toBeLessThan(slow.ms / 2);
  });

  it('slicer: a chunk goes out in slices of sliceBytes, delayMs apart, bytes intact and in order', async () => {
    const sliced = await through({ type: 'slicer', sliceBytes: 3, delayMs: 200 }, 0.5, 'abcdefghij');
    expect(sliced.text).toBe('abcdefghij');
    expect(sliced.writes).toEqual([3, 3, 3, 1]);
    // A 200 ms gap before each of the last three slices: only load can add to it.
    expect(sliced.ms).toBeGreaterThanOrEqual(595);
  });
});

describe('FaultConnection back-pressure', () => {
  it('a toxic direction whose reader does not read stops reading its source instead of buffering everything', async () => {
    const client = await pair();
    const server = await pair();
    const installed = install('slow', { type: 'latency', latencyMs: 0 });
    const conn = new FaultConnection({ ...host(), toxics: () => [installed] }, client.ours, server.ours, () => {});
    cleanup.push(() => conn.destroy());
    const size = 32 << 20;
    client.peer.write(Buffer.alloc(size, 7));
    // The server's peer reads nothing yet: the proxy must stop reading the client (event-driven
    // wait, bounded: the proxy's socket pauses once its queue is over 1 MiB and its sink full).
    await new Promise<void>((resolve, reject) => {
      const deadline = performance.now() + 10_000;
      const look = (): void => {
        if (client.ours.isPaused()) resolve();
        else if (performance.now() > deadline)
          reject(
            new Error(`the proxy kept reading: ${server.ours.writableLength} bytes buffered for a reader that reads nothing`),
          );
        else setTimeout(look, 5);
      };
      look();
    });
    expect(server.ours.writableLength).toBeLessThan(8 << 20);
    // Once the reader reads, everything arrives.
    let received = 0;
    await new Promise<void>((resolve) => {
      server.peer.on('data', (d: Buffer) => {
        received += d.length;
        if (received >= size) resolve();
      });
    });
    expect(received).toBe(size);
  });
});
