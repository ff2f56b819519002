import { statusName } from '../pool/errors.js';

/** One request of a load pattern: which worker sent it, its sequence number, and (open loop) when it was meant to start. */
export interface RequestContext {
  readonly worker: number;
  readonly seq: number;
  /** performance.now() at which the schedule meant this request to start (open loop only). */
  readonly intendedStartMs?: number;
}

/** What a load pattern sends: one request; resolves or rejects, never hangs past its deadline. */
export type SendRequest = (ctx: RequestContext) => Promise<unknown>;

/** Counts of a load run. Every request issued is counted once, as succeeded or failed: none is dropped. */
export interface LoadResult {
  readonly issued: number;
  readonly succeeded: number;
  readonly failed: number;
  /** Failures by error code (`ERR_GRPC_STATUS:14`, `ERR_POOL_CLOSED`, ...); see `describeFailureKey`. */
  readonly failures: Readonly<Record<string, number>>;
  readonly elapsedMs: number;
}

/** Accumulates a load run's counts. */
export class LoadTally {
  #issued = 0;
  #succeeded = 0;
  #failed = 0;
  readonly #failures: Record<string, number> = {};
  readonly #started = performance.now();

  /** Requests sent and not settled yet. */
  get inFlight(): number {
    return this.#issued - this.#succeeded - this.#failed;
  }

  /** Sends one request through `send` and counts how it ended. Never rejects. */
  async send(send: SendRequest, ctx: RequestContext): Promise<void> {
    this.#issued += 1;
    try {
      await send(ctx);
      this.#succeeded += 1;
    } catch (error) {
      this.#failed += 1;
      const key = failureKey(error);
      this.#failures[key] = (this.#failures[key] ?? 0) + 1;
    }
  }

  /** The counts so far (callable while requests are in flight: `issued - succeeded - failed` are still running). */
  result(): LoadResult {
    return {
      issued: this.#issued,
      succeeded: this.#succeeded,
      failed: this.#failed,
      failures: { ...this.#failures },
      elapsedMs: performance.now() - this.#started,
    };
  }
}

/** The key a failure is counted under: `code:status` for a gRPC status error, else its code or name. */
export function failureKey(error: unknown): string {
  const e = error as { code?: unknown; status?: unknown };
  if (typeof e?.code === 'string') return typeof e.status === 'number' ? `${e.code}:${e.status}` : e.code;
  return error instanceof Error ? error.name : 'unknown';
}

/** A failure key for people: `ERR_GRPC_STATUS:14` -> `UNAVAILABLE(14)`; other keys unchanged. */
export function describeFailureKey(key: string): string {
  const m = /^ERR_GRPC_STATUS:(\d+)$/.exec(key);
  return m ? `${statusName(Number(m[1]))}(${m[1]})` : key;
}

/** Adds several runs' failure counts into one record. */
export function mergeFailures(results: readonly Pick<LoadResult, 'failures'>[]): Record<string, number> {
  const out: Record<string, number> = {};
  for (const r of results) for (const [k, v] of Object.entries(r.failures)) out[k] = (out[k] ?? 0) + v;
  return out;
}
