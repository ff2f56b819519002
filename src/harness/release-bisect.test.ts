import { describe, expect, it } from 'vitest';
import { bisectReleases, type ReleaseReplays } from './release-bisect.js';

const RELEASES = ['1.11.0', '1.11.1', '1.11.2', '1.11.3', '1.12.0', '1.12.1', '1.12.2', '1.12.3', '1.12.4', '1.12.5'];

/** A judge under which the case fails on the releases `failsOn` accepts, 5 replays a release. */
function judge(failsOn: (v: string) => boolean) {
  return async (release: string): Promise<ReleaseReplays> => ({ release, reproduced: failsOn(release) ? 5 : 0, replays: 5 });
}

describe('bisecting releases', () => {
  it('names the first release of a fix (old end fails, new end passes), trying both ends then halves', async () => {
    const fixed = RELEASES.indexOf('1.12.4');
    const outcome = await bisectReleases(
      RELEASES,
      judge((v) => RELEASES.indexOf(v) < fixed),
    );
    expect(outcome.change?.first.release).toBe('1.12.4');
    expect(outcome.change?.last.release).toBe('1.12.3');
    expect(outcome.tried.slice(0, 2).map((r) => r.release)).toEqual(['1.11.0', '1.12.5']);
    // Ten releases: both ends and at most four halvings.
    expect(outcome.tried.length).toBeLessThanOrEqual(2 + Math.ceil(Math.log2(RELEASES.length)));
  });

  it('names the first release of a regression, whatever order the releases come in', async () => {
    const broke = RELEASES.indexOf('1.11.1');
    const outcome = await bisectReleases(
      [...RELEASES].reverse(),
      judge((v) => RELEASES.indexOf(v) >= broke),
    );
    expect(outcome.change?.first).toEqual({ release: '1.11.1', reproduced: 5, replays: 5 });
    expect(outcome.change?.last.release).toBe('1.11.0');
  });

  it('reports no change when both ends agree, and stops when asked', async () => {
    expect(
      (
        await bisectReleases(
          RELEASES,
          judge(() => true),
        )
      ).change,
    ).toBeUndefined();
    let calls = 0;
    const stopped = await bisectReleases(
      RELEASES,
      judge((v) => v < '1.12'),
      () => ++calls > 2,
    );
    expect(stopped.change).toBeUndefined();
    expect(stopped.tried).toHaveLength(2);
  });
});

describe('releases without a verdict', () => {
  it('are skipped for the nearest untried release, and named when the change may be at one of them', async () => {
    const fixed = RELEASES.indexOf('1.12.4');
    const crashes = new Set(['1.12.3']);
    const outcome = await bisectReleases(RELEASES, async (release) =>
      crashes.has(release)
        ? { release, reproduced: 0, replays: 0, error: 'the process crashed' }
        : { release, reproduced: RELEASES.indexOf(release) < fixed ? 5 : 0, replays: 5 },
    );
    expect(outcome.change?.first.release).toBe('1.12.4');
    expect(outcome.change?.last.release).toBe('1.12.2');
    expect(outcome.change?.skipped).toEqual(['1.12.3']);
    expect(outcome.tried.filter((r) => r.error).map((r) => r.release)).toEqual(['1.12.3']);
  });

  it('an end without a verdict leaves nothing to bisect', async () => {
    const outcome = await bisectReleases(RELEASES, async (release) =>
      release === '1.11.0' ? { release, reproduced: 0, replays: 0, error: 'no' } : { release, reproduced: 0, replays: 5 },
    );
    expect(outcome.change).toBeUndefined();
  });
});
