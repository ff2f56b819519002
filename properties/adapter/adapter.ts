/**
 * The one thing a user writes to run this suite on their own pool: a `PoolAdapter`.
 *
 * The suite hands the adapter a `Connector` (the seam through which every connection is opened,
 * every call and health check made, and every connection closed) and gets back a `PoolUnderTest`
 * keyed by address. Because every network result passes through that connector, the suite's
 * scheduler still decides the order in which they reach the pool, on the simulated network and on
 * real servers alike. A pool that opens connections some other way cannot be ordered or counted at
 * the seam: declare `seam: false`. As the properties stand, every one of them needs the seam (each
 * builds its runs on it), so such a pool is SKIPPED by all of them, each saying why.
 *
 * What the pool promises is declared in `contract`; what it offers, in `features`. The properties,
 * the checks and the model take both as given: an operation that is not offered is never generated,
 * a check whose promise is not made is not made, and the precise model applies only to contracts
 * it describes (see `preciseModelApplies`).
 */

import { LoadTestMetrics } from '../../src/metrics/load-test-metrics.js';
import type { Connector, HealthStatus, UnaryReply, UnaryRequest } from '../../src/pool/connector.js';
import type { GrpcConnector } from '../../src/pool/grpc-connector.js';
import type { KeyOptions } from '../../src/pool/pool-key.js';
import type { LoadRunners } from '../load-op.js';

/** What a pool promises about its connections; every field is checked on the server side or at the seam. */
export interface PoolContract {
  /**
   * Most connections one key (address, with its options) holds open at once, not counting ones
   * being closed after a remove. `1` is "one connection per key"; `Infinity` declares no bound.
   */
  readonly connectionsPerKey: number;
  /** Most calls and health checks in flight on one connection at once; `Infinity` for no limit. */
  readonly callsPerConnection: number;
  /**
   * Connections a key keeps open while nothing uses them. At least 1 for a pool that keeps a key's
   * connection between uses (then a second call reuses it, seen as no new connection at the server).
   */
  readonly idleKeptPerKey: number;
  /**
   * Whether `remove` and `close` let calls in flight finish before closing their connection (a
   * drain). Without it, a call in flight on a removed key may fail CANCELLED or UNAVAILABLE.
   */
  readonly drains: boolean;
}

/** What a pool offers. An operation not offered is never generated; a feature not offered is never read. */
export interface PoolFeatures {
  /** `add(address)` connects ahead of use. */
  readonly add: boolean;
  /** `remove(address)` takes a key out (and, with `drains`, waits for its calls). */
  readonly remove: boolean;
  /** `stats()` returns counters the model predicts exactly. */
  readonly stats: boolean;
  /** `health(address)` runs grpc.health.v1 Check over the pooled connection. */
  readonly health: boolean;
  /** Keys include channel options and credentials (`KeyOptions`), not the address alone. */
  readonly keyOptions: boolean;
  /**
   * Every connection is made through the given connector. Without it the scheduler cannot order
   * network results and the seam sees nothing. Every property needs it today: without it each is
   * SKIPPED, saying so (a server-side-only property would be the place to start).
   */
  readonly seam: boolean;
  /** Calls and their latencies are recorded in the `metrics` the suite passes. */
  readonly metrics: boolean;
}

/** The pool's counters, as the model predicts them (declare `features.stats` only if they mean this). */
export interface PoolCounters {
  /** Connections made (successful connects). */
  readonly created: number;
  /** Connections closed by the pool. */
  readonly closed: number;
  /** Gets answered with a connection that already existed. */
  readonly reused: number;
  /** Calls and health checks holding a connection now. */
  readonly inFlight: number;
  /** Keys with an open connection. */
  readonly liveKeys: number;
  /** Removed connections still finishing calls. */
  readonly draining: number;
  /** Connects that failed (optional: where given, it must never go backwards). */
  readonly connectFailures?: number;
}

/** What the suite passes to `create`. */
export interface AdapterContext {
  /** Every connection must be opened, used and closed through this (unless `features.seam` is false). */
  readonly connector: Connector;
  /** A name for the pool, unique per run (messages, reports). */
  readonly name: string;
  /** Deadline of each call and health check, in ms: the pool must not let one outlive it for long. */
  readonly deadlineMs: number;
  /** Where to record calls (when `features.metrics`). */
  readonly metrics: LoadTestMetrics;
}

/** A call's options: its key's options (where `features.keyOptions`), and its own deadline. */
export interface CallOptions extends KeyOptions {
  /** This call's deadline in ms; default the context's `deadlineMs`. */
  readonly deadlineMs?: number;
}

/** One pool made for one run, keyed by address (and `KeyOptions` where `features.keyOptions`). */
export interface PoolUnderTest {
  /** Connects `address` ahead of use; resolves once its connection exists. (`features.add`) */
  add?(address: string, options?: KeyOptions): Promise<void>;
  /** Removes `address`: `true` once its connection is closed, `false` if it was not there. (`features.remove`) */
  remove?(address: string, options?: KeyOptions): Promise<boolean>;
  /** One unary call on `address`'s pooled connection. */
  call(address: string, request: UnaryRequest, options?: CallOptions): Promise<UnaryReply>;
  /** Whether `address` has a key in the pool now (optional: where offered, the model checks it after each step). */
  has?(address: string, options?: KeyOptions): boolean;
  /** A health check on `address`'s pooled connection. (`features.health`) */
  health?(address: string, options?: CallOptions): Promise<HealthStatus>;
  /** A consistent snapshot of the counters. (`features.stats`) */
  stats?(): PoolCounters;
  /** Closes every connection (draining first, with `contract.drains`); later operations fail. */
  close(): Promise<void>;
  readonly isClosed: boolean;
  /**
   * The pool's own state for the model checker's memo (equal states, equal values; ids as given by
   * the connector). Optional: without it, states are told apart by what the seam and servers saw.
   */
  snapshot?(): unknown;
}

/** What a user writes: a name, the declarations, and how to make the pool over a connector. */
export interface PoolAdapter {
  readonly name: string;
  /** One line: what pool this is, and where it comes from. */
  readonly description: string;
  readonly contract: PoolContract;
  readonly features: PoolFeatures;
  create(context: AdapterContext): PoolUnderTest;
  /**
   * Advanced, for a pool built on this project's `GrpcConnector` with changes of its own: the class
   * the live layer builds the seam from (default: `src/pool/grpc-connector.ts`). The broken variants
   * of the self-check use it to put a bug inside the connector.
   */
  readonly liveConnector?: typeof GrpcConnector;
  /**
   * Advanced, for a pool that records into its own build of this project's `LoadTestMetrics`: the
   * class the suite makes each run's `metrics` with (default: `src/metrics/load-test-metrics.ts`).
   * The broken variants use it to put a bug inside the metrics themselves.
   */
  readonly metricsClass?: typeof LoadTestMetrics;
  /**
   * Advanced, for a stack with its own build of this project's load runners (`src/load`): the
   * runners a generated load op runs its shape through (default: `src/load`'s). The broken variants
   * use it to put a bug inside a load pattern.
   */
  readonly loadRunners?: Partial<LoadRunners>;
}

/** The metrics a run hands the pool (`AdapterContext.metrics`): of the adapter's class, if it brings one. */
export function newRunMetrics(a: PoolAdapter): LoadTestMetrics {
  return new (a.metricsClass ?? LoadTestMetrics)();
}

/** The contract of this project's pool, and of any pool that keeps one connection per key and drains. */
export const ONE_PER_KEY: PoolContract = Object.freeze({
  connectionsPerKey: 1,
  callsPerConnection: Number.POSITIVE_INFINITY,
  idleKeptPerKey: 1,
  drains: true,
});

/**
 * Whether the precise model (`models/pool-spec.ts`, step-by-step `models/pool-model.ts`) describes
 * this adapter: one connection per key, kept while idle, drained on remove. Other contracts are
 * checked by the contract checks instead (`properties/adapter/contract-checks.ts`).
 */
export function preciseModelApplies(a: PoolAdapter): boolean {
  const c = a.contract;
  return c.connectionsPerKey === 1 && c.idleKeptPerKey >= 1 && c.drains && a.features.seam;
}

/** An adapter file that does not describe an adapter: what is wrong with it, and what to do. */
export class AdapterError extends Error {
  readonly code = 'ERR_ADAPTER';
  constructor(message: string) {
    super(message);
    this.name = 'AdapterError';
  }
}

/** Checks an adapter's declarations (from a user's file: anything may be missing); throws `AdapterError`. */
export function validateAdapter(value: unknown, from: string): PoolAdapter {
  const a = value as Partial<PoolAdapter> | null | undefined;
  const fail = (what: string): never => {
    throw new AdapterError(
      `${from}: ${what}. An adapter exports { name, description, contract, features, create(context) }: see docs/writing-an-adapter.md`,
    );
  };
  if (typeof a !== 'object' || a === null) return fail('does not export an adapter object (default export or `adapter`)');
  if (typeof a.name !== 'string' || a.name === '') fail('`name` must be a non-empty string');
  if (typeof a.create !== 'function') fail('`create` must be a function (context) => pool');
  const c = a.contract as Partial<PoolContract> | undefined;
  if (typeof c !== 'object' || c === null) return fail('`contract` is missing');
  for (const k of ['connectionsPerKey', 'callsPerConnection', 'idleKeptPerKey'] as const) {
    const v = c[k];
    if (typeof v !== 'number' || Number.isNaN(v) || v < (k === 'idleKeptPerKey' ? 0 : 1)) {
      fail(`contract.${k} must be a number ≥ ${k === 'idleKeptPerKey' ? 0 : 1} (Infinity for no bound); got ${String(v)}`);
    }
  }
  if (typeof c.drains !== 'boolean') fail('contract.drains must be true or false');
  const f = a.features as Partial<PoolFeatures> | undefined;
  if (typeof f !== 'object' || f === null) return fail('`features` is missing');
  for (const k of ['add', 'remove', 'stats', 'health', 'keyOptions', 'seam', 'metrics'] as const) {
    if (typeof f[k] !== 'boolean') fail(`features.${k} must be true or false`);
  }
  return a as PoolAdapter;
}
