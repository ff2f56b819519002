/** Base class of metrics errors; `code` is stable. */
export class MetricsError extends Error {
  readonly code: string;
  constructor(code: string, message: string) {
    super(message);
    this.name = new.target.name;
    this.code = code;
  }
}

/** A latency or buffer handed to the metrics is not usable. */
export class InvalidMetricError extends MetricsError {
  constructor(message: string) {
    super('ERR_INVALID_METRIC', message);
  }
}
