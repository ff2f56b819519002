import { CALL_DEADLINE_MS, SETTLE_TOLERANCE_MS } from '../backend.js';
import { CLOSE_SETTLE_MS } from '../invariants.js';
import { ModelDisagreement, observe } from '../outcomes.js';
import type { ParallelRun } from './parallel-run.js';

/**
 * Most time (ms) an operation may spend while the harness is idle: no exchange in flight, nothing
 * held by the scheduler. That is the pool's own time (CPU and its own waits), a few ms normally;
 * the bound is generous for a loaded 2-core machine and far below a pool that sleeps or polls.
 */
export const OWN_TIME_LIMIT_MS = 400;

/** Remove and close resolve only once the connections they took out are closed at the seam. */
export function checkClosesBeforeReturn(run: ParallelRun): void {
  const addressOf = (i: number | undefined) => (i === undefined ? '' : run.backend.addresses[i]);
  for (const r of run.ops) {
    if (r.ret === undefined) continue;
    const ret = r.ret;
    if (r.f === 'remove' && r.outcome === 'true') {
      const closed = run.seen.closes.some(
        (c) => c.address === addressOf(r.i) && c.call >= r.call && c.resolvedAt !== undefined && c.resolvedAt <= ret,
      );
      if (!closed) {
        throw new ModelDisagreement(`${r.client} remove(${r.i}) returned true before the connection it removed was closed`);
      }
    }
    if (r.f === 'close' && r.outcome === 'ok') {
      for (const made of run.seen.connects) {
        if (made.resolvedAt > ret) continue;
        const closed = run.seen.closes.some((c) => c.conn === made.conn && c.resolvedAt !== undefined && c.resolvedAt <= ret);
        if (!closed) throw new ModelDisagreement(`${r.client} close() resolved while connection #${made.conn} was still open`);
      }
    }
  }
}

/**
 * Bounded latency, measured where the caller sees it: every call and health check settles within
 * its deadline plus a tolerance, less the time the scheduler held its results back on purpose; and
 * no operation spends more than `OWN_TIME_LIMIT_MS` of its time with the harness idle.
 */
export function checkLatency(run: ParallelRun): void {
  for (const r of run.ops) {
    if (r.ret === undefined) continue;
    const callerMs = r.ret - r.call;
    // One bound for every call: a late call's missing or wrong deadline shows in its outcome (the
    // server's late answer arrives, where DEADLINE_EXCEEDED is the only legal one), not in a
    // tighter bound a loaded machine would trip (seen: 2.2 s for a 200 ms deadline at load 4).
    if ((r.f === 'call' || r.f === 'health') && callerMs - r.heldMs > CALL_DEADLINE_MS + SETTLE_TOLERANCE_MS) {
      throw new ModelDisagreement(
        `${r.client} ${r.f}(${r.i}${r.late ? ', late' : ''}) took ${callerMs.toFixed(0)} ms at the caller (${r.heldMs.toFixed(0)} ms held by the scheduler); bound ${CALL_DEADLINE_MS} + ${SETTLE_TOLERANCE_MS} ms`,
      );
    }
    const ownMs = r.idleAtRet - r.idleAtCall;
    if (r.client !== 'nemesis' && ownMs > OWN_TIME_LIMIT_MS) {
      throw new ModelDisagreement(
        `${r.client} ${r.f}(${r.i ?? ''}) spent ${ownMs.toFixed(0)} ms on its own (no exchange in flight, nothing held), limit ${OWN_TIME_LIMIT_MS} ms: the pool waits on something other than the network`,
      );
    }
  }
}

/**
 * What the servers said about a run, read once it is over (the observer's part): transport
 * connections each accepted during the run, how often each request reached its server, and the
 * connections still open once the pool closed. The checks read this record, not the servers.
 */
export interface ServerRecord {
  readonly accepted: readonly number[];
  readonly timesSeen: ReadonlyMap<string, number>;
  readonly openAfterClose: readonly number[];
}

/** Reads the servers for `run` (a read that fails is the harness's failure, never a finding). */
export async function recordServers(run: ParallelRun, acceptedBefore?: readonly number[]): Promise<ServerRecord> {
  const observer = run.backend.observer;
  const addresses = run.backend.addresses;
  const accepted = await observe('read accepted connections', () =>
    Promise.all(addresses.map(async (_, i) => (await observer.acceptedConnections(i)) - (acceptedBefore?.[i] ?? 0))),
  );
  const timesSeen = new Map<string, number>();
  for (const r of run.ops) {
    if (r.f !== 'call' || r.requestId === undefined || r.i === undefined) continue;
    const [i, id] = [r.i, r.requestId];
    timesSeen.set(id, await observe(`read server ${i}'s ledger`, () => observer.timesSeen(i, id)));
  }
  for (const load of run.loads) {
    for (const req of load.record.requests) {
      if (timesSeen.has(req.id)) continue;
      timesSeen.set(req.id, await observe(`read server ${load.i}'s ledger`, () => observer.timesSeen(load.i, req.id)));
    }
  }
  const openAfterClose: number[] = [];
  for (let i = 0; i < addresses.length; i++) {
    openAfterClose.push(
      await observe(`count server ${i}'s open connections`, () => observer.settleOpenConnections(i, 0, CLOSE_SETTLE_MS)),
    );
  }
  return { accepted, timesSeen, openAfterClose };
}

/** No request ran twice; every success was served exactly once; a request refused by the pool never reached a server. */
export function checkRequestsOnServers(run: ParallelRun, servers: ServerRecord): void {
  for (const r of run.ops) {
    if (r.f !== 'call' || r.requestId === undefined || r.i === undefined) continue;
    const seen = servers.timesSeen.get(r.requestId) ?? 0;
    if (seen > 1) throw new ModelDisagreement(`request ${r.requestId} (${r.client}) reached server ${r.i} ${seen} times`);
    if (r.outcome === 'ok' && seen !== 1) {
      throw new ModelDisagreement(`request ${r.requestId} (${r.client}) succeeded but server ${r.i} saw it ${seen} times`);
    }
    if (r.conn === undefined && seen !== 0) {
      throw new ModelDisagreement(
        `request ${r.requestId} (${r.client}) was refused by the pool (${r.outcome}) yet reached server ${r.i}`,
      );
    }
  }
}

/** After the pool closed, no server holds a connection, by its own count. */
export function checkNothingOpen(servers: ServerRecord): void {
  for (let i = 0; i < servers.openAfterClose.length; i++) {
    const open = servers.openAfterClose[i] ?? 0;
    if (open !== 0)
      throw new ModelDisagreement(
        `after the pool closed, ${open} connection(s) to server ${i} are still open (counted by the server, or on the client side of its proxy behind a black hole): leak`,
      );
  }
}
