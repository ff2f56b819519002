/**
 * A worked example: your own connection pool, tested by this suite through an adapter.
 *
 * This file stands for code that lives outside the suite. It has two parts:
 *
 * 1. `RoundRobinPool`, a small pool as a user might write it: per address, up to 2 connections,
 *    calls spread over them round-robin, at most 2 calls in flight on one connection, connections
 *    made lazily (a second one only when the first is full), one idle connection kept between uses,
 *    and `remove`/`close` letting the calls in flight finish before closing (a drain).
 * 2. Its adapter, the default export: what the pool promises (`contract`), what it offers
 *    (`features`), and how to make one over the connector the suite hands it (`create`).
 *
 * It imports only the suite's public types (the adapter interface, the connector seam) and two
 * error classes (`PoolClosedError`, `GrpcStatusError`), whose `code` the suite reads. Run it with:
 *
 *   npm run properties -- --pool ./examples/my-pool-adapter.ts --layer simulated --no-regressions
 *
 * docs/writing-an-adapter.md explains every field at length; the comments here say why each value
 * is what it is for this pool.
 */

import type { AdapterContext, CallOptions, PoolAdapter, PoolUnderTest } from '../properties/adapter/adapter.js';
import type { Connection, Connector, HealthStatus, UnaryReply, UnaryRequest } from '../src/pool/connector.js';
import { GrpcStatusError, PoolClosedError } from '../src/pool/errors.js';

// ---------------------------------------------------------------------------------------------
// Part 1: the pool. Nothing in it knows about the suite; it only needs a `Connector`.
// ---------------------------------------------------------------------------------------------

/** Most connections one address holds open at once. */
export const MAX_CONNECTIONS_PER_ADDRESS = 2;
/**
 * Most calls and health checks in flight on one connection at once. Small on purpose: the suite's
 * parallel programs make 2 to 4 callers at once, each with waves of up to 4 calls, so a limit of 2
 * (4 calls per address) fills an address often, and the paths that matter run often: a second
 * connection, calls waiting for room, waiting calls served while a remove drains. At 4 per
 * connection, 3 000 runs had calls wait for room 3 times; at 2, about 450 times.
 */
export const MAX_CALLS_PER_CONNECTION = 2;
/** Idle connections an address keeps open while nothing uses it. */
export const IDLE_CONNECTIONS_KEPT = 1;

/** gRPC status DEADLINE_EXCEEDED: a call that waited its whole deadline for a free connection. */
const DEADLINE_EXCEEDED = 4;

export interface RoundRobinPoolOptions {
  /** How connections are opened, used and closed (in production, a gRPC connector). */
  readonly connector: Connector;
  /** Deadline of a call or health check that gives none, in ms (waiting for a free connection included). */
  readonly deadlineMs: number;
  readonly maxConnectionsPerAddress?: number;
  readonly maxCallsPerConnection?: number;
  readonly idleConnectionsKept?: number;
}

/** One connection of an address: made (or being made), and how many calls it carries now. */
interface Slot {
  readonly made: Promise<Connection>;
  /** Set once `made` resolves. */
  connection: Connection | undefined;
  /** Calls and health checks given this connection and not yet finished (some may wait for its connect). */
  inFlight: number;
}

/** A call waiting for a free connection (every connection of its address is full and no more may be made). */
interface Waiter {
  grant(slot: Slot): void;
  fail(error: unknown): void;
}

/** Everything the pool holds for one address. */
class Entry {
  readonly slots: Slot[] = [];
  readonly waiting: Waiter[] = [];
  /** Closes begun for this address's connections (idle ones trimmed, and the drain's). */
  readonly closes: Promise<void>[] = [];
  /** Round-robin cursor into `slots`. */
  next = 0;
  /** Removed, or the pool is closing: no new connection; each connection closes when its last call ends. */
  retired = false;
  /** Whether the retirement closed at least one connection (what `remove` answers). */
  closedAny = false;
  #finished = false;
  #resolveDone: (closedAny: Promise<boolean>) => void = () => {};
  /** Settles once a retired entry's every connection is closed: with `closedAny`. */
  readonly done = new Promise<boolean>((resolve) => {
    this.#resolveDone = resolve;
  });

  constructor(readonly address: string) {}

  /** Resolves `done` once retired and nothing is left to close (idempotent). */
  finishIfDrained(): void {
    if (!this.retired || this.slots.length > 0 || this.#finished) return;
    this.#finished = true;
    this.#resolveDone(Promise.all(this.closes).then(() => this.closedAny));
  }
}

/**
 * A round-robin pool keyed by address. Calls and health checks on an address share its
 * connections; a connection is made only when every existing one carries the most calls it may.
 */
export class RoundRobinPool {
  readonly #connector: Connector;
  readonly #deadlineMs: number;
  readonly #maxConnections: number;
  readonly #maxCalls: number;
  readonly #idleKept: number;
  readonly #entries = new Map<string, Entry>();
  /** Entries taken out by `remove` and still draining: `close` waits for them too. */
  readonly #retiring = new Set<Entry>();
  /** Every connection close under way, whichever entry began it: `close` waits for them all. */
  readonly #closes = new Set<Promise<void>>();
  #closing: Promise<void> | undefined;

  constructor(options: RoundRobinPoolOptions) {
    this.#connector = options.connector;
    this.#deadlineMs = options.deadlineMs;
    this.#maxConnections = options.maxConnectionsPerAddress ?? MAX_CONNECTIONS_PER_ADDRESS;
    this.#maxCalls = options.maxCallsPerConnection ?? MAX_CALLS_PER_CONNECTION;
    this.#idleKept = options.idleConnectionsKept ?? IDLE_CONNECTIONS_KEPT;
  }

  get isClosed(): boolean {
    return this.#closing !== undefined;
  }

  /** Whether the pool holds `address` now. */
  has(address: string): boolean {
    return this.#entries.has(address);
  }

  /** Connects `address` ahead of use; resolves once it has a connection. */
  async add(address: string): Promise<void> {
    if (this.#closing) throw new PoolClosedError('add an address');
    const entry = this.#entry(address);
    const slot = entry.slots.find((s) => s.connection) ?? entry.slots[0] ?? this.#open(entry);
    await slot.made;
  }

  /** One unary call on a connection of `address`. Errors are the connector's, unchanged. */
  call(address: string, request: UnaryRequest, deadlineMs = this.#deadlineMs): Promise<UnaryReply> {
    return this.#use(address, 'make a call', deadlineMs, (c, ms) => this.#connector.call(c, request, ms));
  }

  /** A grpc.health.v1 check (overall server health) on a connection of `address`. */
  health(address: string, deadlineMs = this.#deadlineMs): Promise<HealthStatus> {
    return this.#use(address, 'check health', deadlineMs, (c, ms) => this.#connector.health(c, '', ms));
  }

  /**
   * Takes `address` out: calls already made on it (waiting ones too) finish on its connections,
   * which then close. Resolves `true` once they are closed, `false` if the address had no
   * connection to close (never added, or its only connect failed meanwhile).
   */
  async remove(address: string): Promise<boolean> {
    if (this.#closing) throw new PoolClosedError('remove an address');
    const entry = this.#entries.get(address);
    if (!entry) return false;
    // Out of the map at once: a call made from now on gets a fresh entry and a new connection.
    this.#entries.delete(address);
    this.#retiring.add(entry);
    try {
      return await this.#retire(entry);
    } finally {
      this.#retiring.delete(entry);
    }
  }

  /** Refuses everything from now on, lets the calls in flight finish, and closes every connection. */
  close(): Promise<void> {
    this.#closing ??= (async () => {
      const entries = [...this.#entries.values()];
      this.#entries.clear();
      await Promise.all([...entries.map((e) => this.#retire(e)), ...[...this.#retiring].map((e) => e.done)]);
      // Idle connections trimmed earlier may still be closing (their entry may even be gone).
      await Promise.all([...this.#closes]);
    })();
    return this.#closing;
  }

  /** The pool's state, for debugging (and the suite's model checker: see `snapshot` below). */
  inspect(): unknown {
    const entry = (e: Entry) => ({
      address: e.address,
      retired: e.retired,
      waiting: e.waiting.length,
      slots: e.slots.map((s) => ({ connectionId: s.connection?.id ?? null, inFlight: s.inFlight })),
    });
    return {
      closed: this.isClosed,
      entries: [...this.#entries.values()].map(entry),
      retiring: [...this.#retiring].map(entry),
      closing: this.#closes.size,
    };
  }

  #entry(address: string): Entry {
    let entry = this.#entries.get(address);
    if (!entry) {
      entry = new Entry(address);
      this.#entries.set(address, entry);
    }
    return entry;
  }

  /** Gets a connection slot for one call, runs `op` on it, and gives the slot back. */
  async #use<T>(
    address: string,
    action: string,
    deadlineMs: number,
    op: (connection: Connection, deadlineMs: number) => Promise<T>,
  ): Promise<T> {
    if (this.#closing) throw new PoolClosedError(action);
    const started = performance.now();
    const entry = this.#entry(address);
    const slot = await this.#acquire(entry, action, deadlineMs);
    try {
      // A connect that fails rejects here with the connector's own error: passed on unchanged.
      const connection = slot.connection ?? (await slot.made);
      // Time spent waiting for a slot and its connect counts against the call's deadline.
      const left = Math.max(1, Math.ceil(deadlineMs - (performance.now() - started)));
      return await op(connection, left);
    } finally {
      this.#release(entry, slot);
    }
  }

  /** A slot with room for one more call: at once if there is one, else once one frees up (or the deadline passes). */
  #acquire(entry: Entry, action: string, deadlineMs: number): Promise<Slot> {
    return new Promise<Slot>((resolve, reject) => {
      let timer: NodeJS.Timeout | undefined;
      const waiter: Waiter = {
        grant: (slot) => {
          clearTimeout(timer);
          resolve(slot);
        },
        fail: (error) => {
          clearTimeout(timer);
          reject(error);
        },
      };
      entry.waiting.push(waiter);
      this.#dispatch(entry);
      if (!entry.waiting.includes(waiter)) return;
      // Every connection is full: wait, but not past the deadline.
      timer = setTimeout(() => {
        const k = entry.waiting.indexOf(waiter);
        if (k >= 0) entry.waiting.splice(k, 1);
        reject(
          new GrpcStatusError(
            DEADLINE_EXCEEDED,
            `no connection to ${entry.address} had room within ${deadlineMs} ms`,
            action === 'check health' ? 'health' : 'call',
          ),
        );
      }, deadlineMs);
    });
  }

  /** Gives waiting calls a slot with room, round-robin, opening a connection when all are full and one more is allowed. */
  #dispatch(entry: Entry): void {
    while (entry.waiting.length > 0) {
      const slot =
        this.#withRoom(entry) ?? (!entry.retired && entry.slots.length < this.#maxConnections ? this.#open(entry) : undefined);
      if (!slot) return;
      slot.inFlight += 1;
      entry.waiting.shift()?.grant(slot);
    }
  }

  /** The next slot, round-robin from the cursor, that can take one more call. */
  #withRoom(entry: Entry): Slot | undefined {
    const n = entry.slots.length;
    for (let k = 0; k < n; k++) {
      const i = (entry.next + k) % n;
      const slot = entry.slots[i] as Slot;
      if (slot.inFlight < this.#maxCalls) {
        entry.next = i + 1;
        return slot;
      }
    }
    return undefined;
  }

  /** Opens one more connection for `entry` through the connector (the only way this pool ever connects). */
  #open(entry: Entry): Slot {
    const made = this.#connector.connect({
      keyId: entry.address,
      address: entry.address,
      credentials: undefined,
      channelOptions: {},
    });
    const slot: Slot = { made, connection: undefined, inFlight: 0 };
    entry.slots.push(slot);
    made.then(
      (connection) => {
        slot.connection = connection;
      },
      (error: unknown) => this.#forget(entry, slot, error),
    );
    return slot;
  }

  /** A connect failed: its calls fail with its error (they await it); the slot is dropped. */
  #forget(entry: Entry, slot: Slot, error: unknown): void {
    const k = entry.slots.indexOf(slot);
    if (k >= 0) entry.slots.splice(k, 1);
    if (entry.retired) {
      // A retired entry opens nothing new: with no connection left, its waiting calls fail too.
      if (entry.slots.length === 0) for (const w of entry.waiting.splice(0)) w.fail(error);
      entry.finishIfDrained();
      return;
    }
    // Waiting calls may now open a connection in its place.
    this.#dispatch(entry);
    // An address with no connection and nobody waiting is no longer held (a later call starts afresh).
    if (entry.slots.length === 0 && this.#entries.get(entry.address) === entry) this.#entries.delete(entry.address);
  }

  /** A call ended: its room goes to a waiting call, or the connection may go idle (and be closed). */
  #release(entry: Entry, slot: Slot): void {
    slot.inFlight -= 1;
    if (!entry.slots.includes(slot)) return; // its connect failed: already dropped
    this.#dispatch(entry);
    if (slot.inFlight > 0) return;
    const otherIdle = entry.slots.filter((s) => s !== slot && s.inFlight === 0).length;
    if (entry.retired || otherIdle >= this.#idleKept) this.#closeSlot(entry, slot);
  }

  /** Takes `slot` out of `entry` and closes its connection through the connector. */
  #closeSlot(entry: Entry, slot: Slot): void {
    entry.slots.splice(entry.slots.indexOf(slot), 1);
    const byRetirement = entry.retired;
    const close = (c: Connection) =>
      this.#connector.close(c).then(() => {
        if (byRetirement) entry.closedAny = true;
      });
    // Closed at once when connected; a connection still being made is closed once made.
    const closing = slot.connection
      ? close(slot.connection)
      : slot.made.then(close, () => {
          // never made: nothing to close
        });
    entry.closes.push(closing);
    this.#closes.add(closing);
    const settled = () => this.#closes.delete(closing);
    closing.then(settled, settled);
    entry.finishIfDrained();
  }

  /** Retires `entry`: idle connections close now, busy ones once their last call ends. */
  #retire(entry: Entry): Promise<boolean> {
    entry.retired = true;
    for (const slot of [...entry.slots]) if (slot.inFlight === 0) this.#closeSlot(entry, slot);
    entry.finishIfDrained();
    return entry.done;
  }
}

// ---------------------------------------------------------------------------------------------
// Part 2: the adapter. This is all the suite needs from you.
// ---------------------------------------------------------------------------------------------

const adapter: PoolAdapter = {
  // `name` appears in every result line and in failure files; `description` is printed once at the
  // start of a run. Name the pool and where its code is.
  name: 'round-robin-example',
  description: `examples/my-pool-adapter.ts: a round-robin pool, up to ${MAX_CONNECTIONS_PER_ADDRESS} connections per address, ${MAX_CALLS_PER_CONNECTION} calls per connection, ${IDLE_CONNECTIONS_KEPT} idle kept, draining remove and close`,

  // What the pool promises. The suite checks each promise from what crossed the connector and what
  // the servers counted (properties/adapter/contract-checks.ts), never from the pool's own word.
  // Declare what the pool really guarantees: a bound declared too high is never tested, one
  // declared too low fails runs that did nothing wrong.
  contract: {
    // `#dispatch` opens a connection only while an address has fewer than 2 slots, and a slot
    // leaves `slots` when its close begins. Checked: at no instant are more than 2 connections of
    // one address open (connections already being closed by a remove or close are not counted).
    connectionsPerKey: MAX_CONNECTIONS_PER_ADDRESS,
    // `#withRoom` hands out a slot only while it carries fewer than 2 calls, health checks
    // included. Checked: at no instant are more than 2 calls and health checks in flight on one
    // connection, from the connector's call to its result.
    callsPerConnection: MAX_CALLS_PER_CONNECTION,
    // `#release` closes a connection that goes idle while another of its address is idle already.
    // Meant to be checked when the final close of a run begins (no address may hold more than 1
    // open connection then); as contract-checks.ts stands, that check cannot fail (see "idle kept"
    // in docs/writing-an-adapter.md), so this promise is declared but not yet enforced.
    idleKeptPerKey: IDLE_CONNECTIONS_KEPT,
    // `remove` and `close` close a busy connection only in `#release`, after its last call ended.
    // Checked: no connection's close begins while a call on it is in flight. (Declare `false` if
    // your pool closes at once: calls in flight may then fail, and that is not held against it.)
    drains: true,
  },

  // What the pool offers. An operation not offered is never generated; a property that needs a
  // feature the pool does not offer is reported SKIPPED, with the reason (requirements.ts).
  features: {
    // `add` and `remove` exist: the parallel programs use them.
    add: true,
    remove: true,
    // No counters the model could predict: this pool keeps none. (pool-matches-model needs them;
    // it also needs the one-connection-per-key contract, which this pool does not have.)
    stats: false,
    // `health` exists (a grpc.health.v1 check over a pooled connection).
    health: true,
    // A key is the address alone: no channel options or credentials per key. (keys-isolate,
    // connectivity-spec and transport-limits need them, so they are skipped for this pool.)
    keyOptions: false,
    // Every connection is opened, used and closed through `context.connector` (`#open`,
    // `#connector.call`, `#connector.close`), so the scheduler orders every network result and
    // the seam counts every connection. Every property needs it: declared `false`, all are skipped.
    seam: true,
    // The pool does not record calls in `context.metrics` (a LoadTestMetrics); with `true`, the
    // parallel property would check those counts and latencies against its history.
    metrics: false,
  },

  // Called once per run with a fresh connector (scheduled and observed by the suite): make a new
  // pool over it, and map the suite's `PoolUnderTest` methods onto the pool's own API.
  //
  // Errors, as the suite reads them (by `code`, not by class): an operation on a closed pool
  // rejects with `code === 'ERR_POOL_CLOSED'` (`PoolClosedError`); a failed call or health check
  // rejects with the connector's error unchanged (`code === 'ERR_GRPC_STATUS'`, `status` the gRPC
  // code). This pool makes one error of its own, for a call that waited its whole deadline for
  // room: a `GrpcStatusError` with status 4 (DEADLINE_EXCEEDED), as a gRPC call would end.
  create(context: AdapterContext): PoolUnderTest {
    const pool = new RoundRobinPool({ connector: context.connector, deadlineMs: context.deadlineMs });
    return {
      get isClosed() {
        return pool.isClosed;
      },
      // With `keyOptions: false` the suite never passes key options; the address is the key.
      add: (address) => pool.add(address),
      remove: (address) => pool.remove(address),
      call: (address: string, request: UnaryRequest, options?: CallOptions) =>
        pool.call(address, request, options?.deadlineMs ?? context.deadlineMs),
      health: (address: string, options?: CallOptions) => pool.health(address, options?.deadlineMs ?? context.deadlineMs),
      close: () => pool.close(),
      // `has` is optional: only pool-matches-model reads it (not run for this contract). `stats` is
      // left out with `features.stats: false`.
      //
      // Optional, for the bounded model checker (properties/explore): the pool's own state, so that
      // two runs reaching the same state are explored once. Connection ids go under the key
      // `connectionId` (renamed canonically there).
      snapshot: () => pool.inspect(),
    };
  },
};

export default adapter;
