/**
 * A history file that cannot be read, one subclass per format with a stable `code`; names the
 * file, the line (1-based) and what was wrong: `file:line: detail`.
 */
export abstract class HistoryFormatError extends Error {
  abstract readonly code: string;
  constructor(
    readonly file: string,
    readonly line: number,
    readonly detail: string,
  ) {
    super(`${file}:${line}: ${detail}`);
  }
}

/** A relevant line of a Jepsen etcd log (`jepsen-register`) that cannot be read. */
export class JepsenLogError extends HistoryFormatError {
  readonly code = 'ERR_JEPSEN_LOG';
  override readonly name = 'JepsenLogError';
}

/** A line of a Porcupine key-value log (`porcupine-kv`, EDN maps) that cannot be read. */
export class PorcupineKvLogError extends HistoryFormatError {
  readonly code = 'ERR_PORCUPINE_KV_LOG';
  override readonly name = 'PorcupineKvLogError';
}

/** A JSON history (`json`) that is not JSON or does not have the documented shape. */
export class JsonHistoryError extends HistoryFormatError {
  readonly code = 'ERR_JSON_HISTORY';
  override readonly name = 'JsonHistoryError';
}
