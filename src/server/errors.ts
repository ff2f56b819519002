/** Base class of every error the test server raises; `code` is stable and machine-readable. */
export class TestServerError extends Error {
  readonly code: string;
  constructor(code: string, message: string) {
    super(message);
    this.name = new.target.name;
    this.code = code;
  }
}

/** A start/stop/kill/restart was asked of a server in a state that does not allow it. */
export class ServerStateError extends TestServerError {
  constructor(message: string) {
    super('ERR_SERVER_STATE', message);
  }
}

/** Options given to `TestServer.start` are malformed. */
export class InvalidServerOptionsError extends TestServerError {
  constructor(message: string) {
    super('ERR_SERVER_OPTIONS', message);
  }
}

/** A wait on the ledger did not see the expected state in time. */
export class LedgerWaitTimeoutError extends TestServerError {
  constructor(message: string) {
    super('ERR_LEDGER_WAIT_TIMEOUT', message);
  }
}
