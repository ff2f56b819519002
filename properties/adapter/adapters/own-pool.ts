import type { ChannelCredentials } from '@grpc/grpc-js';
import { PoolClient, type PoolClientOptions } from '../../../src/client/pool-client.js';
import type { LoadTestMetrics } from '../../../src/metrics/load-test-metrics.js';
import { ConnectionPool, type ConnectionPoolOptions } from '../../../src/pool/connection-pool.js';
import type { HealthStatus, UnaryReply, UnaryRequest } from '../../../src/pool/connector.js';
import type { GrpcConnector } from '../../../src/pool/grpc-connector.js';
import type { KeyOptions } from '../../../src/pool/pool-key.js';
import type { LoadRunners } from '../../load-op.js';
import { ModelDisagreement } from '../../outcomes.js';
import { type AdapterContext, type CallOptions, ONE_PER_KEY, type PoolAdapter, type PoolUnderTest } from '../adapter.js';

/** The classes the adapter builds from: the real ones, or a broken variant's patched copies. */
export interface OwnStackClasses {
  readonly ConnectionPool: new (o: ConnectionPoolOptions) => ConnectionPool;
  readonly PoolClient: new (address: string, o: PoolClientOptions) => PoolClient;
  /** The grpc-js connector the live layer builds the seam from (a variant's may carry its bug). */
  readonly GrpcConnector?: typeof GrpcConnector;
  /** The metrics the pool's clients record into (a variant's may carry its bug). */
  readonly LoadTestMetrics?: typeof LoadTestMetrics;
  /** The load runners of the same copy of `src/load` (a variant's may carry its bug). */
  readonly loadRunners?: LoadRunners;
}

/**
 * This project's pool and client as an adapter: calls and health checks go through a `PoolClient`
 * per key (so its deadline, metrics and counters are under test too), `add`/`remove`/`stats` to the
 * pool. The only module of the suite that imports `ConnectionPool`.
 */
export function ownPoolAdapter(classes: OwnStackClasses = { ConnectionPool, PoolClient }, label = 'own'): PoolAdapter {
  return {
    name: label,
    description: "this project's ConnectionPool and PoolClient (src/pool, src/client)",
    contract: ONE_PER_KEY,
    features: { add: true, remove: true, stats: true, health: true, keyOptions: true, seam: true, metrics: true },
    liveConnector: classes.GrpcConnector,
    metricsClass: classes.LoadTestMetrics,
    loadRunners: classes.loadRunners,
    create: (context) => new OwnPoolUnderTest(classes, context),
  };
}

/** Credentials objects are keys by identity: each new one gets a number. */
const credentialIds = new WeakMap<ChannelCredentials, number>();
let nextCredentialId = 1;

function clientKey(address: string, options: KeyOptions | undefined): string {
  // No credentials and no channel options is no key option at all: the same client as none.
  if (!options || (options.credentials === undefined && options.channelOptions === undefined)) return address;
  let cred = 0;
  if (options.credentials) {
    cred = credentialIds.get(options.credentials) ?? nextCredentialId++;
    credentialIds.set(options.credentials, cred);
  }
  return `${address}|${cred}|${JSON.stringify(options.channelOptions ?? {})}`;
}

class OwnPoolUnderTest implements PoolUnderTest {
  readonly pool: ConnectionPool;
  readonly #clients = new Map<string, PoolClient>();

  constructor(
    readonly classes: OwnStackClasses,
    readonly context: AdapterContext,
  ) {
    this.pool = new classes.ConnectionPool({ connector: context.connector, name: context.name });
  }

  #client(address: string, options: KeyOptions | undefined): PoolClient {
    const k = clientKey(address, options);
    let c = this.#clients.get(k);
    if (!c) {
      c = new this.classes.PoolClient(address, {
        ...options,
        pool: this.pool,
        deadlineMs: this.context.deadlineMs,
        metrics: this.context.metrics,
      });
      this.#clients.set(k, c);
    }
    return c;
  }

  get isClosed(): boolean {
    return this.pool.isClosed;
  }

  add(address: string, options?: KeyOptions): Promise<void> {
    return this.pool.add(address, options);
  }

  has(address: string, options?: KeyOptions): boolean {
    return this.pool.has(address, options);
  }

  remove(address: string, options?: KeyOptions): Promise<boolean> {
    return this.pool.remove(address, options);
  }

  call(address: string, request: UnaryRequest, options?: CallOptions): Promise<UnaryReply> {
    const { waitForReady, ...input } = request;
    const { deadlineMs, ...key } = options ?? {};
    return this.#client(address, options && key).call(input, { waitForReady: waitForReady === true, deadlineMs });
  }

  health(address: string, options?: CallOptions): Promise<HealthStatus> {
    const { deadlineMs, ...key } = options ?? {};
    return this.#client(address, options && key).health('', { deadlineMs });
  }

  stats() {
    // Read through a client where there is one, as a user would (its stats carry the pool's).
    for (const c of this.#clients.values()) {
      const s = c.stats();
      if (s.succeeded + s.failed > s.calls) {
        throw new ModelDisagreement(`client stats: succeeded ${s.succeeded} + failed ${s.failed} > calls ${s.calls}`);
      }
    }
    return this.pool.stats();
  }

  close(): Promise<void> {
    return this.pool.close();
  }

  snapshot(): unknown {
    const clients = [...this.#clients.entries()].map(([k, c]) => {
      const { calls, succeeded, failed, healthChecks } = c.stats();
      return [k, calls, succeeded, failed, healthChecks];
    });
    return { pool: this.pool.inspect(), stats: this.pool.stats(), clients: clients.sort() };
  }
}

export const ownAdapter: PoolAdapter = ownPoolAdapter();
