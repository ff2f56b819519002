import { compareReleases } from './grpc-js-releases.js';

/** What replaying a case on one release gave: how many of the replays reproduced it. */
export interface ReleaseReplays {
  readonly release: string;
  readonly reproduced: number;
  readonly replays: number;
}

/** A release's verdict: the case still fails there (reproduced at least once), or it passes. */
export type ReleaseVerdict = 'fails' | 'passes';

export function verdictOf(r: ReleaseReplays): ReleaseVerdict {
  return r.reproduced > 0 ? 'fails' : 'passes';
}

export interface BisectOutcome {
  /** Every release tried, in the order tried. */
  readonly tried: readonly ReleaseReplays[];
  /**
   * The first release (in version order) with the newer end's verdict, and the one just before it
   * with the older end's; absent when both ends have the same verdict (nothing to bisect).
   */
  readonly change?: { readonly last: ReleaseReplays; readonly first: ReleaseReplays };
}

/**
 * Binary search over `releases` for the release where the verdict changes: both ends are replayed
 * first, then the middle of the span whose ends disagree, until two neighbours disagree. Assumes
 * one change in the span (as git bisect does); `judge` replays the case on one release.
 * `shouldStop` is asked before each release: once true, the search ends with what it has.
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
  if (!older || !newer || verdictOf(older) === verdictOf(newer)) return { tried };
  while (hi - lo > 1) {
    const mid = Math.floor((lo + hi) / 2);
    const r = await run(mid);
    if (!r) return { tried };
    if (verdictOf(r) === verdictOf(older)) {
      lo = mid;
      older = r;
    } else {
      hi = mid;
      newer = r;
    }
  }
  return { tried, change: { last: older, first: newer } };
}
