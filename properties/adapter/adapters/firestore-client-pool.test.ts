import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { LoadTestMetrics } from '../../../src/metrics/load-test-metrics.js';
import type {
  Connection,
  Connector,
  ConnectTarget,
  HealthStatus,
  UnaryReply,
  UnaryRequest,
} from '../../../src/pool/connector.js';
import { GrpcStatusError } from '../../../src/pool/errors.js';
import type { PoolUnderTest } from '../adapter.js';
import { firestoreClientPoolAdapter } from './firestore-client-pool.js';

/** What the adapter declares: the property below holds the pool to it. */
const { callsPerConnection, idleKeptPerKey } = firestoreClientPoolAdapter.contract;

// The adapter over Firestore's ClientPool, driven outside the suite over an in-memory connector
// that counts what reaches it and holds every call open until the test settles it. Everything
// asserted is counted by the fake connector or seen by the caller, never read back from the adapter.

interface Deferred<T> {
  readonly promise: Promise<T>;
  resolve(value: T): void;
  reject(error: unknown): void;
}

function deferred<T>(): Deferred<T> {
  let resolve!: (value: T) => void;
  let reject!: (error: unknown) => void;
  const promise = new Promise<T>((res, rej) => {
    resolve = res;
    reject = rej;
  });
  return { promise, resolve, reject };
}

interface PendingCall {
  readonly connection: Connection;
  readonly requestId: string;
  readonly answer: Deferred<UnaryReply>;
}

/** A connector that records everything and holds calls (and, when asked, closes and connects) open. */
class FakeConnector implements Connector {
  readonly opened: Connection[] = [];
  readonly closed: Connection[] = [];
  readonly pending: PendingCall[] = [];
  readonly inFlight = new Map<Connection, number>();
  /** Most calls seen in flight on one connection at once. */
  maxInFlight = 0;
  /** Broken promises, named: a call on a closed connection, a close with calls in flight, a double close. */
  readonly violations: string[] = [];
  /** When set, closes wait for the test to release them. */
  holdCloses = false;
  readonly heldCloses: Array<{ connection: Connection; done: Deferred<void> }> = [];
  /** Connects that fail, counted down. */
  failConnects = 0;
  connectAttempts = 0;
  #nextId = 1;

  async connect(target: ConnectTarget): Promise<Connection> {
    this.connectAttempts += 1;
    await Promise.resolve();
    if (this.failConnects > 0) {
      this.failConnects -= 1;
      throw new Error('connect refused (fake)');
    }
    const c: Connection = { id: this.#nextId++, keyId: target.keyId, address: target.address };
    this.opened.push(c);
    this.inFlight.set(c, 0);
    return c;
  }

  async close(connection: Connection): Promise<void> {
    if (this.closed.includes(connection)) this.violations.push(`#${connection.id} closed twice`);
    if ((this.inFlight.get(connection) ?? 0) > 0) this.violations.push(`#${connection.id} closed with calls in flight`);
    if (this.holdCloses) {
      const done = deferred<void>();
      this.heldCloses.push({ connection, done });
      await done.promise;
    }
    this.closed.push(connection);
  }

  call(connection: Connection, request: UnaryRequest, _deadlineMs: number): Promise<UnaryReply> {
    return this.#exchange(connection, request.requestId);
  }

  async health(connection: Connection, _service: string, _deadlineMs: number): Promise<HealthStatus> {
    await this.#exchange(connection, 'health');
    return 'SERVING';
  }

  async #exchange(connection: Connection, requestId: string): Promise<UnaryReply> {
    if (this.closed.includes(connection) || this.heldCloses.some((h) => h.connection === connection)) {
      this.violations.push(`${requestId} on closed #${connection.id}`);
    }
    const now = (this.inFlight.get(connection) ?? 0) + 1;
    this.inFlight.set(connection, now);
    this.maxInFlight = Math.max(this.maxInFlight, now);
    const answer = deferred<UnaryReply>();
    this.pending.push({ connection, requestId, answer });
    try {
      return await answer.promise;
    } finally {
      this.inFlight.set(connection, (this.inFlight.get(connection) ?? 1) - 1);
    }
  }

  /** Answers the pending call at `index` (in order of arrival), or fails it with `error`. */
  settle(index: number, error?: Error): PendingCall {
    const [p] = this.pending.splice(index, 1);
    if (!p) throw new Error(`no pending call at ${index}`);
    if (error) p.answer.reject(error);
    else p.answer.resolve(reply(p.requestId, p.connection));
    return p;
  }

  /** Connections open now at `address` (made and not yet closed, nor being closed). */
  openAt(address: string): number {
    const closing = new Set(this.heldCloses.map((h) => h.connection));
    return this.opened.filter((c) => c.address === address && !this.closed.includes(c) && !closing.has(c)).length;
  }
}

function reply(requestId: string, c: Connection): UnaryReply {
  return { requestId, payload: new Uint8Array([c.id]), timesSeen: 1, serverId: `fake-${c.id}` };
}

/** Lets every promise chain that can move, move (ClientPool's are microtasks and awaits). */
async function settleDown(): Promise<void> {
  for (let i = 0; i < 10; i++) await new Promise<void>((r) => setImmediate(r));
}

function make(connector: FakeConnector): PoolUnderTest {
  return firestoreClientPoolAdapter.create({ connector, name: 'fcp-test', deadlineMs: 1_000, metrics: new LoadTestMetrics() });
}

const A = '127.0.0.1:50051';
const B = '127.0.0.1:50052';

/** A call whose outcome is recorded (never an unhandled rejection). */
function track<T>(p: Promise<T>): {
  readonly promise: Promise<T>;
  outcome: 'pending' | 'resolved' | 'rejected';
  error?: unknown;
} {
  const t: { promise: Promise<T>; outcome: 'pending' | 'resolved' | 'rejected'; error?: unknown } = {
    promise: p,
    outcome: 'pending',
  };
  p.then(
    () => {
      t.outcome = 'resolved';
    },
    (error: unknown) => {
      t.outcome = 'rejected';
      t.error = error;
    },
  );
  return t;
}

describe('firestore ClientPool adapter', () => {
  it('spreads five concurrent calls over connections of at most two calls, and keeps one when they are done', async () => {
    const connector = new FakeConnector();
    const pool = make(connector);
    const calls = [1, 2, 3, 4, 5].map((i) => pool.call(A, { requestId: `r${i}` }));
    await settleDown();
    expect(connector.pending).toHaveLength(5);
    expect(connector.maxInFlight).toBe(2);
    expect(connector.opened).toHaveLength(3);
    // Out of order: last in first out.
    for (let i = 4; i >= 0; i--) connector.settle(i);
    const replies = await Promise.all(calls);
    expect(replies.map((r) => r.requestId)).toEqual(['r1', 'r2', 'r3', 'r4', 'r5']);
    await settleDown();
    expect(connector.openAt(A)).toBe(1);
    // The kept one is reused: a later call makes no new connection.
    const again = pool.call(A, { requestId: 'r6' });
    await settleDown();
    connector.settle(0);
    await again;
    expect(connector.opened).toHaveLength(3);
    await pool.close();
    expect(connector.closed).toHaveLength(3);
    expect(connector.violations).toEqual([]);
  });

  it('passes a failed call’s GrpcStatusError through unchanged', async () => {
    const connector = new FakeConnector();
    const pool = make(connector);
    const call = track(pool.call(A, { requestId: 'f1' }));
    await settleDown();
    const failure = new GrpcStatusError(14, 'connection refused', '/loadtest.LoadTest/Unary');
    connector.settle(0, failure);
    await settleDown();
    expect(call.outcome).toBe('rejected');
    expect(call.error).toBe(failure);
    expect((call.error as GrpcStatusError).code).toBe('ERR_GRPC_STATUS');
    await pool.close();
  });

  it('health checks go through the pooled connection, under the same limit', async () => {
    const connector = new FakeConnector();
    const pool = make(connector);
    const checks = [pool.health?.(A), pool.health?.(A), pool.call(A, { requestId: 'h3' })];
    await settleDown();
    expect(connector.pending.map((p) => p.requestId)).toEqual(['health', 'health', 'h3']);
    expect(connector.maxInFlight).toBe(2);
    for (let i = 2; i >= 0; i--) connector.settle(i);
    const [h1, h2] = await Promise.all(checks);
    expect([h1, h2]).toEqual(['SERVING', 'SERVING']);
    await pool.close();
    expect(connector.closed).toHaveLength(connector.opened.length);
  });

  it('close waits for calls in flight, then closes every connection; nothing is made after', async () => {
    const connector = new FakeConnector();
    const pool = make(connector);
    const calls = [1, 2, 3].map((i) => track(pool.call(i === 3 ? B : A, { requestId: `c${i}` })));
    await settleDown();
    expect(connector.pending).toHaveLength(3);
    const closed = track(pool.close());
    await settleDown();
    expect(pool.isClosed).toBe(true);
    expect(closed.outcome).toBe('pending');
    expect(connector.closed).toHaveLength(0);
    // Operations after close fail at once, and connect nothing.
    const late = track(pool.call(A, { requestId: 'late' }));
    const lateHealth = track(pool.health?.(B) ?? Promise.resolve('SERVING'));
    const lateRemove = track(pool.remove?.(A) ?? Promise.resolve(true));
    await settleDown();
    for (const t of [late, lateHealth, lateRemove]) {
      expect(t.outcome).toBe('rejected');
      expect((t.error as { code?: string }).code).toBe('ERR_POOL_CLOSED');
    }
    const attempts = connector.connectAttempts;
    connector.settle(1);
    await settleDown();
    expect(closed.outcome).toBe('pending');
    connector.settle(0);
    connector.settle(0);
    await closed.promise;
    expect(calls.map((c) => c.outcome)).toEqual(['resolved', 'resolved', 'resolved']);
    expect(new Set(connector.closed)).toEqual(new Set(connector.opened));
    expect(connector.closed).toHaveLength(connector.opened.length);
    expect(connector.connectAttempts).toBe(attempts);
    expect(connector.violations).toEqual([]);
  });

  it('remove of a key with calls in flight drains it, leaves other keys alone, and the key comes back fresh', async () => {
    const connector = new FakeConnector();
    const pool = make(connector);
    const onA = [1, 2, 3].map((i) => track(pool.call(A, { requestId: `a${i}` })));
    const onB = track(pool.call(B, { requestId: 'b1' }));
    await settleDown();
    const aConnections = new Set(connector.opened.filter((c) => c.address === A));
    expect(aConnections.size).toBe(2);
    const removed = track(pool.remove?.(A) ?? Promise.resolve(false));
    await settleDown();
    expect(removed.outcome).toBe('pending');
    expect(connector.closed).toHaveLength(0);
    // A new call on A while the old ClientPool drains goes to a new connection.
    const fresh = track(pool.call(A, { requestId: 'a4' }));
    await settleDown();
    const a4 = connector.pending.find((p) => p.requestId === 'a4');
    expect(a4 && aConnections.has(a4.connection)).toBe(false);
    for (const id of ['a1', 'a2', 'a3']) connector.settle(connector.pending.findIndex((p) => p.requestId === id));
    await removed.promise;
    expect(removed.outcome).toBe('resolved');
    expect(await removed.promise).toBe(true);
    expect(onA.map((c) => c.outcome)).toEqual(['resolved', 'resolved', 'resolved']);
    expect(new Set(connector.closed)).toEqual(aConnections);
    expect(onB.outcome).toBe('pending');
    expect(fresh.outcome).toBe('pending');
    connector.settle(connector.pending.findIndex((p) => p.requestId === 'b1'));
    connector.settle(connector.pending.findIndex((p) => p.requestId === 'a4'));
    await Promise.all([onB.promise, fresh.promise]);
    expect(await (pool.remove?.('127.0.0.1:1') ?? Promise.resolve(true))).toBe(false);
    await pool.close();
    expect(connector.closed).toHaveLength(connector.opened.length);
    expect(connector.violations).toEqual([]);
  });

  it('close during a remove waits for the removed key’s calls and connections too', async () => {
    const connector = new FakeConnector();
    const pool = make(connector);
    const call = track(pool.call(A, { requestId: 'd1' }));
    await settleDown();
    const removed = track(pool.remove?.(A) ?? Promise.resolve(false));
    const closed = track(pool.close());
    await settleDown();
    expect([removed.outcome, closed.outcome, connector.closed.length]).toEqual(['pending', 'pending', 0]);
    connector.settle(0);
    await closed.promise;
    expect([call.outcome, removed.outcome]).toEqual(['resolved', 'resolved']);
    expect(connector.closed.map((c) => c.id)).toEqual([1]);
    expect(connector.violations).toEqual([]);
  });

  it('a failed connect fails its call with ERR_CONNECT, and the next call on that client connects again', async () => {
    const connector = new FakeConnector();
    connector.failConnects = 1;
    const pool = make(connector);
    const first = track(pool.call(A, { requestId: 'x1' }));
    await settleDown();
    expect(first.outcome).toBe('rejected');
    expect((first.error as { code?: string }).code).toBe('ERR_CONNECT');
    const second = pool.call(A, { requestId: 'x2' });
    await settleDown();
    connector.settle(0);
    expect((await second).requestId).toBe('x2');
    expect(connector.connectAttempts).toBe(2);
    await pool.close();
    expect(connector.closed).toHaveLength(connector.opened.length);
  });

  it('property: any interleaving of calls and answers keeps the declared limits, and close closes all', async () => {
    type Step = { start: 0 | 1 } | { finish: number; fail: 0 | 1 | 2 };
    const step: fc.Arbitrary<Step> = fc.oneof(
      fc.record({ start: fc.constantFrom<0 | 1>(0, 1) }),
      fc.record({ finish: fc.nat(7), fail: fc.constantFrom<0 | 1 | 2>(0, 0, 1, 2) }),
    );
    await fc.assert(
      fc.asyncProperty(fc.array(step, { maxLength: 16 }), fc.array(fc.nat(7), { maxLength: 8 }), async (steps, endOrder) => {
        const connector = new FakeConnector();
        const pool = make(connector);
        const expected = new Map<string, { promise: Promise<UnaryReply>; error?: Error }>();
        const outcomes = new Map<string, ReturnType<typeof track<UnaryReply>>>();
        let n = 0;
        const finish = (pick: number, fail: 0 | 1 | 2) => {
          if (connector.pending.length === 0) return;
          const index = pick % connector.pending.length;
          const requestId = connector.pending[index]?.requestId ?? '';
          // 1: a status that ClientPool ignores; 2: one whose text marks the client failed (RST_STREAM).
          const error =
            fail === 0
              ? undefined
              : fail === 1
                ? new GrpcStatusError(14, 'unavailable', 'Unary')
                : new GrpcStatusError(13, 'Received RST_STREAM with code 2', 'Unary');
          connector.settle(index, error);
          const e = expected.get(requestId);
          if (e && error) e.error = error;
        };
        for (const s of steps) {
          if ('start' in s) {
            const requestId = `q${++n}`;
            const p = pool.call(s.start === 0 ? A : B, { requestId });
            expected.set(requestId, { promise: p });
            outcomes.set(requestId, track(p));
          } else finish(s.finish, s.fail);
          await settleDown();
          expect(connector.maxInFlight).toBeLessThanOrEqual(callsPerConnection);
        }
        for (const pick of endOrder) {
          finish(pick, 0);
          await settleDown();
        }
        while (connector.pending.length > 0) {
          finish(0, 0);
          await settleDown();
        }
        // Every call answered as the connector answered it.
        for (const [requestId, e] of expected) {
          const t = outcomes.get(requestId);
          if (e.error) {
            expect(t?.outcome).toBe('rejected');
            expect(t?.error).toBe(e.error);
          } else {
            expect(t?.outcome).toBe('resolved');
            expect((await e.promise).requestId).toBe(requestId);
          }
        }
        expect(connector.maxInFlight).toBeLessThanOrEqual(callsPerConnection);
        expect(connector.openAt(A)).toBeLessThanOrEqual(idleKeptPerKey);
        expect(connector.openAt(B)).toBeLessThanOrEqual(idleKeptPerKey);
        await pool.close();
        expect(connector.closed).toHaveLength(connector.opened.length);
        expect(connector.violations).toEqual([]);
      }),
      { numRuns: 150 },
    );
  });

  // A known bug in ClientPool, shown here through the adapter (reproduced alone in
  // examples/repros/firestore-client-pool-terminate-before-gc-close.ts): `release` resolves
  // terminate's wait before it garbage-collects its client, and terminate does not wait for that
  // client's close. So close() resolves while a connection is still closing and a call made before
  // it has not settled. This test pins the behaviour as it is; if ClientPool is fixed it fails, and
  // should then assert the contract instead (close pending until #1 is closed and c2 settled).
  it('KNOWN BUG: close resolves while a garbage-collected connection is still closing and its call unsettled', async () => {
    const connector = new FakeConnector();
    connector.holdCloses = true;
    const pool = make(connector);
    // Three calls: #1 carries c1 and c2, #2 carries c3.
    const calls = [1, 2, 3].map((i) => track(pool.call(A, { requestId: `c${i}` })));
    await settleDown();
    expect(connector.pending.map((p) => `${p.requestId}@${p.connection.id}`)).toEqual(['c1@1', 'c2@1', 'c3@2']);
    connector.settle(0);
    connector.settle(0);
    await settleDown();
    // #1 is idle while #2 still has a call: free capacity 3 > 2, so ClientPool closes #1 (held open
    // here), and c2's run() waits for that close.
    expect(connector.heldCloses.map((h) => h.connection.id)).toEqual([1]);
    expect(calls.map((c) => c.outcome)).toEqual(['resolved', 'pending', 'pending']);
    const closed = track(pool.close());
    connector.settle(0);
    await settleDown();
    // terminate destroyed #2; let that close finish, and keep #1's held.
    expect(connector.heldCloses.map((h) => h.connection.id)).toEqual([1, 2]);
    connector.heldCloses[1]?.done.resolve();
    await settleDown();
    const state = {
      close: closed.outcome,
      c2: calls[1]?.outcome,
      c3: calls[2]?.outcome,
      closedIds: connector.closed.map((c) => c.id),
    };
    connector.heldCloses[0]?.done.resolve();
    await settleDown();
    expect(state).toEqual({ close: 'resolved', c2: 'pending', c3: 'resolved', closedIds: [2] });
    expect(calls[1]?.outcome).toBe('resolved');
    expect(connector.violations).toEqual([]);
  });
});
