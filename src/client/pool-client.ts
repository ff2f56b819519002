import { randomUUID } from 'node:crypto';
import type { LoadTestMetrics } from '../metrics/load-test-metrics.js';
import { ConnectionPool } from '../pool/connection-pool.js';
import type { HealthStatus, UnaryReply } from '../pool/connector.js';
import { InvalidOptionsError } from '../pool/errors.js';
import type { KeyOptions, PoolKey } from '../pool/pool-key.js';
import type { PoolStats } from '../pool/pool-stats.js';
import { ClientClosedError, InvalidDeadlineError, InvalidRequestError } from './errors.js';

/** Default deadline of a call or health check when none is given. */
export const DEFAULT_DEADLINE_MS = 5_000;

export interface PoolClientOptions extends KeyOptions {
  /** The pool to use; default the process-wide shared pool (`sharedPool()`). */
  readonly pool?: ConnectionPool;
  /** Deadline of calls that do not give one; default 5 000 ms. */
  readonly deadlineMs?: number;
  /**
   * Every call's outcome and latency is recorded here (a failed call counts as failed), and the
   * client counts itself in `activeClients` while it has at least one call in flight.
   */
  readonly metrics?: LoadTestMetrics;
}

export interface CallInput {
  /** Default: a fresh random id. */
  readonly requestId?: string;
  readonly payload?: Uint8Array;
  readonly delayMs?: number;
  /** Ask the server to fail with this gRPC status (1..16). */
  readonly failCode?: number;
}

export interface CallOptions {
  readonly deadlineMs?: number;
  /**
   * Wait for the connection while the channel cannot connect, instead of failing at once with
   * UNAVAILABLE (gRPC wait-for-ready; calls only, default false). The deadline still applies.
   */
  readonly waitForReady?: boolean;
}

/** A client's own counters beside its pool's. */
export interface ClientStats {
  readonly calls: number;
  readonly succeeded: number;
  readonly failed: number;
  readonly healthChecks: number;
  readonly pool: PoolStats;
}

let shared: ConnectionPool | undefined;

/** The process-wide default pool, created on first use. */
export function sharedPool(): ConnectionPool {
  if (!shared || shared.isClosed) shared = new ConnectionPool({ name: 'shared' });
  return shared;
}

/** Closes the process-wide default pool (a later `sharedPool()` makes a new one). */
export async function closeSharedPool(): Promise<void> {
  const pool = shared;
  shared = undefined;
  await pool?.close();
}

/**
 * A client of one address: unary calls, health checks and stats, all through a pool. Health
 * checks ride on the pooled connection; the client never opens a connection of its own.
 * Closing a client does not close its pool (the pool may be shared).
 */
export class PoolClient {
  readonly address: string;
  readonly pool: ConnectionPool;
  readonly #key: PoolKey;
  readonly #deadlineMs: number;
  readonly #metrics: LoadTestMetrics | undefined;
  #closed = false;
  #calls = 0;
  #succeeded = 0;
  #failed = 0;
  #healthChecks = 0;
  #callsInFlight = 0;

  constructor(address: string, options: PoolClientOptions = {}) {
    if (typeof options !== 'object' || options === null) throw new InvalidOptionsError('PoolClient options must be an object');
    this.pool = options.pool ?? sharedPool();
    if (!(this.pool instanceof ConnectionPool)) throw new InvalidOptionsError('pool must be a ConnectionPool');
    // Resolve (and so validate) the key once, not on every call.
    this.#key = this.pool.keyOf(address, { credentials: options.credentials, channelOptions: options.channelOptions });
    this.address = this.#key.address;
    this.#deadlineMs = checkDeadline(options.deadlineMs ?? DEFAULT_DEADLINE_MS);
    this.#metrics = options.metrics;
  }

  /** One unary call. Rejects with `GrpcStatusError` (status kept) when the server or transport fails it. */
  async call(input: CallInput = {}, options: CallOptions = {}): Promise<UnaryReply> {
    this.#assertOpen('call');
    const deadlineMs = checkDeadline(options.deadlineMs ?? this.#deadlineMs);
    const request = { ...input, requestId: input.requestId ?? randomUUID(), waitForReady: options.waitForReady === true };
    checkRequest(request);
    this.#calls += 1;
    // Active means "has a call in flight": the client counts itself once, on its first call in
    // flight, and leaves on the last one's end (success or failure), so activeClients is the
    // number of clients with at least one call outstanding.
    if (this.#callsInFlight++ === 0) this.#metrics?.clientStarted();
    const started = performance.now();
    try {
      const reply = await this.pool.withKey(this.#key, (c) => this.pool.connector.call(c, request, deadlineMs));
      this.#succeeded += 1;
      this.#metrics?.recordSuccess((performance.now() - started) * 1000);
      return reply;
    } catch (error) {
      this.#failed += 1;
      this.#metrics?.recordFailure((performance.now() - started) * 1000);
      throw error;
    } finally {
      if (--this.#callsInFlight === 0) this.#metrics?.clientFinished();
    }
  }

  /** grpc.health.v1 Check over the pooled connection; `service` '' is the whole server. */
  async health(service = '', options: CallOptions = {}): Promise<HealthStatus> {
    this.#assertOpen('check health');
    if (typeof service !== 'string') throw new InvalidRequestError('health service name must be a string');
    const deadlineMs = checkDeadline(options.deadlineMs ?? this.#deadlineMs);
    this.#healthChecks += 1;
    return this.pool.withKey(this.#key, (c) => this.pool.connector.health(c, service, deadlineMs));
  }

  stats(): ClientStats {
    this.#assertOpen('read stats');
    return Object.freeze({
      calls: this.#calls,
      succeeded: this.#succeeded,
      failed: this.#failed,
      healthChecks: this.#healthChecks,
      pool: this.pool.stats(),
    });
  }

  close(): void {
    this.#closed = true;
  }

  #assertOpen(action: string): void {
    if (this.#closed) throw new ClientClosedError(action);
  }
}

function checkDeadline(deadlineMs: unknown): number {
  if (typeof deadlineMs !== 'number' || !Number.isFinite(deadlineMs) || deadlineMs <= 0) {
    throw new InvalidDeadlineError(deadlineMs);
  }
  return deadlineMs;
}

function checkRequest(request: CallInput & { requestId: string }): void {
  if (typeof request.requestId !== 'string' || request.requestId === '') {
    throw new InvalidRequestError('requestId must be a non-empty string');
  }
  const { failCode, delayMs } = request;
  if (failCode !== undefined && (!Number.isInteger(failCode) || failCode < 0 || failCode > 16)) {
    throw new InvalidRequestError(`failCode must be a gRPC status code 1..16 (or 0 for none); got ${String(failCode)}`);
  }
  if (delayMs !== undefined && (!Number.isFinite(delayMs) || delayMs < 0)) {
    throw new InvalidRequestError(`delayMs must be a non-negative number; got ${String(delayMs)}`);
  }
}
