import { PoolClient, type PoolClientOptions } from '../src/client/pool-client.js';
import { ConnectionPool, type ConnectionPoolOptions } from '../src/pool/connection-pool.js';

/**
 * How a property builds the stack under test: the real pool and client, or a known-broken
 * variant's, built from a patched copy of the source (`variants/patched-stack.ts`).
 */
export interface Stack {
  makePool?(options: ConnectionPoolOptions): ConnectionPool;
  makeClient?(address: string, options: PoolClientOptions): PoolClient;
}

/** The real stack: what every part of a `Stack` falls back to. */
export const REAL_STACK = {
  makePool: (options: ConnectionPoolOptions) => new ConnectionPool(options),
  makeClient: (address: string, options: PoolClientOptions) => new PoolClient(address, options),
} satisfies Stack;
