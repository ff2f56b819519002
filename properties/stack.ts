import { PoolClient, type PoolClientOptions } from '../src/client/pool-client.js';
import { ConnectionPool, type ConnectionPoolOptions } from '../src/pool/connection-pool.js';
import type { GrpcConnector } from '../src/pool/grpc-connector.js';

/**
 * How a property builds the stack under test: the real pool and client, or a known-broken
 * variant's, built from a patched copy of the source (`variants/patched-stack.ts`).
 */
export interface Stack {
  makePool?(options: ConnectionPoolOptions): ConnectionPool;
  makeClient?(address: string, options: PoolClientOptions): PoolClient;
  /** The grpc-js connector the live layer uses (a variant's may carry its bug); simulated ignores it. */
  GrpcConnector?: typeof GrpcConnector;
}

/** The real stack: what every part of a `Stack` falls back to. */
export const REAL_STACK = {
  makePool: (options: ConnectionPoolOptions) => new ConnectionPool(options),
  makeClient: (address: string, options: PoolClientOptions) => new PoolClient(address, options),
} satisfies Stack;
