import fc from 'fast-check';
import { AttemptListener } from './attempt-listener.js';
import { backoffViolations, lockstepViolation, nominalSchedule, SPEC_JITTER } from './backoff-protocol.js';
import type { LoopLag } from './loop-lag.js';
import {
  backoffOptions,
  type CallRecord,
  choiceField,
  intField,
  readStep,
  type StackUnderTest,
  statusText,
  stepText,
  timedCall,
  violation,
} from './scenario-kit.js';

const BACKOFF_DOC = 'connection-backoff.md';
const WFR_DOC = 'wait-for-ready.md';

/** How long a run watches a channel retry: long enough for 4 to 8 attempts with the options generated. */
export const BACKOFF_HORIZON_MS = 2_000;
/** Most attempts a run waits for. */
const MOST_ATTEMPTS = 8;
/** A call that is not wait-for-ready, on a channel that cannot connect, must fail within this (plus the run's tolerance). */
export const FAIL_FAST_MS = 250;
/** Deadline of those calls: far beyond FAIL_FAST_MS, so that a call that waits is told apart from one that fails fast. */
export const FAIL_FAST_DEADLINE_MS = 2_000;

/**
 * A server that is down (every connection attempt refused) and 1 or 2 channels to it, each
 * connected ahead of use, with its reconnect backoff options set on the key or on the connector,
 * and optionally calls (not wait-for-ready) at a steady pace. The listener in place of the server
 * counts and times each attempt on its side of the socket.
 *
 * Checks, per channel: the attempts follow the backoff protocol (connection-backoff.md: first
 * retry after INITIAL_BACKOFF, each later wait the previous times MULTIPLIER within JITTER, capped
 * at MAX_BACKOFF; `backoffViolations`), and the channel keeps retrying (gRFC A62: pick_first, once
 * every address failed, reports TRANSIENT_FAILURE and retries with backoff until a connection
 * succeeds); two channels started together do not retry in lockstep (connection-backoff.md asks
 * that backoffs started together disperse); every call fails UNAVAILABLE within FAIL_FAST_MS
 * (wait-for-ready.md: an RPC that is not wait-for-ready fails at once while its channel is in
 * TRANSIENT_FAILURE, and is not failed for CONNECTING).
 */
export class BackoffScenario {
  readonly kind = 'backoff';
  constructor(
    readonly initialMs: number,
    readonly maxMs: number,
    readonly optionsAt: 'key' | 'connector',
    readonly refuse: 'reset' | 'close',
    /** 0: no calls. */
    readonly callEveryMs: number,
    readonly channels: 1 | 2,
  ) {}

  toString(): string {
    return stepText(this.kind, {
      initial: `${this.initialMs}ms`,
      max: `${this.maxMs}ms`,
      at: this.optionsAt,
      refuse: this.refuse,
      calls: this.callEveryMs === 0 ? 'none' : `${this.callEveryMs}ms`,
      channels: this.channels,
    });
  }

  static parse(text: string): BackoffScenario {
    const f = readStep(text, 'backoff', ['initial', 'max', 'at', 'refuse', 'calls', 'channels']);
    const initial = intField(text, f, 'initial', 1, 60_000);
    return new BackoffScenario(
      initial,
      intField(text, f, 'max', initial, 120_000),
      choiceField(text, f, 'at', ['key', 'connector'] as const),
      choiceField(text, f, 'refuse', ['reset', 'close'] as const),
      f.calls === 'none' ? 0 : intField(text, f, 'calls', 1, 10_000),
      intField(text, f, 'channels', 1, 2) as 1 | 2,
    );
  }

  /** Small options (INITIAL 50-200 ms, MAX up to 1 s) so that a run sees several attempts within about 2 s. */
  static arbitrary(): fc.Arbitrary<BackoffScenario> {
    return fc
      .record({
        initialMs: fc.integer({ min: 50, max: 200 }),
        maxExtraMs: fc.integer({ min: 0, max: 800 }),
        optionsAt: fc.constantFrom('key' as const, 'connector' as const),
        refuse: fc.constantFrom('reset' as const, 'close' as const),
        callEveryMs: fc.oneof(fc.constant(0), fc.integer({ min: 30, max: 150 })),
        channels: fc.constantFrom(1 as const, 2 as const),
      })
      .map((r) => new BackoffScenario(r.initialMs, r.initialMs + r.maxExtraMs, r.optionsAt, r.refuse, r.callEveryMs, r.channels));
  }

  async run(stack: StackUnderTest, lag: LoopLag): Promise<void> {
    const params = { initialMs: this.initialMs, maxMs: this.maxMs };
    const options = backoffOptions(this.initialMs, this.maxMs);
    const listeners: AttemptListener[] = [];
    const calls: CallRecord[] = [];
    const pending: Promise<void>[] = [];
    let calling = true;
    // Attempts the nominal schedule makes within the horizon, the first included.
    const wanted = Math.min(MOST_ATTEMPTS, 1 + nominalSchedule(params, BACKOFF_HORIZON_MS).length);
    try {
      for (let i = 0; i < this.channels; i++) listeners.push(await AttemptListener.start(this.refuse));
      const connector = stack.connector(this.optionsAt === 'connector' ? options : {});
      const pool = stack.pool(connector, 'connectivity-backoff');
      const keyOptions = this.optionsAt === 'key' ? options : {};
      // Connect ahead of use, both channels in the same turn: "started at the same time".
      await Promise.all(listeners.map((l) => stack.add(pool, l.address, keyOptions)));
      if (this.callEveryMs > 0) {
        for (const l of listeners) {
          const client = stack.client(pool, l.address, keyOptions);
          pending.push(
            (async () => {
              while (calling) {
                const { record, done } = timedCall(() => client.call({}, { deadlineMs: FAIL_FAST_DEADLINE_MS }));
                calls.push(record);
                await done;
                await new Promise((resolve) => setTimeout(resolve, this.callEveryMs));
              }
            })(),
          );
        }
      }
      await Promise.all(listeners.map((l) => this.#watch(l, wanted)));
      const watchedUntil = performance.now();
      calling = false;
      await Promise.all(pending);
      await stack.closeAll();
      this.#judge(listeners, watchedUntil, calls, lag.toleranceMs(), params);
    } finally {
      calling = false;
      await stack.closeAll();
      await Promise.all(listeners.map((l) => l.close()));
    }
  }

  /**
   * Waits for `wanted` attempts, each within the cap of the one before plus half a second: a channel
   * that waits longer is already wrong (the open wait is judged), and the run need not wait on.
   */
  async #watch(listener: AttemptListener, wanted: number): Promise<void> {
    if (!(await listener.waitForAttempts(1, 5_000))) return;
    const openLimit = this.maxMs * (1 + SPEC_JITTER) + 500;
    while (listener.attempts.length < wanted) {
      if (!(await listener.waitForAttempts(listener.attempts.length + 1, openLimit))) return;
    }
  }

  #judge(
    listeners: readonly AttemptListener[],
    watchedUntil: number,
    calls: readonly CallRecord[],
    toleranceMs: number,
    params: { initialMs: number; maxMs: number },
  ): void {
    const tol = Math.round(toleranceMs);
    for (const [i, l] of listeners.entries()) {
      const attempts = l.attempts.filter((t) => t <= watchedUntil);
      const last = attempts.at(-1);
      if (last === undefined) throw violation('gRFC A62', `channel ${i} never tried to connect (connected ahead of use)`);
      const found = backoffViolations(attempts, params, toleranceMs);
      if (found.length) throw violation(BACKOFF_DOC, `channel ${i}: ${found[0]} (tolerance ${tol} ms)`);
      const open = watchedUntil - last;
      const cap = this.maxMs * (1 + SPEC_JITTER) + toleranceMs;
      if (open > cap) {
        throw violation(
          `${BACKOFF_DOC} MAX_BACKOFF; gRFC A62`,
          `channel ${i}: no retry for ${Math.round(open)} ms after its attempt ${attempts.length} (MAX_BACKOFF ${this.maxMs} ms with jitter and tolerance ${tol} ms allows ${Math.round(cap)} ms; in TRANSIENT_FAILURE it must keep retrying)`,
        );
      }
    }
    const [a, b] = listeners;
    if (a && b) {
      const lockstep = lockstepViolation(a.attempts, b.attempts, 2);
      if (lockstep) throw violation(BACKOFF_DOC, lockstep);
    }
    for (const call of calls) {
      const took = (call.endedMs ?? performance.now()) - call.startedMs;
      if (call.outcome !== 14 || took > FAIL_FAST_MS + toleranceMs) {
        throw violation(
          WFR_DOC,
          `a call (not wait-for-ready) on a channel that cannot connect ended ${statusText(call.outcome)} after ${Math.round(took)} ms; it must fail UNAVAILABLE within ${FAIL_FAST_MS} ms + tolerance ${tol} ms (deadline ${FAIL_FAST_DEADLINE_MS} ms)`,
        );
      }
    }
  }
}
