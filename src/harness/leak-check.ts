import { setImmediate as nextTurn } from 'node:timers/promises';

/** Handle kinds that mean a network resource is still open (as `process.getActiveResourcesInfo()` names them). */
const NETWORK_RESOURCES = new Set(['TCPServerWrap', 'TCPSocketWrap', 'TCPWrap', 'PipeWrap', 'PipeServerWrap', 'UDPWrap']);

/** Counts of open network handles by kind. */
export type HandleCounts = ReadonlyMap<string, number>;

/** The network handles this process holds right now, by kind. */
export function countNetworkHandles(): HandleCounts {
  const counts = new Map<string, number>();
  for (const kind of process.getActiveResourcesInfo()) {
    if (NETWORK_RESOURCES.has(kind)) counts.set(kind, (counts.get(kind) ?? 0) + 1);
  }
  return counts;
}

/** Handles open now beyond those in `baseline`, as `TCPSocketWrap +2`. */
export function handlesBeyond(baseline: HandleCounts): string[] {
  const out: string[] = [];
  for (const [kind, n] of countNetworkHandles()) {
    const extra = n - (baseline.get(kind) ?? 0);
    if (extra > 0) out.push(`${kind} +${extra}`);
  }
  return out;
}

export interface LeakCheckOptions {
  /** Handles that were open before the code under check ran (e.g. the test runner's own pipes). */
  readonly baseline: HandleCounts;
  /** How long to let closes already under way finish before judging; default 2 000 ms. */
  readonly settleMs?: number;
}

/**
 * Waits (turn by turn of the event loop, up to `settleMs`) for network handles beyond the baseline
 * to close, and returns those still open. Closes started just before the call need a few turns to
 * finish; a handle still open after the settle time is a leak.
 */
export async function findLeakedHandles(options: LeakCheckOptions): Promise<string[]> {
  const deadline = performance.now() + (options.settleMs ?? 2_000);
  let open = handlesBeyond(options.baseline);
  while (open.length > 0 && performance.now() < deadline) {
    await nextTurn();
    open = handlesBeyond(options.baseline);
  }
  return open;
}
