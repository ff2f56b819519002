import type { ChannelCredentials } from '@grpc/grpc-js';
import type { ChannelOptionValues } from './pool-key.js';

/** What a connector needs to open one connection. */
export interface ConnectTarget {
  /** The pool key this connection serves. */
  readonly keyId: string;
  /** Normalised `host:port`. */
  readonly address: string;
  readonly credentials: ChannelCredentials | undefined;
  readonly channelOptions: ChannelOptionValues;
}

/** An open connection, as the pool holds it. Connectors may carry more in a subtype. */
export interface Connection {
  /** Unique per connector, in creation order. */
  readonly id: number;
  readonly keyId: string;
  readonly address: string;
}

/** A unary call to the load-test service. */
export interface UnaryRequest {
  readonly requestId: string;
  readonly payload?: Uint8Array;
  /** Ask the server to wait this long before answering. */
  readonly delayMs?: number;
  /** Ask the server to fail with this gRPC status (1..16). */
  readonly failCode?: number;
  /**
   * A call option, not sent to the server: while the channel cannot connect (TRANSIENT_FAILURE),
   * wait for it to become READY instead of failing at once with UNAVAILABLE (gRPC's wait-for-ready;
   * the call still fails at its deadline or when its channel shuts down). Default false: fail fast.
   */
  readonly waitForReady?: boolean;
}

export interface UnaryReply {
  readonly requestId: string;
  readonly payload: Uint8Array;
  /** How many times the server has now seen this request id. */
  readonly timesSeen: number;
  /** Which server incarnation answered. */
  readonly serverId: string;
}

/** Health status as grpc.health.v1 reports it. */
export type HealthStatus = 'UNKNOWN' | 'SERVING' | 'NOT_SERVING' | 'SERVICE_UNKNOWN';

/**
 * The one seam through which the pool reaches the network. Production uses `GrpcConnector`;
 * tests substitute an in-memory connector, or wrap every promise returned here so that a
 * scheduler decides in which order they continue.
 *
 * Every promise returned must settle: `call` and `health` within their deadline.
 * Failures of `call` and `health` reject with `GrpcStatusError` carrying the gRPC status.
 */
export interface Connector<C extends Connection = Connection> {
  connect(target: ConnectTarget): Promise<C>;
  close(connection: C): Promise<void>;
  call(connection: C, request: UnaryRequest, deadlineMs: number): Promise<UnaryReply>;
  health(connection: C, service: string, deadlineMs: number): Promise<HealthStatus>;
}
