import fc from 'fast-check';
import { LedgerWaitTimeoutError } from '../../src/server/errors.js';
import { TestServer } from '../../src/server/test-server.js';
import { setUp } from '../outcomes.js';
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

const SPEC = 'connectivity-semantics-and-api.md IDLE; gRFC A62 Background';

/**
 * A channel that served calls, whose connection then drops while no call is pending: the server
 * sends GOAWAY (`goaway`), or is killed and restarted at once (`restart`). For `windowMs` nothing
 * asks for a connection; then one call does.
 *
 * Checks: no connection is opened during the window, counted by the server on its own sockets
 * (connectivity-semantics-and-api.md: a READY channel that gets a GOAWAY with no RPC pending goes
 * IDLE, and an IDLE channel does not try to connect until an RPC comes; gRFC A62: once its
 * connection breaks, pick_first does not reconnect until the application asks or makes an RPC);
 * then the call succeeds over exactly one new connection (IDLE leaves for CONNECTING on new RPC
 * activity).
 *
 * The window is the one wait here that is not for an event: showing that something does not
 * happen takes watching for a while. 300 to 800 ms is several times what an eager reconnect takes
 * on loopback.
 */
export class IdleScenario {
  readonly kind = 'idle';
  constructor(
    readonly callsBefore: number,
    readonly drop: 'goaway' | 'restart',
    readonly windowMs: number,
  ) {}

  toString(): string {
    return stepText(this.kind, { calls: this.callsBefore, drop: this.drop, window: `${this.windowMs}ms` });
  }

  static parse(text: string): IdleScenario {
    const f = readStep(text, 'idle', ['calls', 'drop', 'window']);
    return new IdleScenario(
      intField(text, f, 'calls', 1, 10),
      choiceField(text, f, 'drop', ['goaway', 'restart'] as const),
      intField(text, f, 'window', 1, 10_000),
    );
  }

  static arbitrary(): fc.Arbitrary<IdleScenario> {
    return fc
      .record({
        calls: fc.integer({ min: 1, max: 3 }),
        drop: fc.constantFrom('goaway' as const, 'restart' as const),
        windowMs: fc.integer({ min: 300, max: 800 }),
      })
      .map((r) => new IdleScenario(r.calls, r.drop, r.windowMs));
  }

  async run(stack: StackUnderTest, _lag: LoopLag): Promise<void> {
    const server = await setUp('start a test server', () => TestServer.start());
    try {
      // Fast reconnect options, so that an eager reconnect would come well inside the window.
      const options = backoffOptions(50, 200);
      const pool = stack.pool(stack.connector(), 'connectivity-idle');
      const client = stack.client(pool, server.address, options);
      for (let i = 0; i < this.callsBefore; i++) {
        const { record, done } = timedCall(() => client.call({}, { deadlineMs: 5_000 }));
        await done;
        if (record.outcome !== 'ok') {
          throw violation(SPEC, `call ${i + 1} to a server that is up ended ${statusText(record.outcome)}`);
        }
      }
      // Counted from before the drop: a reconnect while the old connection is still closing counts too.
      const before = server.ledger.snapshot().acceptedConnections;
      // Each resolves once the connections open at the drop have closed.
      if (this.drop === 'goaway') await server.goAway(1_000);
      else {
        await server.kill();
        await server.restart();
      }
      const reopened = await server.ledger
        .waitUntil((s) => s.acceptedConnections > before, this.windowMs, 'a connection opened with no call pending')
        .then(
          () => true,
          (error: unknown) => {
            if (error instanceof LedgerWaitTimeoutError) return false;
            throw error;
          },
        );
      if (reopened) {
        throw violation(
          SPEC,
          `after the connection dropped (${this.drop}) with no call pending, the channel opened a new one within ${this.windowMs} ms, before any call asked for it`,
        );
      }
      const { record, done } = timedCall(() => client.call({}, { deadlineMs: 5_000 }));
      await done;
      if (record.outcome !== 'ok') {
        throw violation(
          SPEC,
          `the first call after the drop ended ${statusText(record.outcome)}; an IDLE channel connects for it`,
        );
      }
      const opened = server.ledger.snapshot().acceptedConnections - before;
      if (opened !== 1) {
        throw violation(SPEC, `the first call after the drop opened ${opened} connections (the server's count); one was due`);
      }
    } finally {
      await stack.closeAll();
      await server.close();
    }
  }
}
