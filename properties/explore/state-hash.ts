import { createHash } from 'node:crypto';
import type { PoolOperation } from '../parallel/history-ops.js';
import { toOperations } from '../parallel/history-ops.js';
import type { ParallelRun } from '../parallel/parallel-run.js';
import type { PendingTask } from '../scheduling/controlled-scheduler.js';
import { type KeyContext, type TaskKey, taskKey } from './task-keys.js';

/** Numbers states that must not merge with any other (their history cannot be read). */
let unmergeable = 0;

/**
 * How the explorer sees one run: each task's key and canonical name, and a hash of the state.
 *
 * The hash covers, with the names a run hands out in order (connection ids, request ids, op ids)
 * renamed canonically (a connection is `address.k`, the k-th made to that address; a request is
 * its lane and position):
 * - the pool: closed or not, and its adapter's `snapshot()` (this project's pool: its stats, every
 *   entry with address, state, leases and connection, every draining entry, every creation lock
 *   with users and whether held, and each client's counters);
 * - the servers: accepted and open connections, and how often each request reached its server;
 * - what the callers saw: the metrics' counts;
 * - the history so far, as the linearizability checker will read it: per lane, the operations in
 *   order with inputs and outputs (or "still running"), and for each operation how many operations
 *   of every other lane had returned when it was invoked: that is the real-time order the checker
 *   uses, without the interleaving that produced it;
 * - the pending tasks, by lane and canonical label.
 * Two runs that agree on all of it have the same future under the same choices, as far as the
 * checks can tell, except for what it does not see: the order of waiters queued on a mutex or a
 * drain, and a variant's private state (a client-side cache): states that differ only there are
 * merged. That is the "sound enough": run with the hash off to check a result against it.
 */
export class RunView implements KeyContext {
  constructor(readonly run: ParallelRun) {}

  get addresses(): readonly string[] {
    return this.run.backend.addresses;
  }

  connAddress(conn: number): string | undefined {
    return this.run.seen.connects.find((c) => c.conn === conn)?.address;
  }

  key(task: PendingTask): TaskKey {
    return taskKey(task, this);
  }

  /** The task's name with run-specific ids renamed: equal across runs that reach it by other paths. */
  descriptor(task: PendingTask): string {
    const conns = this.#connNames();
    const requests = this.#requestNames();
    const label = task.label
      .replace(/#(\d+)/g, (_, n: string) => `#${conns.get(Number(n)) ?? `?${n}`}`)
      .replace(/call (\S+) on/, (_, id: string) => `call ${requests.get(id) ?? id} on`);
    return `${task.lane}|${label}`;
  }

  async hash(pending: readonly PendingTask[]): Promise<string> {
    const conns = this.#connNames();
    const conn = (id: number | undefined) => (id === undefined ? null : (conns.get(id) ?? `?${id}`));
    // The pool's own state as its adapter shows it, with connection ids and addresses renamed.
    const canonical = (v: unknown, key?: string): unknown => {
      if (key === 'connectionId' && typeof v === 'number') return conn(v);
      if (typeof v === 'string') return this.addresses.reduce((t, a, i) => t.split(a).join(`@${i}`), v);
      if (Array.isArray(v))
        return v
          .map((x) => canonical(x))
          .map((x) => JSON.stringify(x))
          .sort();
      if (v !== null && typeof v === 'object') {
        return Object.fromEntries(Object.entries(v).map(([k, x]) => [k, canonical(x, k)]));
      }
      return v;
    };
    const servers = await Promise.all(
      this.addresses.map(async (_, i) => [
        await this.run.backend.observer.acceptedConnections(i),
        await this.run.backend.observer.settleOpenConnections(i, 0, 0),
      ]),
    );
    const requests = this.#requestNames();
    const ledger: [string, number][] = [];
    for (const r of this.run.ops) {
      if (r.requestId !== undefined && r.i !== undefined) {
        ledger.push([requests.get(r.requestId) ?? r.requestId, await this.run.backend.observer.timesSeen(r.i, r.requestId)]);
      }
    }
    const m = this.run.metrics.counts();
    const state = {
      closed: this.run.pool.isClosed,
      pool: canonical(this.run.pool.snapshot?.() ?? null),
      servers,
      ledger: ledger.sort(),
      metrics: [m.totalRequests, m.successfulRequests, m.failedRequests],
      history: this.#history(conn),
      pending: pending.map((t) => this.descriptor(t)).sort(),
    };
    return createHash('sha1').update(JSON.stringify(state)).digest('base64');
  }

  /** The history in canonical form: per lane, each operation with its real-time predecessors counted per lane. */
  #history(conn: (id: number | undefined) => string | null): unknown {
    let ops: PoolOperation[];
    try {
      ops = toOperations(
        this.run,
        this.addresses.map(() => 0),
        Number.POSITIVE_INFINITY,
      ).filter((o) => o.input.f !== 'ledger');
    } catch (error) {
      // The run fails at its end anyway: a state never merged with another.
      return `unmergeable #${++unmergeable}: ${(error as Error).message}`;
    }
    const laneOf = (o: PoolOperation) => (o.client.startsWith('conn#') ? `conn:${conn(Number(o.client.slice(5)))}` : o.client);
    const lanes = new Map<string, PoolOperation[]>();
    for (const o of ops) {
      const lane = laneOf(o);
      lanes.set(lane, [...(lanes.get(lane) ?? []), o]);
    }
    const names = [...lanes.keys()].sort();
    const rets = names.map((n) => (lanes.get(n) ?? []).map((o) => o.ret));
    const canon = (v: unknown): unknown =>
      v !== null && typeof v === 'object' && 'conn' in v ? { ...v, conn: conn((v as { conn: number }).conn) } : v;
    return names.map((n) => [
      n,
      (lanes.get(n) ?? [])
        .sort((a, b) => a.call - b.call)
        .map((o) => [
          canon(o.input),
          o.output === undefined ? '…' : canon(o.output),
          rets.map((r) => r.filter((t) => t < o.call).length),
        ]),
    ]);
  }

  #connNames(): Map<number, string> {
    const names = new Map<number, string>();
    const perAddress = new Map<string, number>();
    for (const c of this.run.seen.connects) {
      const k = perAddress.get(c.address) ?? 0;
      perAddress.set(c.address, k + 1);
      names.set(c.conn, `${this.addresses.indexOf(c.address)}.${k}`);
    }
    return names;
  }

  #requestNames(): Map<string, string> {
    const names = new Map<string, string>();
    const perLane = new Map<string, number>();
    for (const r of this.run.ops) {
      const k = perLane.get(r.client) ?? 0;
      perLane.set(r.client, k + 1);
      if (r.requestId !== undefined) names.set(r.requestId, `${r.client}.${k}`);
    }
    return names;
  }
}
