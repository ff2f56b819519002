import { Mutex } from 'async-mutex';
import type { Connection, Connector } from './connector.js';
import { ConnectError, InvalidOptionsError, PoolClosedError } from './errors.js';
import { GrpcConnector } from './grpc-connector.js';
import { CredentialsRegistry, type KeyOptions, makePoolKey, type PoolKey } from './pool-key.js';
import { makePoolStats, type PoolStats } from './pool-stats.js';

export interface ConnectionPoolOptions {
  /** How connections are made; default `GrpcConnector` over @grpc/grpc-js. */
  readonly connector?: Connector;
  /** A name for messages and reports; default `pool`. */
  readonly name?: string;
}

/** A connection held for one use; `release()` must be called exactly once when the use ends. */
export interface Lease {
  readonly connection: Connection;
  release(): void;
}

export type EntryState = 'live' | 'draining' | 'closed';

/** One entry as `inspect()` shows it. */
export interface EntryInspection {
  readonly keyId: string;
  readonly address: string;
  readonly state: EntryState;
  readonly inFlight: number;
  readonly connectionId: number;
}

/** The pool's state at one instant (`inspect()`). */
export interface PoolInspection {
  readonly closed: boolean;
  readonly entries: readonly EntryInspection[];
  readonly draining: readonly EntryInspection[];
  readonly locks: readonly { readonly keyId: string; readonly users: number; readonly held: boolean }[];
}

/** One key's connection and its leases. */
export interface Entry {
  readonly key: PoolKey;
  readonly connection: Connection;
  state: EntryState;
  inFlight: number;
  /** Resolved when a draining entry's last lease is released. */
  onIdle: (() => void) | undefined;
  /** Set once draining starts; resolves when the connection is closed. */
  closing: Promise<void> | undefined;
}

/**
 * Connections keyed by address + credentials + channel options: one live connection per key.
 *
 * - `get`/`acquire` return the key's connection, creating it if absent; concurrent callers for one
 *   key create exactly one (single-flight under a per-key async-mutex).
 * - `remove` takes the key out at once (a later `get` creates a fresh connection), waits until the
 *   calls in flight on the old connection finish, then closes it.
 * - `close` does that for every key; afterwards every method rejects with `PoolClosedError`.
 */
export class ConnectionPool {
  readonly name: string;
  readonly #connector: Connector;
  readonly #credentials = new CredentialsRegistry();
  private readonly entries = new Map<string, Entry>();
  /** Per-key creation locks, with how many callers use each: a lock nobody uses is dropped with its key. */
  private readonly locks = new Map<string, { mutex: Mutex; users: number }>();
  private readonly draining = new Set<Entry>();
  private created = 0;
  private closed = 0;
  private reused = 0;
  private connectFailures = 0;
  #closing: Promise<void> | undefined;

  constructor(options: ConnectionPoolOptions = {}) {
    if (typeof options !== 'object' || options === null) {
      throw new InvalidOptionsError('ConnectionPool options must be an object');
    }
    const { connector, name } = options;
    if (connector !== undefined && (typeof connector.connect !== 'function' || typeof connector.close !== 'function')) {
      throw new InvalidOptionsError('connector must implement connect, close, call and health');
    }
    if (name !== undefined && (typeof name !== 'string' || name === '')) {
      throw new InvalidOptionsError('pool name must be a non-empty string');
    }
    this.#connector = connector ?? new GrpcConnector();
    this.name = name ?? 'pool';
  }

  /** The connector this pool reaches the network through. */
  get connector(): Connector {
    return this.#connector;
  }

  /** Number of keys with a live connection. */
  get size(): number {
    return this.entries.size;
  }

  get isClosed(): boolean {
    return this.#closing !== undefined;
  }

  /** The live keys' ids, in creation order. */
  keys(): string[] {
    return [...this.entries.keys()];
  }

  /** The key `address` + `options` resolves to (validates both). */
  keyOf(address: string, options?: KeyOptions): PoolKey {
    return makePoolKey(address, options, this.#credentials);
  }

  has(address: string, options?: KeyOptions): boolean {
    return this.entries.has(this.keyOf(address, options).id);
  }

  /** Returns the live connection for the key, creating it if absent. */
  async get(address: string, options?: KeyOptions): Promise<Connection> {
    const lease = await this.acquire(address, options);
    lease.release();
    return lease.connection;
  }

  /**
   * Like `get`, but holds the connection until `release()`: a `remove` or `close` waits for every
   * lease on the connection before closing it.
   */
  acquire(address: string, options?: KeyOptions): Promise<Lease> {
    return this.acquireKey(this.keyOf(address, options));
  }

  /** `acquire` for a key already resolved with `keyOf` (what a client does once, not per call). */
  async acquireKey(key: PoolKey): Promise<Lease> {
    this.assertOpen('get a connection');
    for (;;) {
      const existing = this.entries.get(key.id);
      if (existing) {
        this.reused += 1;
        return this.lease(existing);
      }
      const { entry, created } = await this.underLock(key.id, () => this.createIfAbsent(key));
      // The creator's own lease is taken in the same tick as the entry became visible, unless a
      // remove or close got in between, in which case we go round again (or fail if closed).
      if (entry.state === 'live') {
        // A get that waited on the lock for another's creation got an existing connection.
        if (!created) this.reused += 1;
        return this.lease(entry);
      }
      this.assertOpen('get a connection');
    }
  }

  /** Runs `use` with the key's connection held, releasing it however `use` ends. */
  withConnection<T>(address: string, options: KeyOptions | undefined, use: (c: Connection) => Promise<T>): Promise<T> {
    return this.withKey(this.keyOf(address, options), use);
  }

  /** `withConnection` for a key already resolved with `keyOf`. */
  async withKey<T>(key: PoolKey, use: (c: Connection) => Promise<T>): Promise<T> {
    const lease = await this.acquireKey(key);
    try {
      return await use(lease.connection);
    } finally {
      lease.release();
    }
  }

  /** Registers the key and starts connecting ahead of use. Idempotent: an existing key is left as it is. */
  async add(address: string, options?: KeyOptions): Promise<void> {
    this.assertOpen('add an address');
    const key = this.keyOf(address, options);
    if (this.entries.has(key.id)) return;
    await this.underLock(key.id, () => this.createIfAbsent(key));
  }

  /**
   * Takes the key out of the pool, lets calls in flight on its connection finish, then closes it.
   * Resolves `true` once closed, `false` if the key was not in the pool.
   */
  async remove(address: string, options?: KeyOptions): Promise<boolean> {
    this.assertOpen('remove an address');
    const key = this.keyOf(address, options);
    // The entry leaves `entries` and joins `draining` in one step, so that stats read at any
    // instant keep created = closed + live + draining. (Wrapped: runExclusive must not wait for the drain.)
    const removed = await this.underLock(key.id, () => {
      const found = this.entries.get(key.id);
      if (!found) return undefined;
      this.entries.delete(key.id);
      return { drained: this.drainAndClose(found) };
    });
    if (!removed) return false;
    await removed.drained;
    return true;
  }

  /** Drains and closes every connection. Later calls reject with `PoolClosedError`. Idempotent. */
  close(): Promise<void> {
    this.#closing ??= (async () => {
      // Every key leaves at once: from this instant gets are refused, so no key may still read as live.
      const entries = [...this.entries.values()];
      this.entries.clear();
      const drains = entries.map((e) => this.drainAndClose(e));
      // Wait for creations already under way (each closes what it made on seeing the pool closed),
      // so that nothing is left open once close resolves.
      await Promise.all([...this.locks.values()].map((l) => l.mutex.waitForUnlock()));
      await Promise.all([...drains, ...[...this.draining].map((e) => this.drainAndClose(e))]);
    })();
    return this.#closing;
  }

  async [Symbol.asyncDispose](): Promise<void> {
    await this.close();
  }

  /** A consistent snapshot of the counters. */
  stats(): PoolStats {
    let inFlight = 0;
    for (const e of this.entries.values()) inFlight += e.inFlight;
    for (const e of this.draining) inFlight += e.inFlight;
    return makePoolStats({
      created: this.created,
      closed: this.closed,
      reused: this.reused,
      inFlight,
      liveKeys: this.entries.size,
      draining: this.draining.size,
      connectFailures: this.connectFailures,
    });
  }

  /**
   * What the pool holds at this instant, as plain data: every live and draining entry (address,
   * state, leases, connection id) and every creation lock (users, held). Read by tests and by the
   * model checker's state hash; changing it changes nothing.
   */
  inspect(): PoolInspection {
    const view = (e: Entry): EntryInspection => ({
      keyId: e.key.id,
      address: e.key.address,
      state: e.state,
      inFlight: e.inFlight,
      connectionId: e.connection.id,
    });
    return {
      closed: this.isClosed,
      entries: [...this.entries.values()].map(view),
      draining: [...this.draining].map(view),
      locks: [...this.locks.entries()].map(([keyId, l]) => ({ keyId, users: l.users, held: l.mutex.isLocked() })),
    };
  }

  /** Under the key's lock: the key's entry, made now (`created`) or found. */
  private async createIfAbsent(key: PoolKey): Promise<{ entry: Entry; created: boolean }> {
    const existing = this.entries.get(key.id);
    if (existing) return { entry: existing, created: false };
    this.assertOpen('get a connection');
    let connection: Connection;
    try {
      connection = await this.#connector.connect({
        keyId: key.id,
        address: key.address,
        credentials: key.credentials,
        channelOptions: key.channelOptions,
      });
    } catch (error) {
      this.connectFailures += 1;
      throw new ConnectError(key.address, error);
    }
    const entry: Entry = { key, connection, state: 'live', inFlight: 0, onIdle: undefined, closing: undefined };
    this.created += 1;
    if (this.#closing) {
      // Closed while connecting: never expose the connection.
      await this.drainAndClose(entry);
      throw new PoolClosedError('get a connection');
    }
    this.entries.set(key.id, entry);
    return { entry, created: true };
  }

  private lease(entry: Entry): Lease {
    entry.inFlight += 1;
    let released = false;
    return {
      connection: entry.connection,
      release: () => {
        if (released) return;
        released = true;
        entry.inFlight -= 1;
        if (entry.inFlight === 0) entry.onIdle?.();
      },
    };
  }

  private drainAndClose(entry: Entry): Promise<void> {
    entry.closing ??= (async () => {
      entry.state = 'draining';
      this.draining.add(entry);
      await this.waitForIdle(entry);
      try {
        await this.closeConnection(entry);
      } finally {
        entry.state = 'closed';
        this.draining.delete(entry);
        this.closed += 1;
      }
    })();
    return entry.closing;
  }

  /** Resolves once no lease holds the entry's connection. */
  private waitForIdle(entry: Entry): Promise<void> {
    if (entry.inFlight === 0) return Promise.resolve();
    return new Promise((resolve) => {
      const previous = entry.onIdle;
      entry.onIdle = () => {
        previous?.();
        resolve();
      };
    });
  }

  private closeConnection(entry: Entry): Promise<void> {
    return this.#connector.close(entry.connection);
  }

  /**
   * Runs `fn` under the key's lock. The lock is made on first use and dropped when its last user
   * is done, so a long-lived pool whose keys come and go holds no lock for a key it no longer has.
   */
  private async underLock<T>(keyId: string, fn: () => Promise<T> | T): Promise<T> {
    let lock = this.locks.get(keyId);
    if (!lock) {
      lock = { mutex: new Mutex(), users: 0 };
      this.locks.set(keyId, lock);
    }
    lock.users += 1;
    try {
      return await lock.mutex.runExclusive(fn);
    } finally {
      lock.users -= 1;
      if (lock.users === 0) this.locks.delete(keyId);
    }
  }

  /** How many per-key locks the pool holds right now (for leak tests: it must not grow with keys gone). */
  get lockCount(): number {
    return this.locks.size;
  }

  private assertOpen(action: string): void {
    if (this.#closing) throw new PoolClosedError(action);
  }
}
