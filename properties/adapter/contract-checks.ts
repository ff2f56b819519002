import { ModelDisagreement } from '../outcomes.js';
import type { CloseRecord, ConnectRecord, OpRecord } from '../parallel/observer.js';
import type { PoolContract } from './adapter.js';

/** What the contract checks read: a run's record, made at the seam and at the caller, nothing from the pool. */
export interface ContractRecord {
  readonly addresses: readonly string[];
  readonly ops: readonly OpRecord[];
  readonly seen: { readonly connects: readonly ConnectRecord[]; readonly closes: readonly CloseRecord[] };
  /** Transport connections each server accepted during the run, by its own count. */
  readonly accepted: readonly number[];
  /** Whether a network fault was in force at some point on each address (a reset may cost reconnects). */
  readonly faulted: readonly boolean[];
}

/**
 * Checks a run against the contract its adapter declares, from what crossed the seam and what the
 * servers counted. Throws `ModelDisagreement` naming the broken promise. Each check is a bound the
 * declared contract implies whatever the pool's policy inside it:
 * - connections per key: at no instant does an address hold more open connections than declared,
 *   not counting connections a remove or close may have retired (one running when, or begun after,
 *   their connect began);
 * - calls per connection: at no instant are more calls and health checks in flight on one
 *   connection (from the seam's call to its result) than declared;
 * - drain (when declared): no connection's close begins while a call on it is still in flight;
 * - idle kept: when the final close begins (nothing in flight), each address holds at most the
 *   declared number of idle connections;
 * - the seam: a server never accepts more connections than the seam made to it (the pool opened
 *   no connection of its own), except on an address a network fault touched.
 */
export function checkContract(run: ContractRecord, contract: PoolContract): void {
  checkOutcomes(run);
  checkConnectionsPerKey(run, contract.connectionsPerKey);
  checkCallsPerConnection(run, contract.callsPerConnection);
  if (contract.drains) checkDrains(run);
  checkIdleKept(run, contract.idleKeptPerKey);
  checkSeamMadeEveryConnection(run);
}

/**
 * The earliest instant the pool may have retired the connection: a remove of its address, or a
 * close, still running when its connect began (a remove waiting on the key's creation takes out
 * what that creation makes) or begun since.
 */
function retiredAt(run: ContractRecord, c: ConnectRecord, ignore?: OpRecord): number {
  let at = Number.POSITIVE_INFINITY;
  const i = run.addresses.indexOf(c.address);
  for (const op of run.ops) {
    if (op === ignore || !(op.f === 'close' || (op.f === 'remove' && op.i === i))) continue;
    if ((op.ret ?? Number.POSITIVE_INFINITY) < c.call) continue;
    at = Math.min(at, Math.max(op.call, c.call));
  }
  return at;
}

function closedAt(run: ContractRecord, conn: number): number {
  const close = run.seen.closes.find((x) => x.conn === conn);
  return close ? close.call : Number.POSITIVE_INFINITY;
}

/** Connections of `address` open and not retired at instant `t` (`ignore`: a close that does not count as retiring). */
function liveAt(run: ContractRecord, address: string, t: number, ignore?: OpRecord): ConnectRecord[] {
  return run.seen.connects.filter(
    (c) => c.address === address && c.resolvedAt <= t && closedAt(run, c.conn) > t && retiredAt(run, c, ignore) > t,
  );
}

/**
 * Every operation ended in the suite's words: ok, a gRPC status passed through, a health answer,
 * true/false, a refused connect (`connect-failed`) or `pool-closed`, never another error; and an
 * operation begun after a close returned is refused as `pool-closed`.
 */
export function checkOutcomes(run: ContractRecord): void {
  const closedBy = run.ops
    .filter((o) => o.f === 'close' && o.outcome === 'ok' && o.ret !== undefined)
    .reduce((t, o) => Math.min(t, o.ret as number), Number.POSITIVE_INFINITY);
  for (const o of run.ops) {
    if (o.client === 'nemesis' || o.f === 'close' || o.outcome === undefined) continue;
    // Reading counters of a closed pool is not refused (this project's pool answers them).
    const mayAnswerClosed = o.f === 'stats';
    if (o.outcome.startsWith('unexpected:')) {
      throw new ModelDisagreement(
        `${o.client} ${o.f}(${o.i ?? ''}) failed with an error the contract has no word for: ${o.outcome.slice('unexpected:'.length)} (a closed pool refuses with code ERR_POOL_CLOSED; a failed call passes its gRPC status through)`,
      );
    }
    if (o.call > closedBy && o.outcome !== 'pool-closed' && !mayAnswerClosed) {
      throw new ModelDisagreement(
        `${o.client} ${o.f}(${o.i ?? ''}) began after close() returned, yet ended ${o.outcome} (expected pool-closed)`,
      );
    }
  }
}

export function checkConnectionsPerKey(run: ContractRecord, bound: number): void {
  if (!Number.isFinite(bound)) return;
  for (const made of run.seen.connects) {
    const live = liveAt(run, made.address, made.resolvedAt);
    if (live.length > bound) {
      throw new ModelDisagreement(
        `${live.length} connections to ${made.address} open at once (#${live.map((c) => c.conn).join(', #')}), the contract allows ${bound} per key`,
      );
    }
  }
}

export function checkCallsPerConnection(run: ContractRecord, bound: number): void {
  if (!Number.isFinite(bound)) return;
  const onConn = run.ops.filter((o) => o.conn !== undefined && o.acquiredAt !== undefined);
  for (const o of onConn) {
    const t = o.acquiredAt as number;
    const inFlight = onConn.filter(
      (x) => x.conn === o.conn && (x.acquiredAt as number) <= t && (x.rpcDoneAt ?? Number.POSITIVE_INFINITY) > t,
    );
    if (inFlight.length > bound) {
      throw new ModelDisagreement(
        `${inFlight.length} calls in flight at once on connection #${o.conn} (${inFlight.map((x) => x.client).join(', ')}), the contract allows ${bound}`,
      );
    }
  }
}

export function checkDrains(run: ContractRecord): void {
  for (const o of run.ops) {
    if (o.conn === undefined || o.acquiredAt === undefined) continue;
    const close = run.seen.closes.find((c) => c.conn === o.conn);
    const done = o.rpcDoneAt ?? Number.POSITIVE_INFINITY;
    if (close && close.call >= o.acquiredAt && close.call < done) {
      throw new ModelDisagreement(
        `connection #${o.conn} began closing while ${o.client} ${o.f}(${o.i ?? ''}) was in flight on it: the contract says remove and close drain first`,
      );
    }
  }
}

export function checkIdleKept(run: ContractRecord, bound: number): void {
  const final = run.ops.find((o) => o.client === 'final' && o.f === 'close');
  if (!final) return;
  for (const address of run.addresses) {
    // Just as the final close begins: it retires everything, so it is not counted as retiring.
    const live = liveAt(run, address, final.call, final);
    if (live.length > bound) {
      throw new ModelDisagreement(
        `with nothing in flight, ${address} kept ${live.length} idle connections open (#${live.map((c) => c.conn).join(', #')}), the contract keeps at most ${bound}`,
      );
    }
  }
}

export function checkSeamMadeEveryConnection(run: ContractRecord): void {
  run.addresses.forEach((address, i) => {
    if (run.faulted[i]) return;
    const made = run.seen.connects.filter((c) => c.address === address).length;
    const accepted = run.accepted[i] ?? 0;
    if (accepted > made) {
      throw new ModelDisagreement(
        `server ${i} accepted ${accepted} connections but only ${made} were made through the connector: the pool opens connections the suite cannot see`,
      );
    }
  });
}
