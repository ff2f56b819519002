import type { PendingTask } from '../scheduling/controlled-scheduler.js';

/**
 * What a task's release can touch: one address's key (its pool entry, lock, connection and
 * server), everything (`global`: stats, close, a task we cannot place), or nothing shared
 * (`free`: the nemesis waiting a turn, whose release only schedules the nemesis's next task).
 */
export type TaskKey = number | 'global' | 'free';

/** How to place connector tasks: the addresses, and the address of a connection by id. */
export interface KeyContext {
  readonly addresses: readonly string[];
  connAddress(conn: number): string | undefined;
}

const START = /^(?:c\d+(?:\/w\d+)?|nemesis|prefix|final|recover) (.*)$/;

/** The key a task's release acts on, from its label (see `TaskKey`). */
export function taskKey(task: PendingTask, ctx: KeyContext): TaskKey {
  const label = task.label;
  const start = START.exec(label);
  if (start) {
    const op = start[1] as string;
    if (op === 'waits') return 'free';
    const i = /^\+?\d* ?\w+\((\d+)/.exec(op);
    return i ? Number(i[1]) : 'global';
  }
  if (label.startsWith('connect ')) {
    const i = ctx.addresses.indexOf(label.slice('connect '.length));
    return i >= 0 ? i : 'global';
  }
  const conn = /#(\d+)/.exec(label);
  if (conn) {
    const address = ctx.connAddress(Number(conn[1]));
    const i = address === undefined ? -1 : ctx.addresses.indexOf(address);
    return i >= 0 ? i : 'global';
  }
  return 'global';
}

/**
 * The independence relation of the partial-order reduction: two ready tasks commute when one is
 * `free`, or both act on different addresses. It rests on the pool's key isolation (entries,
 * locks and connections are per key; the shared counters are sums, and only a `global` task,
 * stats or close, reads them), on the simulated network being per server, and on the model's
 * per-key state; the names the run hands out in order (connection and request ids) differ between
 * the two orders but are renamed away by the state hash. A bug that couples keys breaks the
 * assumption: run without `--por` to check a result that depends on it.
 */
export function independent(a: TaskKey, b: TaskKey): boolean {
  if (a === 'free' || b === 'free') return true;
  if (a === 'global' || b === 'global') return false;
  return a !== b;
}
