import type net from 'node:net';
import { setTimeout as sleep } from 'node:timers/promises';
import { appliesTo, type Toxic } from './toxics.js';

/** A toxic as the proxy holds it: the validated spec and its mutable counters. */
export interface InstalledToxic {
  readonly toxic: Toxic;
  readonly counters: ToxicCounters;
}

/** What each toxic did; see `ToxicStats` for the meaning of each field. */
export interface ToxicCounters {
  connectionsAffected: number;
  connectionsReset: number;
  connectionsClosed: number;
  bytesSwallowed: number;
}

/** Proxy-wide counters a connection updates. */
export interface ProxyTotals {
  bytesUpstream: number;
  bytesDownstream: number;
  bytesSwallowed: number;
  connectionsReset: number;
  connectionsClosedByToxic: number;
  clientResets: number;
}

/** Proxy-wide counters before anything happened. */
export function zeroTotals(): ProxyTotals {
  return {
    bytesUpstream: 0,
    bytesDownstream: 0,
    bytesSwallowed: 0,
    connectionsReset: 0,
    connectionsClosedByToxic: 0,
    clientResets: 0,
  };
}

/** What a connection needs from its proxy. */
export interface ConnectionHost {
  /** The toxics installed now, in the order they were added. */
  toxics(): readonly InstalledToxic[];
  /** The proxy's seeded generator (jitter). */
  random(): number;
  readonly totals: ProxyTotals;
  /** Something counted changed: wake the waiters. */
  changed(): void;
}

type Way = 'upstream' | 'downstream';

/** Above this many queued bytes a direction stops reading from its source until it catches up. */
const HIGH_WATER_BYTES = 1 << 20;

/**
 * One proxied TCP connection: the client's socket (`down`), the socket to the upstream server
 * (`up`, absent for a black-holed handshake) and one pump per direction through the toxics.
 */
export class FaultConnection {
  readonly #host: ConnectionHost;
  readonly #down: net.Socket;
  readonly #up: net.Socket | undefined;
  readonly #abort = new AbortController();
  readonly #timers = new Map<string, NodeJS.Timeout>();
  readonly #affectedBy = new Set<ToxicCounters>();
  readonly #pumps: Pump[] = [];
  readonly #onClosed: () => void;
  #open: number;
  #finished = false;
  /** The client's side is done: it sent FIN or RST, or its socket closed (whatever the toxics did with it). */
  #clientGone = false;

  /** `up` undefined: a black-holed handshake; everything the client sends is swallowed. */
  constructor(
    host: ConnectionHost,
    down: net.Socket,
    up: net.Socket | undefined,
    onClosed: () => void,
    blackhole?: InstalledToxic,
  ) {
    this.#host = host;
    this.#down = down;
    this.#up = up;
    this.#onClosed = onClosed;
    this.#open = up ? 2 : 1;
    for (const socket of up ? [down, up] : [down]) {
      socket.on('error', (error: NodeJS.ErrnoException) => {
        // Handled by 'close' (hadError): a peer's reset closes the whole connection. Counted when
        // the client reset it: a client that resets what it could close gracefully shows there.
        if (socket === down && error.code === 'ECONNRESET') {
          this.#host.totals.clientResets += 1;
          this.#host.changed();
        }
      });
      socket.once('close', (hadError) => {
        if (hadError) this.destroy();
        this.#open -= 1;
        if (this.#open === 0) this.#finish();
      });
    }
    const clientGone = () => {
      if (this.#clientGone) return;
      this.#clientGone = true;
      this.#host.changed();
    };
    down.once('end', clientGone);
    down.once('close', clientGone);
    if (up) {
      this.#pumps.push(new Pump(this, 'upstream', down, up), new Pump(this, 'downstream', up, down));
    } else if (blackhole) {
      this.affected(blackhole.counters);
      down.on('data', (chunk: Buffer) => this.swallowed(blackhole.counters, chunk.length));
    }
  }

  /** Whether the client has let go of its socket (FIN, RST or close seen on the client's side). */
  get clientGone(): boolean {
    return this.#clientGone;
  }

  get host(): ConnectionHost {
    return this.#host;
  }

  get signal(): AbortSignal {
    return this.#abort.signal;
  }

  get closing(): boolean {
    return this.#abort.signal.aborted;
  }

  /** Counts this connection once for `counters`. */
  affected(counters: ToxicCounters): void {
    if (this.#affectedBy.has(counters)) return;
    this.#affectedBy.add(counters);
    counters.connectionsAffected += 1;
    this.#host.changed();
  }

  swallowed(counters: ToxicCounters, bytes: number): void {
    counters.bytesSwallowed += bytes;
    this.#host.totals.bytesSwallowed += bytes;
    this.#host.changed();
  }

  forwarded(way: Way, bytes: number): void {
    if (way === 'upstream') this.#host.totals.bytesUpstream += bytes;
    else this.#host.totals.bytesDownstream += bytes;
    this.#host.changed();
  }

  /** TCP RST to both peers, at once. */
  reset(by: InstalledToxic): void {
    if (this.closing) return;
    this.affected(by.counters);
    by.counters.connectionsReset += 1;
    this.#host.totals.connectionsReset += 1;
    this.#host.changed();
    this.#stop();
    for (const s of this.#sockets()) resetSocket(s);
    this.#finishOnceLetGo();
  }

  /** FIN to both peers after what is already written (then the sockets are destroyed). */
  closeBy(by: InstalledToxic): void {
    if (this.closing) return;
    this.affected(by.counters);
    by.counters.connectionsClosed += 1;
    this.#host.totals.connectionsClosedByToxic += 1;
    this.#host.changed();
    this.#stop();
    for (const s of this.#sockets()) s.end(() => s.destroy());
  }

  /** Closes the connection `afterMs` from now unless the toxic is removed first. */
  closeAfter(by: InstalledToxic, afterMs: number): void {
    if (this.closing || this.#timers.has(by.toxic.name)) return;
    const timer = setTimeout(() => {
      this.#timers.delete(by.toxic.name);
      this.closeBy(by);
    }, afterMs);
    this.#timers.set(by.toxic.name, timer);
  }

  /** A toxic was removed: forget its timers (stalled directions stay stalled). */
  forget(name: string): void {
    const timer = this.#timers.get(name);
    if (timer) clearTimeout(timer);
    this.#timers.delete(name);
  }

  /** Drops both sockets now (the proxy closes, or a peer reset). */
  destroy(): void {
    this.#stop();
    for (const s of this.#sockets()) s.destroy();
    this.#finishOnceLetGo();
  }

  /**
   * The proxy has let go of both sockets: the connection counts as closed once they are destroyed,
   * even if one never emits 'close' (seen after a reset: the proxy's count stayed at 1 while the
   * server had seen its side close, and the leak check blamed the pool).
   */
  #finishOnceLetGo(): void {
    setImmediate(() => {
      if (this.#sockets().every((s) => s.destroyed)) this.#finish();
    });
  }

  #stop(): void {
    if (!this.#abort.signal.aborted) this.#abort.abort();
    for (const t of this.#timers.values()) clearTimeout(t);
    this.#timers.clear();
  }

  #sockets(): net.Socket[] {
    return this.#up ? [this.#down, this.#up] : [this.#down];
  }

  #finish(): void {
    if (this.#finished) return;
    this.#finished = true;
    this.#stop();
    this.#onClosed();
  }
}

/**
 * RST where Node can send one, else a plain close; the socket's handle is closed either way.
 * - Still connecting: Node's `resetAndDestroy` would reset it only once connected; drop it now.
 * - Its end of stream passed on (`end()`, forwarding a peer's FIN): libuv refuses an abortive close
 *   while a shutdown is under way (`uv_tcp_close_reset` returns EINVAL), and Node 20's `_destroy`
 *   then drops the handle without closing it: the fd stays open for the life of the process (no
 *   'close', and the process spins in its exit cleanup). Its peer has the FIN or is about to: close
 *   it (the kernel still resets if unread bytes are left).
 */
export function resetSocket(s: net.Socket): void {
  if (s.destroyed) return;
  if (s.connecting || s.writableEnded) s.destroy();
  else s.resetAndDestroy();
}

type Item = { readonly chunk: Buffer; readonly arrivedAt: number } | 'end';

/** One direction of a connection: reads its source, passes each chunk through the toxics in order, writes to its sink. */
class Pump {
  readonly #conn: FaultConnection;
  readonly #way: Way;
  readonly #source: net.Socket;
  readonly #sink: net.Socket;
  readonly #queue: Item[] = [];
  readonly #remaining = new Map<string, number>();
  #queuedBytes = 0;
  #running = false;
  #stalledBy: InstalledToxic | undefined;
  #bandwidthFreeAt = 0;

  constructor(conn: FaultConnection, way: Way, source: net.Socket, sink: net.Socket) {
    this.#conn = conn;
    this.#way = way;
    this.#source = source;
    this.#sink = sink;
    source.on('data', (chunk: Buffer) => this.#push({ chunk, arrivedAt: performance.now() }));
    source.on('end', () => this.#push('end'));
  }

  #push(item: Item): void {
    if (this.#conn.closing) return;
    if (item !== 'end' && this.#stalledBy) {
      this.#conn.swallowed(this.#stalledBy.counters, item.chunk.length);
      return;
    }
    // Fast path: nothing queued and no toxic on this direction.
    if (!this.#running && this.#queue.length === 0 && this.#toxics().length === 0) {
      this.#deliver(item);
      return;
    }
    this.#queue.push(item);
    if (item !== 'end') {
      this.#queuedBytes += item.chunk.length;
      if (this.#queuedBytes > HIGH_WATER_BYTES) this.#source.pause();
    }
    if (!this.#running) void this.#run();
  }

  #toxics(): InstalledToxic[] {
    return this.#conn.host.toxics().filter((t) => 'direction' in t.toxic && appliesTo(t.toxic.direction, this.#way));
  }

  #deliver(item: Item): void {
    if (item === 'end') {
      if (!this.#stalledBy) this.#sink.end();
      return;
    }
    this.#sink.write(item.chunk);
    this.#conn.forwarded(this.#way, item.chunk.length);
  }

  async #run(): Promise<void> {
    this.#running = true;
    try {
      for (let item = this.#queue.shift(); item !== undefined; item = this.#queue.shift()) {
        if (item !== 'end') {
          this.#queuedBytes -= item.chunk.length;
          if (this.#queuedBytes <= HIGH_WATER_BYTES && this.#source.isPaused()) this.#source.resume();
          await this.#process(item.chunk, item.arrivedAt);
        } else {
          this.#deliver(item);
        }
        if (this.#conn.closing) return;
      }
    } catch (error) {
      // Aborted: the connection is closing; anything else is a bug worth seeing.
      if (!this.#conn.closing) throw error;
    } finally {
      this.#running = false;
    }
  }

  async #process(input: Buffer, arrivedAt: number): Promise<void> {
    let chunk = input;
    let slicer: Extract<InstalledToxic['toxic'], { type: 'slicer' }> | undefined;
    let closeBy: InstalledToxic | undefined;
    const signal = this.#conn.signal;
    if (this.#stalledBy) {
      this.#conn.swallowed(this.#stalledBy.counters, chunk.length);
      return;
    }
    for (const installed of this.#toxics()) {
      const toxic = installed.toxic;
      switch (toxic.type) {
        case 'latency': {
          const jitter = (toxic.jitterMs ?? 0) * (2 * this.#conn.host.random() - 1);
          const wait = arrivedAt + Math.max(0, toxic.latencyMs + jitter) - performance.now();
          this.#conn.affected(installed.counters);
          if (wait > 0) await sleep(wait, undefined, { signal });
          break;
        }
        case 'bandwidth': {
          const durationMs = (chunk.length / (toxic.kbPerSecond * 1024)) * 1000;
          const start = Math.max(performance.now(), this.#bandwidthFreeAt);
          this.#bandwidthFreeAt = start + durationMs;
          this.#conn.affected(installed.counters);
          const wait = this.#bandwidthFreeAt - performance.now();
          if (wait > 0) await sleep(wait, undefined, { signal });
          break;
        }
        case 'slicer':
          slicer = toxic;
          this.#conn.affected(installed.counters);
          break;
        case 'stall-after':
        case 'limit': {
          const remaining = this.#remaining.get(toxic.name) ?? toxic.bytes;
          if (chunk.length < remaining) {
            this.#remaining.set(toxic.name, remaining - chunk.length);
            break;
          }
          this.#remaining.set(toxic.name, 0);
          this.#conn.affected(installed.counters);
          if (toxic.type === 'limit') {
            chunk = chunk.subarray(0, remaining);
            closeBy = installed;
          } else {
            if (chunk.length > remaining) this.#conn.swallowed(installed.counters, chunk.length - remaining);
            chunk = chunk.subarray(0, remaining);
            this.#stalledBy = installed;
          }
          break;
        }
        default:
          break;
      }
      if (this.#conn.closing) return;
    }
    if (slicer && chunk.length > slicer.sliceBytes) {
      for (let offset = 0; offset < chunk.length; offset += slicer.sliceBytes) {
        if (offset > 0 && slicer.delayMs > 0) await sleep(slicer.delayMs, undefined, { signal });
        await this.#write(chunk.subarray(offset, offset + slicer.sliceBytes));
      }
    } else if (chunk.length > 0) {
      await this.#write(chunk);
    }
    if (closeBy) this.#conn.closeBy(closeBy);
  }

  async #write(chunk: Buffer): Promise<void> {
    if (this.#conn.closing) return;
    const flushed = this.#sink.write(chunk);
    this.#conn.forwarded(this.#way, chunk.length);
    if (!flushed) {
      await new Promise<void>((resolve) => {
        const done = (): void => {
          this.#sink.off('drain', done);
          this.#sink.off('close', done);
          this.#conn.signal.removeEventListener('abort', done);
          resolve();
        };
        this.#sink.once('drain', done);
        this.#sink.once('close', done);
        this.#conn.signal.addEventListener('abort', done, { once: true });
      });
    }
  }
}
