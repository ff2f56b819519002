import { PoolClient, type PoolClientOptions } from '../src/client/pool-client.js';
import { ConnectionPool, type ConnectionPoolOptions } from '../src/pool/connection-pool.js';
import type { Connector } from '../src/pool/connector.js';

/**
 * How a property builds the stack under test: the real pool and client, or a known-broken
 * variant that changes one of them (or the connector beneath the pool) by one realistic bug.
 */
export interface Stack {
  makePool?(options: ConnectionPoolOptions): ConnectionPool;
  /** Put a (broken) layer between the pool and the backend's connector. */
  wrapConnector?(connector: Connector): Connector;
  makeClient?(address: string, options: PoolClientOptions): PoolClient;
}

/** The real stack: what every part of a `Stack` falls back to. */
export const REAL_STACK = {
  makePool: (options: ConnectionPoolOptions) => new ConnectionPool(options),
  makeClient: (address: string, options: PoolClientOptions) => new PoolClient(address, options),
} satisfies Stack;
