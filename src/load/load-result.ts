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
  /** Failures by error code (`ERR_GRPC_STATUS:14`, `ERR_POOL_CLOSED`, ...). */
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

function failureKey(error: unknown): string {
  const e = error as { code?: unknown; status?: unknown };
  if (typeof e?.code === 'string') return typeof e.status === 'number' ? `${e.code}:${e.status}` : e.code;
  return error instanceof Error ? error.name : 'unknown';
}
