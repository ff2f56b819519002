/** Base class of every error the fault proxy raises; `code` is stable and machine-readable. */
export class FaultError extends Error {
  readonly code: string;
  constructor(code: string, message: string, options?: ErrorOptions) {
    super(message, options);
    this.name = new.target.name;
    this.code = code;
  }
}

/** A toxic spec or name is malformed or out of range; the message names the field. */
export class InvalidToxicError extends FaultError {
  constructor(message: string) {
    super('ERR_INVALID_TOXIC', message);
  }
}

/** `FaultProxy.start` options are malformed (upstream, host, port or seed). */
export class InvalidProxyOptionsError extends FaultError {
  constructor(message: string) {
    super('ERR_PROXY_OPTIONS', message);
  }
}

/** A toxic with this name is already installed (remove it first, or pick another name). */
export class ToxicExistsError extends FaultError {
  constructor(name: string) {
    super('ERR_TOXIC_EXISTS', `a toxic named "${name}" is already installed (remove it first or use another name)`);
  }
}

/** No toxic with this name is installed. */
export class ToxicNotFoundError extends FaultError {
  constructor(name: string, installed: readonly string[]) {
    const list = installed.length > 0 ? installed.join(', ') : 'none';
    super('ERR_TOXIC_NOT_FOUND', `no toxic named "${name}" is installed (installed: ${list})`);
  }
}

/** The proxy could not listen, or was asked to act after `close()`. */
export class ProxyStateError extends FaultError {
  constructor(message: string, options?: ErrorOptions) {
    super('ERR_PROXY_STATE', message, options);
  }
}

/** `waitUntil` did not see the expected proxy state in time. */
export class ProxyWaitTimeoutError extends FaultError {
  constructor(message: string) {
    super('ERR_PROXY_WAIT_TIMEOUT', message);
  }
}
