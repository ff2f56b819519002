import { compareReleases } from './grpc-js-releases.js';

/** What replaying a case on one release gave: how many of the replays reproduced it. */
export interface ReleaseReplays {
  readonly release: string;
  readonly reproduced: number;
  readonly replays: number;
  /** Why the replays gave no verdict there (the process crashed, the release cannot be installed). */
  readonly error?: string;
}

/**
 * A release's verdict: the case still fails there (reproduced at least once), it passes, or the
 * replays ended without a verdict (`error`): such a release is skipped, as git bisect skips.
 */
export type ReleaseVerdict = 'fails' | 'passes' | 'none';

export function verdictOf(r: ReleaseReplays): ReleaseVerdict {
  if (r.error !== undefined) return 'none';
  return r.reproduced > 0 ? 'fails' : 'passes';
}

export interface BisectOutcome {
  /** Every release tried, in the order tried. */
  readonly tried: readonly ReleaseReplays[];
  /**
   * The first release (in version order) with the newer end's verdict, and the last one before it
   * with the older end's; `skipped`, the releases between the two that gave no verdict (the change
   * is at one of them or at `first`). Absent when both ends have the same verdict, or either none.
   */
  readonly change?: { readonly last: ReleaseReplays; readonly first: ReleaseReplays; readonly skipped: readonly string[] };
}

/**
 * Binary search over `releases` for the release where the verdict changes: both ends are replayed
 * first, then the middle of the span whose ends disagree, until two neighbours disagree. A release
 * without a verdict is skipped for the untried one nearest the middle. Assumes one change in the
 * span (as git bisect does); `judge` replays the case on one release. `shouldStop` is asked before
 * each release: once true, the search ends with what it has.
 */
export async function bisectReleases(
  releases: readonly string[],
  judge: (release: string) => Promise<ReleaseReplays>,
  shouldStop: () => boolean = () => false,
): Promise<BisectOutcome> {
  const sorted = [...releases].sort(compareReleases);
  if (sorted.length < 2) throw new RangeError('bisect needs at least two releases');
  const tried: ReleaseReplays[] = [];
  const run = async (i: number): Promise<ReleaseReplays | undefined> => {
    if (shouldStop()) return undefined;
    const r = await judge(sorted[i] as string);
    tried.push(r);
    return r;
  };
  let lo = 0;
  let hi = sorted.length - 1;
  let older = await run(lo);
  let newer = older && (await run(hi));
  if (!older || !newer || verdictOf(older) === 'none' || verdictOf(newer) === 'none') return { tried };
  if (verdictOf(older) === verdictOf(newer)) return { tried };
  const skipped = new Set<number>();
  for (;;) {
    const mid = (lo + hi) / 2;
    const untried = [];
    for (let i = lo + 1; i < hi; i++) if (!skipped.has(i)) untried.push(i);
    const next = untried.sort((a, b) => Math.abs(a - mid) - Math.abs(b - mid) || a - b)[0];
    if (next === undefined) break;
    const r = await run(next);
    if (!r) return { tried };
    if (verdictOf(r) === 'none') skipped.add(next);
    else if (verdictOf(r) === verdictOf(older)) {
      lo = next;
      older = r;
    } else {
      hi = next;
      newer = r;
    }
  }
  return { tried, change: { last: older, first: newer, skipped: sorted.slice(lo + 1, hi) } };
}
