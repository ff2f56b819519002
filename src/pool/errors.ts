/** Base class of every error the pool and its connector raise; `code` is stable and machine-readable. */
export class PoolError extends Error {
  readonly code: string;
  constructor(code: string, message: string, options?: ErrorOptions) {
    super(message, options);
    this.name = new.target.name;
    this.code = code;
  }
}

/** The pool was closed; nothing can be got, added or removed any more. Make a new pool. */
export class PoolClosedError extends PoolError {
  constructor(action: string) {
    super('ERR_POOL_CLOSED', `cannot ${action}: the connection pool is closed (create a new pool)`);
  }
}

/** An address is not `host:port` with a port in 1..65535. */
export class InvalidAddressError extends PoolError {
  constructor(address: unknown, reason: string) {
    super(
      'ERR_INVALID_ADDRESS',
      `invalid address ${JSON.stringify(address)}: ${reason} (expected host:port, e.g. 127.0.0.1:50051 or [::1]:50051)`,
    );
  }
}

/** Pool, key or call options are empty, of the wrong type, or out of range. */
export class InvalidOptionsError extends PoolError {
  constructor(message: string) {
    super('ERR_INVALID_OPTIONS', message);
  }
}

/** The connector could not create a connection for a key. */
export class ConnectError extends PoolError {
  constructor(address: string, cause: unknown) {
    const why = cause instanceof Error ? cause.message : String(cause);
    super('ERR_CONNECT', `could not connect to ${address}: ${why}`, { cause });
  }
}

/**
 * A connection attempt's secure (TLS) handshake was cut short: its connection was closed, or its
 * socket was reset (the handshake watchdog). Ends the attempt inside grpc-js, which reports it as
 * the subchannel's failure; callers see the channel's usual UNAVAILABLE or deadline, never this.
 */
export class HandshakeAbortedError extends PoolError {
  constructor(reason: string) {
    super('ERR_HANDSHAKE_ABORTED', `secure handshake aborted: ${reason}`);
  }
}

/**
 * A call reached gRPC and ended with a non-OK status. `status` is the gRPC status code as
 * received (for example 14 UNAVAILABLE, 4 DEADLINE_EXCEEDED), never rewritten.
 */
export class GrpcStatusError extends PoolError {
  readonly status: number;
  readonly details: string;
  constructor(status: number, details: string, method: string) {
    super('ERR_GRPC_STATUS', `${method} failed with gRPC status ${status} (${statusName(status)}): ${details}`);
    this.status = status;
    this.details = details;
  }
}

/**
 * gRPC status codes by number, as the gRPC spec (doc/statuscodes.md) names them. Kept here rather
 * than read from grpc-js: the client stack may run on any release, and the names never change.
 */
const STATUS_NAMES: readonly string[] = [
  'OK',
  'CANCELLED',
  'UNKNOWN',
  'INVALID_ARGUMENT',
  'DEADLINE_EXCEEDED',
  'NOT_FOUND',
  'ALREADY_EXISTS',
  'PERMISSION_DENIED',
  'RESOURCE_EXHAUSTED',
  'FAILED_PRECONDITION',
  'ABORTED',
  'OUT_OF_RANGE',
  'UNIMPLEMENTED',
  'INTERNAL',
  'UNAVAILABLE',
  'DATA_LOSS',
  'UNAUTHENTICATED',
];

/** The name of a gRPC status code (`14` -> `UNAVAILABLE`); `UNKNOWN` for a code it does not know. */
export function statusName(code: number): string {
  return STATUS_NAMES[code] ?? 'UNKNOWN';
}
