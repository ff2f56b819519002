import type { NetworkFault } from '../../models/vocabulary.js';
import type { Connection, Connector } from '../../src/pool/connector.js';
import { outcomeOfError } from '../outcomes.js';
import type { Activity, OpTiming } from '../scheduling/activity.js';

/** What one operation of a logical client did, filled in as it runs (the op is in async context). */
export interface OpRecord extends OpTiming {
  readonly id: number;
  /** Lane: `c1`, `c2/w0` (a wave's call), `nemesis`, `prefix`, `final`. */
  readonly client: string;
  readonly f: string;
  readonly i: number | undefined;
  readonly failCode: number;
  /** A late call (see `LATE_CALL`): asked to be answered after its own deadline. */
  readonly late?: boolean;
  readonly requestId: string | undefined;
  /** The status a `serving` fault sets. */
  readonly status?: 'SERVING' | 'NOT_SERVING';
  /** The network fault a `fault` op starts. */
  readonly faultKind?: NetworkFault;
  /** Invoked (ms, performance clock) and returned to the caller. */
  call: number;
  ret: number | undefined;
  idleAtCall: number;
  idleAtRet: number;
  /** What the caller got: `ok`, `true`, a status, a health answer, `pool-closed`, `unexpected:...`. */
  outcome: string | undefined;
  /** Stats snapshot (stats ops). */
  stats?: Record<string, number>;
  /** Connections the connector made while this operation was the one asking (it is their maker). */
  made: number[];
  /** The pool handed connection `conn` to the connector at `acquiredAt` (calls and health checks). */
  conn?: number;
  acquiredAt?: number;
  /** The connector's result reached the pool at `rpcDoneAt`. */
  rpcOutcome?: string;
  rpcDoneAt?: number;
}

/** A connection close at the seam: invoked, resolved to the pool, and counted by it (after a turn). */
export interface CloseRecord {
  readonly conn: number;
  readonly address: string;
  readonly call: number;
  resolvedAt: number | undefined;
  ret: number | undefined;
}

/** A connect the connector refused: invoked, rejected to the pool, and counted by it (after a turn). */
export interface FailedConnectRecord {
  readonly address: string;
  readonly call: number;
  ret: number | undefined;
}

/** A connection the connector made: invoked, resolved to the pool, and stored by it (after a turn). */
export interface ConnectRecord {
  readonly conn: number;
  readonly address: string;
  readonly call: number;
  readonly resolvedAt: number;
  ret: number | undefined;
}

/**
 * Holds back every exchange with one address until `open()`: while it holds, the other keys must
 * still make progress. The harness is busy while it holds (the wait is ours, not the pool's).
 */
export class HoldGate {
  #open: () => void = () => {};
  #opened: Promise<void> = Promise.resolve();
  #address: string | null = null;

  constructor(private readonly activity: Activity) {}

  /** Starts holding back every exchange with `address`. */
  hold(address: string): void {
    this.#address = address;
    this.#opened = new Promise((resolve) => {
      this.#open = resolve;
    });
  }

  open(): void {
    this.#address = null;
    this.#open();
  }

  /** Runs `start` now, or once the gate opens if it holds `address`. */
  run<T>(address: string, start: () => Promise<T>): Promise<T> {
    if (address !== this.#address) return start();
    this.activity.begin();
    return this.#opened.then(() => {
      this.activity.end();
      return start();
    });
  }
}

/**
 * Wraps the (scheduled) connector on the pool's side and records what crosses the seam, charged
 * to the operation in async context: which connection a call was given and when, when its result
 * reached the pool, and every connect and close.
 */
export function observingConnector(
  inner: Connector,
  activity: Activity,
  gate: HoldGate,
  seen: { closes: CloseRecord[]; connects: ConnectRecord[]; failedConnects: FailedConnectRecord[] },
): Connector {
  const exchange = <T>(c: Connection, start: () => Promise<T>, answer: (v: T) => string): Promise<T> => {
    const op = activity.context.getStore() as OpRecord | undefined;
    if (op) {
      op.conn = c.id;
      op.acquiredAt = performance.now();
    }
    return gate.run(c.address, start).then(
      (v) => {
        if (op) {
          op.rpcOutcome = answer(v);
          op.rpcDoneAt = performance.now();
        }
        return v;
      },
      (error: unknown) => {
        if (op) {
          op.rpcOutcome = outcomeOfError(error);
          op.rpcDoneAt = performance.now();
        }
        throw error;
      },
    );
  };
  return {
    connect: (target) => {
      const op = activity.context.getStore() as OpRecord | undefined;
      const call = performance.now();
      return gate
        .run(target.address, () => inner.connect(target))
        .then((c) => {
          const rec: ConnectRecord = { conn: c.id, address: c.address, call, resolvedAt: performance.now(), ret: undefined };
          seen.connects.push(rec);
          op?.made.push(c.id);
          afterATurn(activity, () => {
            rec.ret = performance.now();
          });
          return c;
        })
        .catch((error: unknown) => {
          const rec: FailedConnectRecord = { address: target.address, call, ret: undefined };
          seen.failedConnects.push(rec);
          afterATurn(activity, () => {
            rec.ret = performance.now();
          });
          throw error;
        });
    },
    close: (c) => {
      const rec: CloseRecord = { conn: c.id, address: c.address, call: performance.now(), resolvedAt: undefined, ret: undefined };
      seen.closes.push(rec);
      return gate
        .run(c.address, () => inner.close(c))
        .then(() => {
          rec.resolvedAt = performance.now();
          afterATurn(activity, () => {
            rec.ret = performance.now();
          });
        });
    },
    call: (c, request, deadlineMs) =>
      exchange(
        c,
        () => inner.call(c, request, deadlineMs),
        () => 'ok',
      ),
    health: (c, service, deadlineMs) =>
      exchange(
        c,
        () => inner.health(c, service, deadlineMs),
        (status) => status,
      ),
  };
}

/** The pool acts on a result a few microtasks after it arrives: a macrotask later it surely has. */
function afterATurn(activity: Activity, fn: () => void): void {
  activity.begin();
  setImmediate(() => {
    fn();
    activity.end();
  });
}

/**
 * The history of a run as its order of events, one line each (`invoke c1 call(0)`, `return c1
 * call(0) -> ok`), without times or ids: two runs of one program on one schedule give the same lines.
 * Events at equal times keep the order in which operations were recorded.
 */
export function historyLines(ops: readonly OpRecord[]): string[] {
  const name = (o: OpRecord) => `${o.client} ${o.f}(${o.i ?? ''})`;
  const events = ops.flatMap((o, k) => [
    { at: o.call, k, line: `invoke ${name(o)}` },
    ...(o.ret === undefined ? [] : [{ at: o.ret, k, line: `return ${name(o)} -> ${o.outcome}` }]),
  ]);
  return events.sort((a, b) => a.at - b.at || a.k - b.k).map((e) => e.line);
}
