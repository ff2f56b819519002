import { EventEmitter } from 'node:events';
import net from 'node:net';
import {
  InvalidProxyOptionsError,
  ProxyStateError,
  ProxyWaitTimeoutError,
  ToxicExistsError,
  ToxicNotFoundError,
} from './errors.js';
import {
  type ConnectionHost,
  FaultConnection,
  type InstalledToxic,
  type ProxyTotals,
  resetSocket,
  zeroTotals,
} from './fault-connection.js';
import { seededRandom } from './seeded-random.js';
import { type Toxic, type ToxicSpec, type ToxicType, validateToxic } from './toxics.js';

export interface FaultProxyOptions {
  /** The server to forward to, `host:port` (IPv6 in brackets). */
  readonly upstream: string;
  /** Address to listen on; default `127.0.0.1`. */
  readonly host?: string;
  /** Port to listen on; default 0, the OS picks a free one. */
  readonly port?: number;
  /** Seed of the jitter of `latency` toxics; default random (read it back from `seed`). */
  readonly seed?: number;
}

/** What one installed toxic has done so far. */
export interface ToxicStats {
  readonly name: string;
  readonly type: ToxicType;
  /** Connections it acted on (delayed, throttled, sliced, stalled, limited, reset, closed, refused or black-holed), each once. */
  readonly connectionsAffected: number;
  /** Connections it reset (RST). */
  readonly connectionsReset: number;
  /** Connections it closed (FIN): `limit`, `close-after`, `refuse`. */
  readonly connectionsClosed: number;
  /** Bytes it swallowed (`stall-after`, `handshake-blackhole`). */
  readonly bytesSwallowed: number;
}

/** A frozen snapshot of the proxy's counters. Totals include what toxics since removed did. */
export interface FaultProxyStats {
  /** Client connections accepted (refused and reset ones included). */
  readonly acceptedConnections: number;
  /** Client connections not yet closed (both sockets, where there are two). */
  readonly openConnections: number;
  /**
   * Connections whose client has not let go of its socket (no FIN, RST or close from it yet): what
   * a client holds, even where a black hole keeps the proxy's and the server's sides open.
   */
  readonly clientOpenConnections: number;
  readonly closedConnections: number;
  /** Bytes forwarded client -> server. */
  readonly bytesUpstream: number;
  /** Bytes forwarded server -> client. */
  readonly bytesDownstream: number;
  /** Bytes swallowed by black holes, both ways. */
  readonly bytesSwallowed: number;
  /** Connections reset (RST) by a `reset` toxic. */
  readonly connectionsReset: number;
  /** Connections closed by a toxic (`limit`, `close-after`, `refuse`). */
  readonly connectionsClosedByToxic: number;
  /** Connections that could not reach the upstream server (the client was reset). */
  readonly upstreamFailures: number;
  /** Connections the client reset (ECONNRESET on the client's socket) instead of closing them (FIN). */
  readonly clientResets: number;
  /** The toxics installed now, in the order they were added. */
  readonly toxics: readonly ToxicStats[];
}

const HOST_PORT = /^(?:\[([0-9a-fA-F:.]+)\]|([A-Za-z0-9.-]+)):(\d{1,5})$/;

/**
 * An in-process TCP proxy in front of one server, with toxics modelled on Toxiproxy's, added and
 * removed while connections are open (see `ToxicSpec`). It counts connections and bytes itself,
 * so a test reads what happened on the wire from here, not from the client it is testing.
 * `close()` destroys every socket it holds.
 */
export class FaultProxy {
  readonly upstream: string;
  readonly seed: number;
  readonly #upstreamHost: string;
  readonly #upstreamPort: number;
  readonly #listener: net.Server;
  readonly #random: () => number;
  readonly #toxics = new Map<string, InstalledToxic>();
  readonly #connections = new Set<FaultConnection>();
  readonly #events = new EventEmitter();
  readonly #totals: ProxyTotals = zeroTotals();
  #accepted = 0;
  #open = 0;
  #closed = 0;
  #upstreamFailures = 0;
  #closing: Promise<void> | undefined;
  readonly #host: ConnectionHost;

  private constructor(upstreamHost: string, upstreamPort: number, seed: number) {
    this.#upstreamHost = upstreamHost;
    this.#upstreamPort = upstreamPort;
    this.upstream = `${upstreamHost.includes(':') ? `[${upstreamHost}]` : upstreamHost}:${upstreamPort}`;
    this.seed = seed;
    this.#random = seededRandom(seed);
    this.#events.setMaxListeners(0);
    this.#host = {
      toxics: () => [...this.#toxics.values()],
      random: () => this.#random(),
      totals: this.#totals,
      changed: () => this.#events.emit('change'),
    };
    this.#listener = net.createServer({ allowHalfOpen: true, pauseOnConnect: true }, (socket) => this.#accept(socket));
  }

  /** Starts listening (on a free port unless `port` is given) and resolves once it accepts connections. */
  static async start(options: FaultProxyOptions): Promise<FaultProxy> {
    if (typeof options !== 'object' || options === null)
      throw new InvalidProxyOptionsError('FaultProxy options must be an object');
    const match = typeof options.upstream === 'string' ? HOST_PORT.exec(options.upstream.trim()) : null;
    const upstreamPort = Number(match?.[3]);
    if (!match || upstreamPort < 1 || upstreamPort > 65_535) {
      throw new InvalidProxyOptionsError(
        `upstream must be host:port with a port in 1..65535 (IPv6 in brackets); got ${JSON.stringify(options.upstream)}`,
      );
    }
    const port = options.port ?? 0;
    if (!Number.isInteger(port) || port < 0 || port > 65_535) {
      throw new InvalidProxyOptionsError(`port must be an integer in 0..65535 (0 lets the OS pick); got ${String(port)}`);
    }
    const host = options.host ?? '127.0.0.1';
    if (typeof host !== 'string' || host === '') throw new InvalidProxyOptionsError('host must be a non-empty string');
    const seed = options.seed ?? Math.floor(Math.random() * 2 ** 32);
    if (!Number.isInteger(seed)) throw new InvalidProxyOptionsError(`seed must be an integer; got ${String(seed)}`);
    const proxy = new FaultProxy(match[1] ?? match[2] ?? '', upstreamPort, seed);
    await new Promise<void>((resolve, reject) => {
      proxy.#listener.once('error', reject);
      proxy.#listener.listen({ host, port, exclusive: true }, () => {
        proxy.#listener.off('error', reject);
        resolve();
      });
    }).catch((error: NodeJS.ErrnoException) => {
      throw new ProxyStateError(`cannot listen on ${host}:${port}: ${error.code ?? error.message}`, { cause: error });
    });
    return proxy;
  }

  /** `host:port` clients connect to (IPv6 in brackets). */
  get address(): string {
    const a = this.#listener.address() as net.AddressInfo | null;
    if (!a) return '';
    return `${a.family === 'IPv6' ? `[${a.address}]` : a.address}:${a.port}`;
  }

  get port(): number {
    return (this.#listener.address() as net.AddressInfo | null)?.port ?? 0;
  }

  /**
   * Installs a toxic under `name` (validated first; `InvalidToxicError` names the bad field).
   * It acts on open connections at once where that makes sense (see `ToxicSpec`) and on every
   * new one. Throws `ToxicExistsError` if the name is taken.
   */
  addToxic(name: string, spec: ToxicSpec): void {
    this.#requireOpen('add a toxic');
    const toxic = validateToxic(name, spec);
    if (this.#toxics.has(name)) throw new ToxicExistsError(name);
    const installed: InstalledToxic = {
      toxic,
      counters: { connectionsAffected: 0, connectionsReset: 0, connectionsClosed: 0, bytesSwallowed: 0 },
    };
    this.#toxics.set(name, installed);
    if (toxic.type === 'reset' && toxic.connections !== 'new') {
      for (const c of [...this.#connections]) c.reset(installed);
    }
    if (toxic.type === 'close-after') {
      for (const c of this.#connections) c.closeAfter(installed, toxic.afterMs);
    }
    this.#events.emit('change');
  }

  /** Removes a toxic; connections it stalled stay stalled. Throws `ToxicNotFoundError` if there is none by that name. */
  removeToxic(name: string): void {
    if (!this.#toxics.delete(name)) throw new ToxicNotFoundError(name, [...this.#toxics.keys()]);
    for (const c of this.#connections) c.forget(name);
    this.#events.emit('change');
  }

  /** Removes every toxic. */
  clearToxics(): void {
    for (const name of [...this.#toxics.keys()]) this.removeToxic(name);
  }

  /** The toxics installed now, validated and with defaults, in the order they were added. */
  toxics(): readonly Toxic[] {
    return Object.freeze([...this.#toxics.values()].map((t) => t.toxic));
  }

  stats(): FaultProxyStats {
    return Object.freeze({
      acceptedConnections: this.#accepted,
      openConnections: this.#open,
      clientOpenConnections: [...this.#connections].filter((c) => !c.clientGone).length,
      closedConnections: this.#closed,
      ...this.#totals,
      upstreamFailures: this.#upstreamFailures,
      toxics: Object.freeze(
        [...this.#toxics.values()].map(({ toxic, counters }) =>
          Object.freeze({ name: toxic.name, type: toxic.type, ...counters }),
        ),
      ),
    });
  }

  /**
   * Resolves with the first snapshot for which `predicate` holds (checked now and on every change);
   * rejects with `ProxyWaitTimeoutError` after `timeoutMs`. Event-driven: it never polls.
   */
  waitUntil(predicate: (s: FaultProxyStats) => boolean, timeoutMs: number, what = 'the condition'): Promise<FaultProxyStats> {
    const now = this.stats();
    if (predicate(now)) return Promise.resolve(now);
    return new Promise((resolve, reject) => {
      const onChange = (): void => {
        const s = this.stats();
        if (!predicate(s)) return;
        clearTimeout(timer);
        this.#events.off('change', onChange);
        resolve(s);
      };
      const timer = setTimeout(() => {
        this.#events.off('change', onChange);
        const s = this.stats();
        reject(
          new ProxyWaitTimeoutError(
            `fault proxy ${this.address} -> ${this.upstream} did not reach "${what}" within ${timeoutMs} ms (open=${s.openConnections}, accepted=${s.acceptedConnections}, swallowed=${s.bytesSwallowed})`,
          ),
        );
      }, timeoutMs);
      this.#events.on('change', onChange);
    });
  }

  /** Stops listening and destroys every socket it holds; resolves once all are closed. Safe to call twice. */
  close(): Promise<void> {
    this.#closing ??= (async () => {
      const listening = new Promise<void>((resolve) => this.#listener.close(() => resolve()));
      for (const c of this.#connections) c.destroy();
      this.#toxics.clear();
      await this.waitUntil((s) => s.openConnections === 0, 10_000, 'every connection closed');
      await listening;
    })();
    return this.#closing;
  }

  async [Symbol.asyncDispose](): Promise<void> {
    await this.close();
  }

  #requireOpen(action: string): void {
    if (this.#closing) throw new ProxyStateError(`cannot ${action}: the fault proxy ${this.upstream} is closed`);
  }

  #accept(down: net.Socket): void {
    this.#accepted += 1;
    this.#open += 1;
    this.#events.emit('change');
    const toxics = [...this.#toxics.values()];
    const refuse = toxics.find((t) => t.toxic.type === 'refuse');
    const reset = toxics.find((t) => t.toxic.type === 'reset' && t.toxic.connections !== 'existing');
    const blackhole = toxics.find((t) => t.toxic.type === 'handshake-blackhole');
    const onClosed = (c: FaultConnection) => () => {
      this.#connections.delete(c);
      this.#open -= 1;
      this.#closed += 1;
      this.#events.emit('change');
    };
    if (this.#closing || refuse || reset || blackhole) {
      const c = new FaultConnection(this.#host, down, undefined, () => onClosed(c)(), blackhole);
      this.#connections.add(c);
      down.resume();
      if (this.#closing) c.destroy();
      else if (refuse) c.closeBy(refuse);
      else if (reset) c.reset(reset);
      return;
    }
    const up = net.connect({ host: this.#upstreamHost, port: this.#upstreamPort, allowHalfOpen: true });
    up.setNoDelay(true);
    down.setNoDelay(true);
    up.once('error', (error: NodeJS.ErrnoException) => {
      if (error.code === 'ECONNREFUSED' || !up.remoteAddress) {
        // The server is down: tell the client the way a refused connection would, with a reset.
        this.#upstreamFailures += 1;
        resetSocket(down);
      }
    });
    const c = new FaultConnection(this.#host, down, up, () => onClosed(c)());
    this.#connections.add(c);
    for (const t of toxics) if (t.toxic.type === 'close-after') c.closeAfter(t, t.toxic.afterMs);
    down.resume();
  }
}
