import fc from 'fast-check';
import { setUp } from '../outcomes.js';
import { ProgramTextError } from '../parallel/program-text.js';
import { AttemptListener } from './attempt-listener.js';
import type { LoopLag } from './loop-lag.js';
import {
  backoffOptions,
  choiceField,
  intField,
  readStep,
  type StackUnderTest,
  statusText,
  stepText,
  timedCall,
  violation,
} from './scenario-kit.js';

const SPEC = 'wait-for-ready.md; connectivity-semantics-and-api.md SHUTDOWN';
/** A queued call must end within this of its channel's close being asked for (plus the run's tolerance). */
export const CLOSE_PROMPT_MS = 500;

/**
 * A call queued for a connection that has not come, when the connector closes its channel: a
 * wait-for-ready call while the channel is in TRANSIENT_FAILURE (the server refuses every attempt),
 * or a call, wait-for-ready or not, while the channel is CONNECTING (the server accepts TCP and
 * never answers the HTTP/2 handshake). The connector itself is driven here: the pool, by its contract, drains a key's
 * calls before closing its channel, so through the pool no call is queued on a channel it closes.
 *
 * Checks: the queued call has not failed before the close (wait-for-ready.md: a wait-for-ready RPC
 * is queued in TRANSIENT_FAILURE, and no RPC is failed for CONNECTING), and it ends with a status
 * within CLOSE_PROMPT_MS of the close, not at its deadline and not never (wait-for-ready.md: a
 * queued RPC still fails before READY if the channel is SHUTDOWN; connectivity-semantics-and-api.md:
 * a channel being shut down fails new RPCs at once).
 */
export class CloseQueuedScenario {
  readonly kind = 'close-queued';
  constructor(
    readonly queuedIn: 'transient-failure' | 'connecting',
    /** Always true in TRANSIENT_FAILURE, where only a wait-for-ready call is queued. */
    readonly waitForReady: boolean,
    readonly deadlineMs: number,
  ) {}

  toString(): string {
    return stepText(this.kind, { in: this.queuedIn, wfr: this.waitForReady ? 'yes' : 'no', deadline: `${this.deadlineMs}ms` });
  }

  static parse(text: string): CloseQueuedScenario {
    const f = readStep(text, 'close-queued', ['in', 'wfr', 'deadline']);
    const queuedIn = choiceField(text, f, 'in', ['transient-failure', 'connecting'] as const);
    const wfr = choiceField(text, f, 'wfr', ['yes', 'no'] as const) === 'yes';
    if (queuedIn === 'transient-failure' && !wfr) {
      throw new ProgramTextError(text, 'only a wait-for-ready call is queued in TRANSIENT_FAILURE');
    }
    return new CloseQueuedScenario(queuedIn, wfr, intField(text, f, 'deadline', 1, 60_000));
  }

  static arbitrary(): fc.Arbitrary<CloseQueuedScenario> {
    return fc
      .record({
        queuedIn: fc.constantFrom('transient-failure' as const, 'connecting' as const),
        waitForReady: fc.boolean(),
        deadlineMs: fc.integer({ min: 1_500, max: 3_000 }),
      })
      .map((r) => new CloseQueuedScenario(r.queuedIn, r.queuedIn === 'transient-failure' || r.waitForReady, r.deadlineMs));
  }

  async run(stack: StackUnderTest, lag: LoopLag): Promise<void> {
    const connecting = this.queuedIn === 'connecting';
    const listener = await setUp('start a listener', () => AttemptListener.start(connecting ? 'blackhole' : 'reset'));
    const connector = stack.connector();
    const connection = await connector.connect({
      keyId: 'connectivity-close-queued',
      address: listener.address,
      credentials: undefined,
      channelOptions: backoffOptions(50, 200),
    });
    const { record, done } = timedCall(() =>
      connector.call(connection, { requestId: `close-queued-${Date.now()}`, waitForReady: this.waitForReady }, this.deadlineMs),
    );
    let closed = false;
    try {
      // In TRANSIENT_FAILURE once an attempt has been refused; CONNECTING while the one accepted is held.
      await listener.waitForAttempts(connecting ? 1 : 2, 5_000);
      if (record.endedMs !== undefined) {
        throw violation(
          SPEC,
          `the ${this.waitForReady ? 'wait-for-ready call' : 'call'} ended ${statusText(record.outcome)} while its channel was ${connecting ? 'CONNECTING' : 'in TRANSIENT_FAILURE'}, before the close; it must stay queued`,
        );
      }
      const closing = performance.now();
      closed = true;
      await connector.close(connection);
      await Promise.race([done, new Promise((resolve) => setTimeout(resolve, this.deadlineMs + 1_000))]);
      const tol = lag.toleranceMs();
      const took = record.endedMs === undefined ? undefined : record.endedMs - closing;
      if (took === undefined || took > CLOSE_PROMPT_MS + tol || record.outcome === 'ok' || record.outcome === 4) {
        throw violation(
          SPEC,
          `a call queued on a channel (${this.queuedIn}) that was then closed ended ${took === undefined ? 'never' : `${statusText(record.outcome)} ${Math.round(took)} ms after the close`}; it must end with a status within ${CLOSE_PROMPT_MS} ms + tolerance ${Math.round(tol)} ms (deadline ${this.deadlineMs} ms)`,
        );
      }
    } finally {
      // Whatever the stack did, nothing is left open: the channel is closed here too (idempotent).
      if (!closed) await connector.close(connection);
      connection.client.close();
      await done;
      await listener.close();
    }
  }
}
