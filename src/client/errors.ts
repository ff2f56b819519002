import { PoolError } from '../pool/errors.js';

export { GrpcStatusError, statusName } from '../pool/errors.js';

/** The client was closed; make a new one. */
export class ClientClosedError extends PoolError {
  constructor(action: string) {
    super('ERR_CLIENT_CLOSED', `cannot ${action}: the client is closed (create a new client)`);
  }
}

/** A deadline that is not a positive, finite number of milliseconds. */
export class InvalidDeadlineError extends PoolError {
  constructor(value: unknown) {
    super('ERR_INVALID_DEADLINE', `deadlineMs must be a positive, finite number of milliseconds; got ${String(value)}`);
  }
}

/** A request asks the server for a behaviour it cannot have (bad status code, negative delay, ...). */
export class InvalidRequestError extends PoolError {
  constructor(message: string) {
    super('ERR_INVALID_REQUEST', message);
  }
}
