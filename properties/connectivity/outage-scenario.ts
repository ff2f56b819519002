import fc from 'fast-check';
import { TestServer } from '../../src/server/test-server.js';
import { setUp } from '../outcomes.js';
import { AttemptListener } from './attempt-listener.js';
import { SPEC_JITTER } from './backoff-protocol.js';
import { FAIL_FAST_DEADLINE_MS, FAIL_FAST_MS } from './backoff-scenario.js';
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

const WFR_DOC = 'wait-for-ready.md';
const RECOVERY_SPEC = 'connection-backoff.md MAX_BACKOFF; gRFC A62 sticky TRANSIENT_FAILURE';
/** Deadline of the wait-for-ready call: longer than any outage a run makes plus the recovery bound. */
const WAIT_FOR_READY_DEADLINE_MS = 6_000;
/** Beyond the backoff bound: the HTTP/2 handshake and one call on loopback. */
const CONNECT_AND_CALL_MS = 100;

/**
 * A server that is down (attempts refused) for `downFor` of the channel's attempts, then back at
 * the same address; meanwhile, optionally, a wait-for-ready call and calls (not wait-for-ready) at
 * a steady pace through the pool client.
 *
 * Checks:
 * - fail fast (wait-for-ready.md: an RPC that is not wait-for-ready fails at once while the channel
 *   is in TRANSIENT_FAILURE, and waits only while it is CONNECTING, which on loopback lasts
 *   milliseconds): every paced call ends within FAIL_FAST_MS, UNAVAILABLE or OK;
 * - wait for ready (wait-for-ready.md: a wait-for-ready RPC is queued, not failed, until the
 *   channel is READY, and fails only for unrelated reasons such as its deadline): the
 *   wait-for-ready call does not end while the server is down, and succeeds once it is back;
 * - recovery (connection-backoff.md: no wait exceeds MAX_BACKOFF plus jitter; gRFC A62: in
 *   TRANSIENT_FAILURE pick_first keeps retrying until a connection succeeds): the server, by its own
 *   count, accepts the channel's connection within (1 + JITTER) MAX_BACKOFF of coming back, and the
 *   next call on the key succeeds within that bound (plus one pace), every later one too.
 */
export class OutageScenario {
  readonly kind = 'outage';
  constructor(
    readonly initialMs: number,
    readonly maxMs: number,
    readonly refuse: 'reset' | 'close',
    readonly downFor: number,
    readonly waitForReady: boolean,
    /** 0: no paced calls. */
    readonly callEveryMs: number,
  ) {}

  toString(): string {
    return stepText(this.kind, {
      initial: `${this.initialMs}ms`,
      max: `${this.maxMs}ms`,
      refuse: this.refuse,
      down: `${this.downFor} attempts`,
      wfr: this.waitForReady ? 'yes' : 'no',
      calls: this.callEveryMs === 0 ? 'none' : `${this.callEveryMs}ms`,
    });
  }

  static parse(text: string): OutageScenario {
    const f = readStep(text, 'outage', ['initial', 'max', 'refuse', 'down', 'wfr', 'calls']);
    const initial = intField(text, f, 'initial', 1, 60_000);
    return new OutageScenario(
      initial,
      intField(text, f, 'max', initial, 120_000),
      choiceField(text, f, 'refuse', ['reset', 'close'] as const),
      intField(text, { down: (f.down ?? '').replace(/ attempts?$/, '') }, 'down', 1, 20),
      choiceField(text, f, 'wfr', ['yes', 'no'] as const) === 'yes',
      f.calls === 'none' ? 0 : intField(text, f, 'calls', 1, 10_000),
    );
  }

  static arbitrary(): fc.Arbitrary<OutageScenario> {
    return fc
      .record({
        initialMs: fc.integer({ min: 50, max: 200 }),
        maxExtraMs: fc.integer({ min: 0, max: 800 }),
        refuse: fc.constantFrom('reset' as const, 'close' as const),
        downFor: fc.integer({ min: 1, max: 3 }),
        waitForReady: fc.boolean(),
        callEveryMs: fc.oneof(fc.constant(0), fc.integer({ min: 30, max: 150 })),
      })
      .map(
        (r) => new OutageScenario(r.initialMs, r.initialMs + r.maxExtraMs, r.refuse, r.downFor, r.waitForReady, r.callEveryMs),
      );
  }

  async run(stack: StackUnderTest, lag: LoopLag): Promise<void> {
    const listener = await setUp('start a refusing listener', () => AttemptListener.start(this.refuse));
    let server: TestServer | undefined;
    let calling = true;
    const paced: CallRecord[] = [];
    const pending: Promise<void>[] = [];
    try {
      const options = backoffOptions(this.initialMs, this.maxMs);
      const pool = stack.pool(stack.connector(), 'connectivity-outage');
      const client = stack.client(pool, listener.address, options);
      await stack.add(pool, listener.address, options);
      const waiting = this.waitForReady
        ? timedCall(() => client.call({}, { deadlineMs: WAIT_FOR_READY_DEADLINE_MS, waitForReady: true }))
        : undefined;
      if (waiting) pending.push(waiting.done);
      let firstOkAt: number | undefined;
      let okAfterFirst = 0;
      if (this.callEveryMs > 0) {
        pending.push(
          (async () => {
            while (calling) {
              const { record, done } = timedCall(() => client.call({}, { deadlineMs: FAIL_FAST_DEADLINE_MS }));
              paced.push(record);
              await done;
              if (record.outcome === 'ok') {
                firstOkAt ??= record.endedMs;
                okAfterFirst += 1;
              }
              // Enough seen once the key served a few calls in a row.
              if (okAfterFirst >= 3) return;
              await new Promise((resolve) => setTimeout(resolve, this.callEveryMs));
            }
          })(),
        );
      }
      const patience = 2 * (this.downFor * this.maxMs + 2_000);
      if (!(await listener.waitForAttempts(this.downFor, patience))) {
        throw violation(
          'gRFC A62',
          `the channel made ${listener.attempts.length} attempt(s) in ${patience} ms while the server was down; it must keep retrying`,
        );
      }
      await listener.close();
      server = await setUp('start the test server at the address that was down', () =>
        TestServer.start({ host: listener.host, port: listener.port }),
      );
      const upAt = performance.now();
      const generous = this.maxMs * (1 + SPEC_JITTER) + 5_000;
      const connectedAt = await server.ledger
        .waitUntil((s) => s.acceptedConnections >= 1, generous, 'the channel reconnected')
        .then(
          () => performance.now(),
          () => undefined,
        );
      // The paced calls end on their own after a few successes; a stack that never recovers is cut off here.
      const stopAt = upAt + generous;
      while (this.callEveryMs > 0 && okAfterFirst < 3 && performance.now() < stopAt) {
        await Promise.race([Promise.all(pending), new Promise((resolve) => setTimeout(resolve, 50))]);
      }
      calling = false;
      await Promise.all(pending);
      this.#judge({ upAt, connectedAt, firstOkAt, paced, waiting: waiting?.record, toleranceMs: lag.toleranceMs() });
    } finally {
      calling = false;
      await Promise.all(pending);
      await stack.closeAll();
      await listener.close();
      await server?.close();
    }
  }

  #judge(o: {
    upAt: number;
    connectedAt: number | undefined;
    firstOkAt: number | undefined;
    paced: readonly CallRecord[];
    waiting: CallRecord | undefined;
    toleranceMs: number;
  }): void {
    const tol = Math.round(o.toleranceMs);
    const backoffBound = this.maxMs * (1 + SPEC_JITTER) + o.toleranceMs;
    const since = (t: number) => `${Math.round(t - o.upAt)} ms after the server came back`;
    // On loopback a connection attempt ends within milliseconds either way: a call that is not
    // wait-for-ready waits at most for the one under way, so it ends, failed or served, at once.
    for (const call of o.paced) {
      const took = (call.endedMs ?? performance.now()) - call.startedMs;
      if ((call.outcome !== 14 && call.outcome !== 'ok') || took > FAIL_FAST_MS + o.toleranceMs) {
        throw violation(
          WFR_DOC,
          `a call (not wait-for-ready) ${call.startedMs < o.upAt ? 'started while the server was down' : 'started after the server came back'} ended ${statusText(call.outcome)} after ${Math.round(took)} ms; it must fail UNAVAILABLE, or succeed, within ${FAIL_FAST_MS} ms + tolerance ${tol} ms (deadline ${FAIL_FAST_DEADLINE_MS} ms)`,
        );
      }
    }
    const w = o.waiting;
    if (w) {
      if (w.endedMs !== undefined && w.endedMs < o.upAt) {
        throw violation(
          WFR_DOC,
          `the wait-for-ready call ended ${statusText(w.outcome)} while the server was down; it must wait`,
        );
      }
      if (w.outcome !== 'ok') {
        throw violation(
          WFR_DOC,
          `the wait-for-ready call ended ${statusText(w.outcome)}; it must succeed once the server is back`,
        );
      }
    }
    if (o.connectedAt === undefined || o.connectedAt - o.upAt > backoffBound) {
      throw violation(
        RECOVERY_SPEC,
        `the server saw the channel's connection ${o.connectedAt === undefined ? 'never' : since(o.connectedAt)}; MAX_BACKOFF ${this.maxMs} ms with jitter and tolerance ${tol} ms allows ${Math.round(backoffBound)} ms`,
      );
    }
    const bound = backoffBound + CONNECT_AND_CALL_MS;
    if (w?.endedMs !== undefined && w.endedMs - o.upAt > bound) {
      throw violation(
        RECOVERY_SPEC,
        `the wait-for-ready call succeeded only ${since(w.endedMs)}; the backoff bound is ${Math.round(bound)} ms`,
      );
    }
    if (this.callEveryMs > 0) {
      if (o.firstOkAt === undefined || o.firstOkAt - o.upAt > bound + this.callEveryMs) {
        throw violation(
          RECOVERY_SPEC,
          `the first call to succeed did so ${o.firstOkAt === undefined ? 'never' : since(o.firstOkAt)}; with a call every ${this.callEveryMs} ms the backoff bound is ${Math.round(bound + this.callEveryMs)} ms`,
        );
      }
      const firstOk = o.firstOkAt;
      const failedLater = o.paced.find((c) => c.startedMs > firstOk && c.outcome !== 'ok');
      if (failedLater) {
        throw violation(RECOVERY_SPEC, `a call started after the key recovered ended ${statusText(failedLater.outcome)}`);
      }
    }
  }
}
