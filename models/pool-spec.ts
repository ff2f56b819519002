/**
 * The pool's sequential specification for the linearizability checker: a step function over
 * operations as a history records them, with no ranges. Pure: no I/O, no clock, nothing from src/.
 *
 * A connection is made by `connect(i)`, seen at the connector seam from its invoke until the pool
 * has stored it: that is where a key comes into being (or, if the pool is closing by then, where a
 * connection nobody will see is made and must be closed).
 *
 * A call (or health check) is three operations, because three different things happen at three
 * different times and each can be seen from outside the pool:
 * - `acquire(i)` from the caller's invoke until the pool hands a connection to the connector: its
 *   output is the connection id, and whether this very call made it (or `pool-closed`). This is
 *   where the lease is taken, and counted as reused unless the caller made the connection.
 * - `rpc(i, conn)` from the connector call until its result reaches the pool: the server's answer,
 *   legal or not for the server's phase at some point in between.
 * - `release(i, conn)` from the result reaching the pool until the caller sees it: the lease ends.
 * Between acquire and release the lease is held, so a `stats()` in that window must count it.
 * `connClosed(conn)` spans the connector's close of a connection until the pool has counted it.
 */

import { faultEffect, type NetworkFault, type Serving } from './vocabulary.js';

export type { NetworkFault, Serving } from './vocabulary.js';
export type Phase = 'up' | 'down';

/** What the pool is asked to do, or what the harness saw happen at the seam. */
export type PoolInput =
  | { readonly f: 'add'; readonly i: number }
  | { readonly f: 'remove'; readonly i: number }
  /** A connect at the seam: its output is `{ conn }`, or `'failed'` when the connector refused it. */
  | { readonly f: 'connect'; readonly i: number }
  | { readonly f: 'acquire'; readonly i: number }
  /** `late`: the server answers only after the call's deadline, so a reachable server's answer is DEADLINE_EXCEEDED. */
  | {
      readonly f: 'rpc';
      readonly i: number;
      readonly conn: number;
      readonly kind: 'call';
      readonly failCode: number;
      readonly late?: boolean;
    }
  | { readonly f: 'rpc'; readonly i: number; readonly conn: number; readonly kind: 'health' }
  | { readonly f: 'release'; readonly i: number; readonly conn: number }
  | { readonly f: 'connClosed'; readonly i: number; readonly conn: number }
  | { readonly f: 'stats' }
  | { readonly f: 'close' }
  | { readonly f: 'stop' | 'kill' | 'restart'; readonly i: number }
  | { readonly f: 'serving'; readonly i: number; readonly status: Serving }
  | { readonly f: 'fault'; readonly i: number; readonly kind: NetworkFault }
  | { readonly f: 'heal'; readonly i: number }
  /** Read from the servers at the end, with nothing running: transport connections each accepted. */
  | {
      readonly f: 'ledger';
      readonly accepted: readonly number[];
      readonly faulted: readonly boolean[];
      /**
       * Whether every connection made reaches its server (the simulated network). On the live layer a
       * connection closed before its handshake got through the proxy is never seen by the server, so
       * there the server may count fewer, never more.
       */
      readonly exact: boolean;
    };

/** The pool's stats as the model predicts them (the fields a `PoolStats` snapshot has). */
export interface StatsOutput {
  readonly created: number;
  /** Connects the connector refused. */
  readonly connectFailures: number;
  readonly closed: number;
  readonly reused: number;
  readonly inFlight: number;
  readonly liveKeys: number;
  readonly draining: number;
}

/**
 * Outputs: `ok`, `true`/`false` (remove), `pool-closed`, `{ conn }` (acquire), `status:N` (a gRPC
 * status), `SERVING`/`NOT_SERVING` (health), or a stats snapshot.
 */
export type PoolOutput =
  | 'ok'
  | 'failed'
  | 'connect-failed'
  | boolean
  | 'pool-closed'
  | { readonly conn: number; readonly created?: boolean }
  | `status:${number}`
  | Serving
  | StatsOutput;

interface Conn {
  readonly id: number;
  readonly i: number;
  leases: number;
  draining: boolean;
  /** Live layer: this channel saw its server down, so it may fail UNAVAILABLE until a call succeeds (reconnect backoff). */
  mayFail: boolean;
}

export interface PoolSpecState {
  readonly closed: boolean;
  /** Per address: the id of the key's connection, or null. */
  readonly key: readonly (number | null)[];
  /** Connections not yet closed, by id. */
  readonly conns: readonly Conn[];
  /** Every connection id seen, so that a connection the pool makes is new. */
  readonly seen: readonly number[];
  readonly created: number;
  readonly connectFailures: number;
  readonly closedCount: number;
  readonly reused: number;
  readonly createdAt: readonly number[];
  readonly phase: readonly Phase[];
  readonly serving: readonly Serving[];
  /** The network fault in force per address, or null. */
  readonly fault: readonly (NetworkFault | null)[];
}

export interface PoolSpecOptions {
  readonly addresses: number;
  /**
   * Whether a channel may back off after its server went down (grpc-js does; the simulated network
   * reconnects at once, so its model must not allow the failures backoff causes).
   */
  readonly backoff: boolean;
}

const UNAVAILABLE = 'status:14';

type Draft = { -readonly [K in keyof PoolSpecState]: PoolSpecState[K] extends readonly (infer E)[] ? E[] : PoolSpecState[K] };

function draft(s: PoolSpecState): Draft {
  return {
    ...s,
    key: [...s.key],
    conns: s.conns.map((c) => ({ ...c })),
    seen: [...s.seen],
    createdAt: [...s.createdAt],
    phase: [...s.phase],
    serving: [...s.serving],
    fault: [...s.fault],
  };
}

function freeze(d: Draft): PoolSpecState {
  d.conns.sort((a, b) => a.id - b.id);
  d.seen.sort((a, b) => a - b);
  return d;
}

/** Whether server `i` can be reached at all: up, and no fault in between that stops requests. */
function reachable(s: PoolSpecState, i: number): boolean {
  const f = s.fault[i];
  return s.phase[i] === 'up' && (f === null || f === undefined || faultEffect(f).reachable);
}

/** A call's failure allowed at address `i`: refused, reset or timed out. */
const FAILURES = ['status:14', 'status:4'];

/**
 * Whether a get of `i` may fail to connect: the key has no connection to reuse, and the server
 * cannot be reached (down, or behind a fault that stops requests). A pool that fails a get whose
 * server is reachable (a cached failure, say) is caught here.
 */
function connectMayFail(s: PoolSpecState, i: number): boolean {
  return s.key[i] === null && !reachable(s, i);
}

/** Connection `id` for address `i` is made: the key's, or (pool closing) one to close at once. */
function create(d: Draft, i: number, id: number, backoff: boolean): void {
  const orphan = d.closed;
  d.conns.push({ id, i, leases: 0, draining: orphan, mayFail: backoff && !reachable(d, i) });
  d.seen.push(id);
  if (!orphan) d.key[i] = id;
  d.created += 1;
  d.createdAt[i] = (d.createdAt[i] ?? 0) + 1;
}

function startDraining(d: Draft, i: number): void {
  const id = d.key[i];
  if (id === null || id === undefined) return;
  const c = d.conns.find((x) => x.id === id && x.i === i && !x.draining);
  if (c) c.draining = true;
  d.key[i] = null;
}

function isStats(o: PoolOutput | undefined): o is StatsOutput {
  return typeof o === 'object' && o !== null && 'created' in o;
}

/** Every state `input` with answer `output` can lead to from `s` (none: the answer is illegal). */
export function poolStep(
  s: PoolSpecState,
  input: PoolInput,
  output: PoolOutput | undefined,
  o: PoolSpecOptions,
): PoolSpecState[] {
  const d = draft(s);
  switch (input.f) {
    case 'connect': {
      // A refused connect changes nothing but the count, and only where the server cannot be reached.
      if (output === 'failed') return reachable(s, input.i) ? [] : [freeze({ ...d, connectFailures: s.connectFailures + 1 })];
      if (typeof output !== 'object' || output === null || !('conn' in output)) return output === undefined ? [s] : [];
      // A key is made only when absent (under its lock), and a connection id is never reused.
      if (s.seen.includes(output.conn) || (!s.closed && s.key[input.i] !== null)) return [];
      create(d, input.i, output.conn, o.backoff);
      return [freeze(d)];
    }
    case 'add': {
      // A get already connecting when the pool closed may still report its refused connect.
      if (s.closed)
        return output === 'pool-closed' || output === undefined || (output === 'connect-failed' && !reachable(s, input.i))
          ? [s]
          : [];
      if (output === undefined) return [s];
      if (output === 'connect-failed') return connectMayFail(s, input.i) ? [s] : [];
      // add resolves once the key exists (made by its own connect or already there).
      return output === 'ok' && s.key[input.i] !== null ? [s] : [];
    }
    case 'remove': {
      if (s.closed) return output === 'pool-closed' || output === undefined ? [s] : [];
      const present = s.key[input.i] !== null;
      if (output !== undefined && output !== present) return [];
      startDraining(d, input.i);
      return [freeze(d)];
    }
    case 'acquire': {
      // A get already connecting when the pool closed may still report its refused connect.
      if (s.closed)
        return output === 'pool-closed' || output === undefined || (output === 'connect-failed' && !reachable(s, input.i))
          ? [s]
          : [];
      if (output === 'connect-failed') return connectMayFail(s, input.i) ? [s] : [];
      if (typeof output !== 'object' || output === null || !('conn' in output)) return [];
      if (s.key[input.i] !== output.conn) return [];
      const c = d.conns.find((x) => x.id === output.conn);
      if (!c) return [];
      c.leases += 1;
      // A get that did not make the connection itself reused it (found it, or waited for its maker).
      if (!output.created) d.reused += 1;
      return [freeze(d)];
    }
    case 'rpc': {
      const c = d.conns.find((x) => x.id === input.conn);
      if (!c || c.leases === 0) return [];
      if (output === undefined) return [freeze(d)];
      const up = s.phase[input.i] === 'up';
      const f = s.fault[input.i];
      // A late call's answer comes after its deadline: DEADLINE_EXCEEDED is what a reachable server gives it.
      const lateAnswered = input.kind === 'call' && input.late === true && output === 'status:4' && reachable(s, input.i);
      if (typeof output === 'string' && FAILURES.includes(output) && !lateAnswered) {
        // A down server refuses (UNAVAILABLE); a reset or black hole fails or times a call out; on the
        // live layer a channel that lived through either may do both until it is connected again.
        if (!up && output === UNAVAILABLE) return [freeze(d)];
        if (f !== null && f !== undefined && !faultEffect(f).reachable) return [freeze(d)];
        return c.mayFail ? [freeze(d)] : [];
      }
      if (!reachable(s, input.i)) return [];
      const served =
        input.kind === 'call'
          ? input.late
            ? 'status:4'
            : input.failCode === 0
              ? 'ok'
              : `status:${input.failCode}`
          : s.serving[input.i];
      if (output !== served) return [];
      // A channel that got an answer is connected: it no longer backs off. (A late call's timeout
      // proves nothing: it may have waited on a channel still connecting.)
      if (!(input.kind === 'call' && input.late)) c.mayFail = false;
      return [freeze(d)];
    }
    case 'release': {
      const c = d.conns.find((x) => x.id === input.conn);
      if (!c || c.leases === 0) return [];
      c.leases -= 1;
      return [freeze(d)];
    }
    case 'connClosed': {
      const c = d.conns.find((x) => x.id === input.conn);
      // Closed only once removed and drained: never while a lease holds it.
      if (!c?.draining || c.leases > 0) return [];
      d.conns = d.conns.filter((x) => x !== c);
      d.closedCount += 1;
      return [freeze(d)];
    }
    case 'stats': {
      if (output === undefined) return [s];
      if (!isStats(output)) return [];
      const expected = statsOf(s);
      for (const k of Object.keys(expected) as (keyof StatsOutput)[]) if (output[k] !== expected[k]) return [];
      return [s];
    }
    case 'close': {
      if (output !== 'ok' && output !== undefined) return [];
      if (s.closed) return [s];
      for (let i = 0; i < s.key.length; i++) startDraining(d, i);
      return [freeze({ ...d, closed: true })];
    }
    case 'stop':
    case 'kill': {
      d.phase[input.i] = 'down';
      if (o.backoff) for (const c of d.conns) if (c.i === input.i) c.mayFail = true;
      return [freeze(d)];
    }
    case 'restart': {
      d.phase[input.i] = 'up';
      return [freeze(d)];
    }
    case 'serving': {
      d.serving[input.i] = input.status;
      return [freeze(d)];
    }
    case 'fault': {
      d.fault[input.i] = input.kind;
      if (o.backoff && !faultEffect(input.kind).reachable) for (const c of d.conns) if (c.i === input.i) c.mayFail = true;
      return [freeze(d)];
    }
    case 'heal': {
      d.fault[input.i] = null;
      return [freeze(d)];
    }
    case 'ledger': {
      for (let i = 0; i < input.accepted.length; i++) {
        const made = s.createdAt[i] ?? 0;
        const seen = input.accepted[i] ?? 0;
        if (!input.faulted[i] && (input.exact ? seen !== made : seen > made)) return [];
      }
      return [s];
    }
  }
}

/** What `stats()` must read in state `s`. */
export function statsOf(s: PoolSpecState): StatsOutput {
  let inFlight = 0;
  let draining = 0;
  for (const c of s.conns) {
    inFlight += c.leases;
    if (c.draining) draining += 1;
  }
  return {
    created: s.created,
    connectFailures: s.connectFailures,
    closed: s.closedCount,
    reused: s.reused,
    inFlight,
    liveKeys: s.key.filter((k) => k !== null).length,
    draining,
  };
}

export function initialPoolState(addresses: number): PoolSpecState {
  return {
    closed: false,
    key: Array.from({ length: addresses }, () => null),
    conns: [],
    seen: [],
    created: 0,
    connectFailures: 0,
    closedCount: 0,
    reused: 0,
    createdAt: Array.from({ length: addresses }, () => 0),
    phase: Array.from({ length: addresses }, () => 'up'),
    serving: Array.from({ length: addresses }, () => 'SERVING'),
    fault: Array.from({ length: addresses }, () => null),
  };
}

/** A canonical string of a state (equal states, equal strings) for the checker's memo. */
/**
 * A key equal for equal states and different for different ones: fields in a fixed order between
 * `|`, list items between `,` (no value holds either; null is the empty string, which no number or
 * name is). Written out by hand: JSON.stringify was a tenth of the parallel property's time and
 * twice as slow on these states.
 */
export function hashPoolState(s: PoolSpecState): string {
  const conns = s.conns.map((c) => `${c.id}.${c.i}.${c.leases}.${c.draining ? 1 : 0}${c.mayFail ? 1 : 0}`).join(',');
  return `${s.closed ? 1 : 0}|${s.key.join(',')}|${conns}|${s.seen.join(',')}|${s.created}|${s.connectFailures}|${s.closedCount}|${s.reused}|${s.createdAt.join(',')}|${s.phase.join(',')}|${s.serving.join(',')}|${s.fault.join(',')}`;
}

export function describePoolInput(input: PoolInput): string {
  switch (input.f) {
    case 'rpc':
      return input.kind === 'call'
        ? `rpc(${input.i}, #${input.conn}${input.failCode ? `, fail=${input.failCode}` : ''}${input.late ? ', late' : ''})`
        : `health-rpc(${input.i}, #${input.conn})`;
    case 'release':
    case 'connClosed':
      return `${input.f}(${input.i}, #${input.conn})`;
    case 'stats':
    case 'close':
      return `${input.f}()`;
    case 'serving':
      return `serving(${input.i}, ${input.status})`;
    case 'fault':
      return `fault(${input.i}, ${input.kind})`;
    case 'ledger':
      return `ledger(accepted=[${input.accepted.join(',')}])`;
    default:
      return `${input.f}(${input.i})`;
  }
}

export function describePoolOutput(output: PoolOutput | undefined): string {
  if (output === undefined) return '?';
  if (typeof output === 'object' && output !== null) {
    if ('conn' in output) return `#${output.conn}${output.created ? ' (made)' : ''}`;
    const s = output;
    return `created=${s.created} connectFailures=${s.connectFailures} closed=${s.closed} reused=${s.reused} inFlight=${s.inFlight} live=${s.liveKeys} draining=${s.draining}`;
  }
  return String(output);
}

/** The pool model in the shape the linearizability checker takes (a nondeterministic step). */
export function poolSpec(o: PoolSpecOptions) {
  return {
    init: () => initialPoolState(o.addresses),
    step: (s: PoolSpecState, input: PoolInput, output: PoolOutput | undefined) => poolStep(s, input, output, o),
    hash: hashPoolState,
    describeOperation: (input: PoolInput, output: PoolOutput | undefined) =>
      `${describePoolInput(input)} -> ${describePoolOutput(output)}`,
    describeState: (s: PoolSpecState) => {
      const st = statsOf(s);
      const keys = s.key.map((k, i) => `${i}:${k === null ? '-' : `#${k}`}`).join(' ');
      return `${s.closed ? 'closed ' : ''}keys ${keys}; ${describePoolOutput(st)}; servers ${s.phase.join(',')}`;
    },
  };
}
