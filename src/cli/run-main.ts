import { exitCodeOf } from './cli-errors.js';
import { EXIT } from './exit-codes.js';
import { STOP_EXIT, StopSignal } from './stop-signal.js';

/** How long a stopped run may take to write its partial results and clean up before it is cut short. */
const STOP_GRACE_MS = 10_000;

/**
 * Signals this soon after the first are copies of it, not a second Ctrl-C: a terminal's Ctrl-C and
 * `timeout` signal the whole process group, and `npm run` relays the signal to its child again.
 */
export const SAME_SIGNAL_WINDOW_MS = 1_000;

export interface RunMainOptions {
  /**
   * Turn SIGINT/SIGTERM into a `StopSignal` the main loop watches (default false: the signal ends
   * the process as Node does by default). A second signal exits at once, after the cleanups.
   */
  readonly stoppable?: boolean;
}

/**
 * Runs a CLI's main and turns its outcome into an exit code: its return value; 2 on `UsageError`;
 * 3 on an I/O or environment error; 1 on anything else; 130/143 when stopped by SIGINT/SIGTERM and
 * 141 when stdout was closed (EPIPE), whatever main returned. Errors print one line, no stack.
 */
export function runMain(main: (stop: StopSignal) => Promise<number>, options: RunMainOptions = {}): void {
  const stop = new StopSignal();
  let exiting = false;
  let finished = false;
  const exitNow = async (code: number): Promise<void> => {
    if (exiting) return;
    exiting = true;
    await stop.cleanup();
    process.exit(code);
  };

  // Output closed under us (piped into `head`): stop quietly instead of dying on an unhandled 'error'.
  for (const stream of [process.stdout, process.stderr]) {
    stream.on('error', (error: NodeJS.ErrnoException) => {
      if (error.code === 'EPIPE') {
        stop.trigger('EPIPE');
        // Main may be done already, its last lines in flight: exit as a SIGPIPE would have ended it.
        if (finished) process.exitCode = EXIT.sigpipe;
      } else {
        void exitNow(EXIT.environment);
      }
    });
  }
  if (options.stoppable) {
    let firstSignalAt: number | undefined;
    for (const signal of ['SIGINT', 'SIGTERM'] as const) {
      process.on(signal, () => {
        const now = performance.now();
        if (stop.stopped) {
          // Copies of the first signal (the terminal signals the whole group; npm relays it again)
          // arrive within milliseconds: only a later, deliberate one means "exit now".
          if (firstSignalAt !== undefined && now - firstSignalAt < SAME_SIGNAL_WINDOW_MS) return;
          void exitNow(STOP_EXIT[signal]);
          return;
        }
        firstSignalAt = now;
        stop.trigger(signal);
        if (signal === 'SIGINT') process.stderr.write('stopping: writing what was found (Ctrl-C again to exit at once)\n');
        setTimeout(() => void exitNow(STOP_EXIT[signal]), STOP_GRACE_MS).unref();
      });
    }
  }

  main(stop).then(
    async (code) => {
      finished = true;
      if (stop.reason) await exitNow(STOP_EXIT[stop.reason]);
      await stop.cleanup();
      process.exitCode = code;
      exitEvenIfSomethingLingers(code);
    },
    async (error: unknown) => {
      finished = true;
      if (stop.reason) return exitNow(STOP_EXIT[stop.reason]);
      const code = exitCodeOf(error);
      const e = error as { code?: string; message?: string };
      const prefix = code === EXIT.usage ? 'error' : `error${e?.code ? ` [${e.code}]` : ''}`;
      process.stderr.write(`${prefix}: ${e?.message ?? String(error)}\n${code === EXIT.usage ? '(see --help)\n' : ''}`);
      await stop.cleanup();
      process.exitCode = code;
      exitEvenIfSomethingLingers(code);
    },
  );
}

/**
 * The work is done and reported: the process should end now. Something left behind (a timer of an
 * abandoned run, a socket a library keeps) must not hold it for minutes, as an abandoned schedule
 * of the model checker once did: after a grace it exits anyway. The timer is unref'd, so a process
 * with nothing left exits at once, as before.
 */
function exitEvenIfSomethingLingers(code: number): void {
  setTimeout(() => process.exit(code), 2_000).unref();
}
