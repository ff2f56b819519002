import type { HistoryEvent } from './history.js';

/** A checker's verdict, as data: never thrown. */
export interface Verdict {
  readonly valid: boolean;
  readonly checker: string;
  readonly problems: readonly string[];
}

/**
 * Every invoke has a completion (an operation that never settled: a hang), and no completion lacks
 * its invoke. What this cannot see is a request run twice: a promise settles once however often
 * its callback is called, so double execution is checked where it shows, on the servers' ledgers
 * (each request id seen at most once, a success exactly once).
 */
export function checkEveryOpSettlesOnce(history: readonly HistoryEvent[]): Verdict {
  const open = new Map<number, HistoryEvent>();
  const problems: string[] = [];
  for (const e of history) {
    if (e.type === 'invoke') {
      open.set(e.op, e);
    } else if (!open.delete(e.op)) {
      problems.push(`op ${e.op} (${e.f} by ${e.process}) completed as ${e.type} without a pending invoke`);
    }
  }
  for (const e of open.values())
    problems.push(`op ${e.op} (${e.f} by ${e.process}, invoked at ${e.timeMs.toFixed(0)} ms) never settled`);
  return { valid: problems.length === 0, checker: 'every-op-settles-once', problems };
}

/** Every operation named `f` settles within `boundMs` of its invoke. */
export function checkLatencyBound(history: readonly HistoryEvent[], f: string, boundMs: number): Verdict {
  const started = new Map<number, HistoryEvent>();
  const problems: string[] = [];
  for (const e of history) {
    if (e.f !== f) continue;
    if (e.type === 'invoke') started.set(e.op, e);
    else {
      const s = started.get(e.op);
      if (s && e.timeMs - s.timeMs > boundMs) {
        problems.push(`op ${e.op} (${f} by ${e.process}) took ${(e.timeMs - s.timeMs).toFixed(0)} ms, bound ${boundMs} ms`);
      }
    }
  }
  return { valid: problems.length === 0, checker: `latency-bound(${f}, ${boundMs} ms)`, problems };
}
