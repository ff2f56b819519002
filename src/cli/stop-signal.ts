import { EXIT } from './exit-codes.js';

/** Why a run is stopping early. */
export type StopReason = 'SIGINT' | 'SIGTERM' | 'EPIPE';

/** The exit code of a run stopped for `reason`. */
export const STOP_EXIT: Readonly<Record<StopReason, number>> = {
  SIGINT: EXIT.sigint,
  SIGTERM: EXIT.sigterm,
  EPIPE: EXIT.sigpipe,
};

/** What `StopSignal.race` resolves with when the stop came first. */
export const STOPPED: unique symbol = Symbol('stopped');

/**
 * A request to stop a CLI's run early (a signal, or stdout closed), and the cleanups to run before
 * the process exits (child processes to end, a terminal to restore). The main loop checks
 * `stopped` between units of work and races long awaits against `promise`.
 */
export class StopSignal {
  #reason: StopReason | undefined;
  #resolve: (reason: StopReason) => void = () => {};
  readonly #cleanups: Array<() => void | Promise<void>> = [];
  /** Resolves with the reason when a stop is requested; never rejects. */
  readonly promise: Promise<StopReason> = new Promise((resolve) => {
    this.#resolve = resolve;
  });

  get reason(): StopReason | undefined {
    return this.#reason;
  }

  get stopped(): boolean {
    return this.#reason !== undefined;
  }

  /** Requests a stop; the first reason wins. */
  trigger(reason: StopReason): void {
    if (this.#reason !== undefined) return;
    this.#reason = reason;
    this.#resolve(reason);
  }

  /**
   * Lets the event loop turn once, then says whether a stop was requested. Call it between units of
   * work: a signal is handled only when the loop turns, and the simulated layer can run for
   * seconds on promises alone, which never let it turn.
   */
  async checkpoint(): Promise<boolean> {
    await new Promise<void>((resolve) => setImmediate(resolve));
    return this.stopped;
  }

  /** `work`'s value, or `STOPPED` as soon as a stop is requested (the work is left to be abandoned). */
  race<T>(work: Promise<T>): Promise<T | typeof STOPPED> {
    return Promise.race([work, this.promise.then((): typeof STOPPED => STOPPED)]);
  }

  /** Registers a cleanup run before exit (most recent first); returns a function that unregisters it. */
  onCleanup(cleanup: () => void | Promise<void>): () => void {
    this.#cleanups.push(cleanup);
    return () => {
      const i = this.#cleanups.indexOf(cleanup);
      if (i >= 0) this.#cleanups.splice(i, 1);
    };
  }

  /** Runs (and forgets) every registered cleanup, most recent first; a failing cleanup does not stop the others. */
  async cleanup(): Promise<void> {
    while (this.#cleanups.length > 0) {
      const cleanup = this.#cleanups.pop() as () => void | Promise<void>;
      try {
        await cleanup();
      } catch {
        // Exiting anyway: what could not be cleaned up cannot be fixed here.
      }
    }
  }
}
