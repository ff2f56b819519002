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

/** No request ran twice; every success was served exactly once; a request refused by the pool never reached a server. */
export async function checkRequestsOnServers(run: ParallelRun): Promise<void> {
  for (const r of run.ops) {
    if (r.f !== 'call' || r.requestId === undefined || r.i === undefined) continue;
    const i = r.i;
    const id = r.requestId;
    const seen = await observe(`read server ${i}'s ledger`, () => run.backend.observer.timesSeen(i, id));
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

/**
 * LoadTestMetrics against the history: counts equal the calls made, and min, max and the latency
 * sum lie within what the caller-side intervals allow. A recorded latency is at most its call's
 * interval (the client's clock starts after ours and stops before); it is at least a quarter of it
 * less 250 ms, loose because a busy machine can stall between the two clocks (seen at load 10), yet
 * tight enough for a unit mistake (x1000) or a clock that misses a long pool wait.
 */
export function checkMetricsAgainstHistory(run: ParallelRun): void {
  const calls = run.ops.filter((r) => r.f === 'call' && r.ret !== undefined);
  const m = run.metrics.counts();
  const ok = calls.filter((r) => r.outcome === 'ok').length;
  const failed = calls.length - ok;
  if (m.totalRequests !== calls.length || m.successfulRequests !== ok || m.failedRequests !== failed) {
    throw new ModelDisagreement(
      `metrics total/ok/failed ${m.totalRequests}/${m.successfulRequests}/${m.failedRequests}, the history has ${calls.length}/${ok}/${failed}`,
    );
  }
  if (calls.length === 0) return;
  const us = calls.map((r) => ((r.ret as number) - r.call) * 1000);
  const low = (us: number) => us / 4 - 250_000;
  const within = (name: string, got: number, hi: number, lo: number) => {
    // Each record rounds to a whole microsecond.
    if (got > hi + us.length + 1 || got < lo) {
      throw new ModelDisagreement(
        `metrics ${name} ${got.toFixed(0)} us, the history allows ${Math.max(0, lo).toFixed(0)}..${hi.toFixed(0)} us`,
      );
    }
  };
  within('max latency', m.maxLatencyUs, Math.max(...us), low(Math.max(...us)));
  within('min latency', m.minLatencyUs, Math.min(...us), low(Math.min(...us)));
  const sum = us.reduce((a, b) => a + b, 0);
  within(
    'latency sum',
    m.totalLatencyUs,
    sum,
    us.reduce((a, b) => a + low(b), 0),
  );
}

/** After the pool closed, no server holds a connection, by its own count. */
export async function checkNothingOpen(run: ParallelRun): Promise<void> {
  for (let i = 0; i < run.backend.addresses.length; i++) {
    const open = await observe(`count server ${i}'s open connections`, () =>
      run.backend.observer.settleOpenConnections(i, 0, CLOSE_SETTLE_MS),
    );
    if (open !== 0)
      throw new ModelDisagreement(
        `after the pool closed, ${open} connection(s) to server ${i} are still open (counted by the server, or on the client side of its proxy behind a black hole): leak`,
      );
  }
}
