import { EventEmitter } from 'node:events';
import net from 'node:net';
import { randomLoopbackHost } from '../../src/server/test-server.js';

/**
 * How a listener that stands in for a server that is down answers each connection attempt:
 * `reset` (TCP RST at once), `close` (FIN at once: the TCP connect succeeds, the HTTP/2 handshake
 * cannot), or `blackhole` (accepts and never answers: the attempt stays in its handshake).
 */
export type RefuseMode = 'reset' | 'close' | 'blackhole';

/**
 * A loopback listener in place of a server that is down: it accepts each connection attempt,
 * records when (performance.now(), in this process), and refuses it as `mode` says. Connection
 * attempts are counted and timed here, on the server's side of the socket, never read from the
 * client. `close()` frees the address for a real server to take over (same host and port).
 */
export class AttemptListener {
  readonly host: string;
  readonly mode: RefuseMode;
  readonly #server: net.Server;
  readonly #attempts: number[] = [];
  readonly #held = new Set<net.Socket>();
  readonly #events = new EventEmitter();
  #port = 0;

  private constructor(server: net.Server, host: string, mode: RefuseMode) {
    this.#server = server;
    this.host = host;
    this.mode = mode;
  }

  /** Starts listening on a random 127.x.y.z address (port 0, or `port` to take over an address). */
  static async start(mode: RefuseMode, at: { host?: string; port?: number } = {}): Promise<AttemptListener> {
    const host = at.host ?? randomLoopbackHost();
    const server = net.createServer();
    const listener = new AttemptListener(server, host, mode);
    server.on('connection', (socket) => listener.#accept(socket));
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen({ host, port: at.port ?? 0 }, () => {
        server.off('error', reject);
        resolve();
      });
    });
    listener.#port = (server.address() as net.AddressInfo).port;
    return listener;
  }

  get port(): number {
    return this.#port;
  }

  get address(): string {
    return `${this.host}:${this.#port}`;
  }

  /** When each connection attempt was accepted, in order (ms, performance.now()). */
  get attempts(): readonly number[] {
    return this.#attempts;
  }

  /** Resolves true once `count` attempts have been seen, false if `timeoutMs` passes first. */
  waitForAttempts(count: number, timeoutMs: number): Promise<boolean> {
    if (this.#attempts.length >= count) return Promise.resolve(true);
    return new Promise((resolve) => {
      const onAttempt = () => {
        if (this.#attempts.length < count) return;
        clearTimeout(timer);
        this.#events.off('attempt', onAttempt);
        resolve(true);
      };
      const timer = setTimeout(() => {
        this.#events.off('attempt', onAttempt);
        resolve(false);
      }, timeoutMs);
      this.#events.on('attempt', onAttempt);
    });
  }

  /** Stops listening and drops every connection it still holds; resolves once the port is free. */
  async close(): Promise<void> {
    for (const socket of this.#held) socket.destroy();
    this.#held.clear();
    if (!this.#server.listening) return;
    await new Promise<void>((resolve) => this.#server.close(() => resolve()));
  }

  #accept(socket: net.Socket): void {
    this.#attempts.push(performance.now());
    socket.on('error', () => {});
    if (this.mode === 'reset') socket.resetAndDestroy();
    else if (this.mode === 'close') socket.destroy();
    else {
      this.#held.add(socket);
      socket.once('close', () => this.#held.delete(socket));
    }
    this.#events.emit('attempt');
  }
}
