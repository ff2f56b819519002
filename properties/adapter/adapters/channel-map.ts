import type { Connection, HealthStatus, UnaryReply, UnaryRequest } from '../../../src/pool/connector.js';
import { PoolClosedError } from '../../../src/pool/errors.js';
import type { AdapterContext, CallOptions, PoolAdapter, PoolUnderTest } from '../adapter.js';

/**
 * What a user writes by hand before reaching for a pool: a map from address to one connection,
 * made on first use (the promise is stored at once, so concurrent first calls share it) and closed
 * by `remove` or `close` at once, without waiting for calls in flight. No counters, no key options.
 * The bench's baseline, and the suite's check that it judges a pool by its declared contract: this
 * one promises one connection per address, but no drain.
 */
export const channelMapAdapter: PoolAdapter = {
  name: 'channel-map',
  description: 'a plain Map of one connection per address, closed at once on remove (no drain, no stats)',
  contract: { connectionsPerKey: 1, callsPerConnection: Number.POSITIVE_INFINITY, idleKeptPerKey: 1, drains: false },
  features: { add: true, remove: true, stats: false, health: true, keyOptions: false, seam: true, metrics: false },
  create: (context) => new ChannelMap(context),
};

class ChannelMap implements PoolUnderTest {
  readonly #connections = new Map<string, Promise<Connection>>();
  /** Closes begun by `remove`: `close` waits for them too (found by pool-linearizable: see below). */
  readonly #retiring = new Set<Promise<unknown>>();
  #closing: Promise<void> | undefined;

  constructor(readonly context: AdapterContext) {}

  get isClosed(): boolean {
    return this.#closing !== undefined;
  }

  #connection(address: string, action: string): Promise<Connection> {
    if (this.#closing) return Promise.reject(new PoolClosedError(action));
    let made = this.#connections.get(address);
    if (!made) {
      made = this.context.connector.connect({ keyId: address, address, credentials: undefined, channelOptions: {} });
      this.#connections.set(address, made);
      // A failed connect is forgotten, so that the next call tries again.
      const forget = made;
      made.catch(() => {
        if (this.#connections.get(address) === forget) this.#connections.delete(address);
      });
    }
    return made;
  }

  async add(address: string): Promise<void> {
    await this.#connection(address, 'add an address');
  }

  async remove(address: string): Promise<boolean> {
    if (this.#closing) throw new PoolClosedError('remove an address');
    const made = this.#connections.get(address);
    if (!made) return false;
    this.#connections.delete(address);
    const closing = this.#closeWhenMade(made);
    this.#retiring.add(closing);
    try {
      // A key whose connect failed had nothing to close: it was not there.
      return await closing;
    } finally {
      this.#retiring.delete(closing);
    }
  }

  async call(address: string, request: UnaryRequest, options?: CallOptions): Promise<UnaryReply> {
    const c = await this.#connection(address, 'get a connection');
    return this.context.connector.call(c, request, options?.deadlineMs ?? this.context.deadlineMs);
  }

  async health(address: string, options?: CallOptions): Promise<HealthStatus> {
    const c = await this.#connection(address, 'get a connection');
    return this.context.connector.health(c, '', options?.deadlineMs ?? this.context.deadlineMs);
  }

  close(): Promise<void> {
    this.#closing ??= (async () => {
      const all = [...this.#connections.values()];
      this.#connections.clear();
      // A remove already under way took its connection out of the map: without waiting for it too,
      // close resolved while that connection was still open (the first version did; the suite's
      // first run on this adapter found it: `c1: close()` beside `c2: call(0) ; remove(0)`).
      await Promise.all([...all.map((m) => this.#closeWhenMade(m)), ...this.#retiring]);
    })();
    return this.#closing;
  }

  /** Closes the connection once made; `false` if its connect failed (there was nothing to close). */
  async #closeWhenMade(made: Promise<Connection>): Promise<boolean> {
    let c: Connection;
    try {
      c = await made;
    } catch {
      return false;
    }
    await this.context.connector.close(c);
    return true;
  }
}
