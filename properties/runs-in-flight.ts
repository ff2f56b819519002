/**
 * Runs in flight in this process now, of any check, each marked once another run has been in
 * flight beside it. A check that has returned may still have one: fast-check's time limit (and its
 * per-run timeout) stops waiting for a run, it does not stop it, so the run goes on (a live run
 * reconnecting to its servers, closing its pool) while the worker process starts its next check.
 * Such a run's handles are counted process-wide like the next run's own: a run that overlapped
 * another cannot tell its own leaks, and is not leak-checked (`leak-check-skipped`).
 */
export interface RunMark {
  /** Set once another run was in flight at any time beside this one. */
  readonly overlapped: boolean;
}

const inFlight = new Set<{ overlapped: boolean }>();
/** Called once no run is in flight. */
const whenNone: Array<() => void> = [];

/** Marks a run as started: overlapped at once if another is in flight, and marks those. */
export function startRun(): RunMark {
  const mark = { overlapped: inFlight.size > 0 };
  for (const other of inFlight) other.overlapped = true;
  inFlight.add(mark);
  return mark;
}

/** Marks `mark`'s run as ended. */
export function endRun(mark: RunMark): void {
  inFlight.delete(mark as { overlapped: boolean });
  if (inFlight.size === 0) for (const wake of whenNone.splice(0)) wake();
}

/** How many runs are in flight in this process now. */
export function runsInFlight(): number {
  return inFlight.size;
}

/** Resolves once no run of any check is in flight in this process (at once if none is). */
export function noRunsInFlight(): Promise<void> {
  if (inFlight.size === 0) return Promise.resolve();
  return new Promise<void>((resolve) => whenNone.push(resolve));
}
