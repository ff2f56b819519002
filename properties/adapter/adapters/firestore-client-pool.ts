import { createRequire } from 'node:module';
import path from 'node:path';
import type { Connection, HealthStatus, UnaryReply, UnaryRequest } from '../../../src/pool/connector.js';
import { ConnectError, PoolClosedError } from '../../../src/pool/errors.js';
import type { AdapterContext, CallOptions, PoolAdapter, PoolUnderTest } from '../adapter.js';

/**
 * The `ClientPool` inside `@google-cloud/firestore` (build/src/pool.js, a devDependency), a pool
 * nobody here wrote: Firestore spreads its operations over GAPIC clients with it, 100 operations
 * per client, keeping `maxIdleChannels` (default 1) idle. Here a "client" is one connection made
 * through the suite's connector, and there is one `ClientPool` per address.
 *
 * The package's `exports` map does not export `./build/src/pool.js` (a plain `require` of it fails
 * with ERR_PACKAGE_PATH_NOT_EXPORTED) and ships no types for it: it is loaded below by file path,
 * next to the exported `package.json`, and typed by the interface below (what pool.js defines).
 * The line numbers cited are of build/src/pool.js in 8.7.1, byte-identical to 9.4.1's.
 */
interface ClientPool<T> {
  /** Runs `op` on a client with a free slot, making one if none has (pool.js 287-307). Rejects once terminated. */
  run<V>(requestTag: string, requiresGrpc: boolean, op: (client: T) => Promise<V>): Promise<V>;
  /** Refuses new operations, waits for running ones, then destroys every client (pool.js 308-322). */
  terminate(): Promise<void>;
  /** Clients held now (pool.js 248-250). */
  readonly size: number;
  /** Operations running now (pool.js 259-263). */
  readonly opCount: number;
}

interface ClientPoolModule {
  readonly ClientPool: new <T>(
    concurrentOperationLimit: number,
    maxIdleClients: number,
    clientFactory: (requiresGrpc: boolean) => T,
    clientDestructor?: (client: T) => Promise<void>,
  ) => ClientPool<T>;
}

const require = createRequire(import.meta.url);
const firestoreDir = path.dirname(require.resolve('@google-cloud/firestore/package.json'));
const firestore = require(path.join(firestoreDir, 'build', 'src', 'pool.js')) as ClientPoolModule;

/**
 * Firestore's own values are 100 operations per client and 1 idle client. The suite runs 2 to 4
 * concurrent calls per key, so at 100 a key would never get a second client and the paths that make
 * ClientPool what it is (a new client when every client is at its limit, garbage collection of idle
 * capacity as operations finish, which client an operation lands on) would never run. At 2, three
 * concurrent calls need a second connection, and once they finish one of them is closed again.
 */
export const CONCURRENT_OPERATION_LIMIT = 2;
/** Firestore's default (`DEFAULT_MAX_IDLE_CHANNELS = 1`, index.js): keeps one idle connection between uses. */
export const MAX_IDLE_CLIENTS = 1;

/**
 * A ClientPool per address: each client a connection made through the connector, each call
 * `pool.run(...)` around `connector.call`. `remove` and `close` are `terminate()`.
 */
export const firestoreClientPoolAdapter: PoolAdapter = {
  name: 'firestore-client-pool',
  description: `the ClientPool of @google-cloud/firestore (npm, build/src/pool.js), one per address, ${CONCURRENT_OPERATION_LIMIT} operations per client, ${MAX_IDLE_CLIENTS} idle client kept`,
  contract: {
    // No bound: `acquire` (pool.js 121-160) takes the most-used client still under the limit
    // (137-141) and otherwise calls `clientFactory` for a new one (147-154), however many exist.
    connectionsPerKey: Number.POSITIVE_INFINITY,
    // `acquire` picks only a client with `activeRequestCount < concurrentOperationLimit` (137-138)
    // and counts the operation on it (155-158) before `op` runs; `release` counts it off (171-174).
    callsPerConnection: CONCURRENT_OPERATION_LIMIT,
    // A client whose last operation ends is destroyed only while the free slots of all clients
    // exceed `maxIdleClients * concurrentOperationLimit` (release 178-187, shouldGarbageCollectClient
    // 221-238): idle capacity, not idle clients, so busy clients' free slots count too, and fewer
    // than `maxIdleClients` idle clients may be kept. Once everything settles, the last client to go
    // idle is kept (its own slots are the only free ones), so a key keeps 1 connection between uses.
    // Clients marked failed (an error whose message matches /RST_STREAM/, 294-299) are always
    // destroyed when idle (213-220).
    idleKeptPerKey: MAX_IDLE_CLIENTS,
    // `terminate` marks the pool terminated (309; `run` rejects from then on, 288-290), waits until
    // no operation runs (311-315, resolved by `release` at 175-177), then destroys every client
    // (318-321). Running operations finish on their connections. (It can resolve before a client
    // being garbage-collected by `release` is closed, and before that operation's run() settles:
    // examples/repros/firestore-client-pool-terminate-before-gc-close.ts.)
    drains: true,
  },
  // No `add` (ClientPool has no way to make a client ahead of an operation), no counters, no key
  // options (a key is the address), no metrics (ClientPool records none).
  features: { add: false, remove: true, stats: false, health: true, keyOptions: false, seam: true, metrics: false },
  create: (context) => new FirestoreClientPoolUnderTest(context),
};

/**
 * What the pool holds as a client. ClientPool's factory is synchronous, so the client holds the
 * connect promise and each operation awaits it. A connect that failed is forgotten, so that the
 * next operation on this client connects again, as a gRPC channel (Firestore's client) would
 * reconnect: ClientPool only replaces clients whose errors mention RST_STREAM (pool.js 294-299),
 * so a client that kept a failed connect would fail every call on it for as long as it is kept.
 */
interface PooledClient {
  connection: Promise<Connection> | undefined;
}

class FirestoreClientPoolUnderTest implements PoolUnderTest {
  readonly #pools = new Map<string, ClientPool<PooledClient>>();
  /** Terminations started by `remove`, which `close` waits for too. */
  readonly #removing = new Set<Promise<void>>();
  #closing: Promise<void> | undefined;
  #nextTag = 1;

  constructor(readonly context: AdapterContext) {}

  get isClosed(): boolean {
    return this.#closing !== undefined;
  }

  async call(address: string, request: UnaryRequest, options?: CallOptions): Promise<UnaryReply> {
    const deadlineMs = options?.deadlineMs ?? this.context.deadlineMs;
    return this.#run(address, 'make a call', async (client) =>
      this.context.connector.call(await this.#connection(client, address), request, deadlineMs),
    );
  }

  async health(address: string, options?: CallOptions): Promise<HealthStatus> {
    const deadlineMs = options?.deadlineMs ?? this.context.deadlineMs;
    return this.#run(address, 'check health', async (client) =>
      this.context.connector.health(await this.#connection(client, address), '', deadlineMs),
    );
  }

  async remove(address: string): Promise<boolean> {
    if (this.#closing) throw new PoolClosedError('remove an address');
    const pool = this.#pools.get(address);
    if (!pool) return false;
    // Taken out at once: a call made from now on gets a new ClientPool, not the terminated one.
    this.#pools.delete(address);
    const terminated = pool.terminate();
    this.#removing.add(terminated);
    try {
      await terminated;
    } finally {
      this.#removing.delete(terminated);
    }
    return true;
  }

  close(): Promise<void> {
    this.#closing ??= (async () => {
      const pools = [...this.#pools.values()];
      this.#pools.clear();
      // Each ClientPool is terminated exactly once (by `remove` or here): two concurrent
      // `terminate()` calls on one ClientPool let the first resolve before every client is closed.
      await Promise.all([...pools.map((p) => p.terminate()), ...this.#removing]);
    })();
    return this.#closing;
  }

  #pool(address: string): ClientPool<PooledClient> {
    let pool = this.#pools.get(address);
    if (!pool) {
      const { connector } = this.context;
      pool = new firestore.ClientPool<PooledClient>(
        CONCURRENT_OPERATION_LIMIT,
        MAX_IDLE_CLIENTS,
        () => ({ connection: this.#connect(address) }),
        async (client) => {
          let connection: Connection;
          try {
            if (!client.connection) return;
            connection = await client.connection;
          } catch {
            return; // never made: nothing to close
          }
          await connector.close(connection);
        },
      );
      this.#pools.set(address, pool);
    }
    return pool;
  }

  #run<V>(address: string, action: string, op: (client: PooledClient) => Promise<V>): Promise<V> {
    if (this.#closing) return Promise.reject(new PoolClosedError(action));
    const tag = `${this.context.name}-${this.#nextTag++}`;
    // `run` throws (rather than rejects) when `clientFactory` throws; ours does not, but a
    // synchronous throw is turned into a rejection here all the same.
    try {
      return this.#pool(address).run(tag, /* requiresGrpc= */ true, op);
    } catch (error) {
      return Promise.reject(error);
    }
  }

  #connect(address: string): Promise<Connection> {
    let made: Promise<Connection>;
    try {
      made = this.context.connector.connect({ keyId: address, address, credentials: undefined, channelOptions: {} });
    } catch (error) {
      made = Promise.reject(error);
    }
    // Nobody may await it before it fails (the destructor, an operation): no unhandled rejection.
    made.catch(() => {});
    return made;
  }

  async #connection(client: PooledClient, address: string): Promise<Connection> {
    client.connection ??= this.#connect(address);
    const made = client.connection;
    try {
      return await made;
    } catch (error) {
      if (client.connection === made) client.connection = undefined;
      throw new ConnectError(address, error);
    }
  }
}
