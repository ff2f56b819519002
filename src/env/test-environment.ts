import { PoolClient, type PoolClientOptions } from '../client/pool-client.js';
import { LoadTestMetrics } from '../metrics/load-test-metrics.js';
import { ConnectionPool } from '../pool/connection-pool.js';
import { TestServer, type TestServerOptions } from '../server/test-server.js';

export interface TestEnvironmentOptions {
  readonly server?: TestServerOptions;
}

/**
 * The seed's TestEnvironment: a started server, its address, a client factory over a pool the
 * environment owns, and shared metrics. `await using env = await TestEnvironment.start()` releases
 * everything (clients, pools it made, the server) when the scope ends.
 */
export class TestEnvironment {
  readonly server: TestServer;
  readonly metrics = new LoadTestMetrics();
  /** The environment's default pool: clients made without a pool share it. */
  readonly pool = new ConnectionPool({ name: 'env' });
  readonly #pools = new Set<ConnectionPool>([this.pool]);
  readonly #clients = new Set<PoolClient>();

  private constructor(server: TestServer) {
    this.server = server;
  }

  static async start(options: TestEnvironmentOptions = {}): Promise<TestEnvironment> {
    return new TestEnvironment(await TestServer.start(options.server));
  }

  get address(): string {
    return this.server.address;
  }

  /** A client of this environment's server, recording into the shared metrics unless told otherwise. */
  client(options: PoolClientOptions = {}): PoolClient {
    const client = new PoolClient(this.address, { pool: this.pool, metrics: this.metrics, ...options });
    this.#clients.add(client);
    if (options.pool) this.#pools.add(options.pool);
    return client;
  }

  /** A separate pool that the environment closes on dispose (the seed's "custom pool"). */
  newPool(name: string): ConnectionPool {
    const pool = new ConnectionPool({ name });
    this.#pools.add(pool);
    return pool;
  }

  async dispose(): Promise<void> {
    for (const c of this.#clients) c.close();
    await Promise.all([...this.#pools].map((p) => p.close()));
    await this.server.close();
  }

  async [Symbol.asyncDispose](): Promise<void> {
    await this.dispose();
  }
}
