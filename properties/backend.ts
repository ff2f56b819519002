import type { Scheduler } from 'fast-check';
import type { Layer, NetworkFault, Serving } from '../models/vocabulary.js';
import type { History } from '../src/harness/history.js';
import type { Connector } from '../src/pool/connector.js';
import type { GrpcConnector } from '../src/pool/grpc-connector.js';
import type { Activity } from './scheduling/activity.js';

/**
 * The network the pool under test reaches: the connector seam (every promise handed to the
 * scheduler) and the faults that can be put on it.
 */
export interface Network {
  /** The connector the pool under test uses, with every promise it returns handed to `scheduler`. */
  connector(scheduler: Scheduler, history: History, activity?: Activity, grpc?: typeof GrpcConnector): Connector;
  /** Whether `fault`/`heal` can act on the network between the pool and the servers. */
  readonly networkFaults: boolean;
  /** Starts a network fault between the pool and server `i` (live: a toxic on its proxy). */
  fault(i: number, kind: NetworkFault): Promise<void>;
  /** Ends the network fault on `i`. */
  heal(i: number): Promise<void>;
  /**
   * After a call to `i` was refused as UNAVAILABLE: resolves when the pool's channel to `i` changes
   * state (its reconnect backoff over, a new attempt under way), bounded; at once where there is no
   * channel to wait on. What a retrying client waits on, instead of a fixed sleep.
   */
  waitForReconnect(i: number): Promise<void>;
}

/** What the nemesis does to the servers themselves. */
export interface Nemesis {
  /** Whether stop/kill/restart/setServing are available. */
  readonly controllable: boolean;
  stop(i: number): Promise<void>;
  kill(i: number): Promise<void>;
  restart(i: number): Promise<void>;
  setServing(i: number, status: Serving): void;
}

/** What the servers saw, by their own counts: where connection invariants are observed. */
export interface Observer {
  /**
   * Waits (event-driven, up to `timeoutMs`) until address `i` holds at most `atMost` open transport
   * connections as its server counts them, and returns the count at that point.
   */
  settleOpenConnections(i: number, atMost: number, timeoutMs: number): Promise<number>;
  /** Transport connections the server at `i` has accepted since it was first started, by its own count. */
  acceptedConnections(i: number): Promise<number>;
  /** How many times the server at `i` received `requestId`. */
  timesSeen(i: number, requestId: string): Promise<number>;
}

/**
 * The servers a property runs against, in three roles: the network the pool reaches, the nemesis
 * that breaks servers, the observer that reads them. Three kinds: live (real test servers on
 * loopback), simulated (an in-memory network) and target (servers already running elsewhere that
 * implement proto/loadtest.proto; they cannot be controlled).
 */
export interface Backend {
  readonly layer: Layer;
  readonly addresses: readonly string[];
  readonly network: Network;
  readonly nemesis: Nemesis;
  readonly observer: Observer;
  dispose(): Promise<void>;
}

/** A tolerance beyond a call's deadline within which it must have settled (a loaded 2-core machine). */
export const SETTLE_TOLERANCE_MS = 2_000;
/** Deadline of every call the properties make. */
export const CALL_DEADLINE_MS = 3_000;

/**
 * A late call: the server is asked to answer after `delayMs`, past the call's own deadline
 * `deadlineMs`, so it must end DEADLINE_EXCEEDED at the caller within the deadline plus
 * `SETTLE_TOLERANCE_MS` (keepalive or the default deadline ending it instead is a missing deadline).
 * The simulated network has no clock: it fails a call whose delay reaches its deadline, as grpc-js would.
 * The deadline is short because every late call waits it out (they are in half the live runs); the
 * answer comes 550 ms after it, so only an event loop stalled that long could let it arrive in time
 * (a deadline that passes before the call even connects ends it DEADLINE_EXCEEDED all the same).
 */
export const LATE_CALL = { deadlineMs: 50, delayMs: 600 } as const;
