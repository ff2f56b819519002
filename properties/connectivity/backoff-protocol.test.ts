import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { backoffViolations, lockstepViolation, nominalSchedule } from './backoff-protocol.js';

/** Attempt times under connection-backoff.md's pseudo-code: jitter on each wait, never compounded. */
function writtenAlgorithm(initialMs: number, maxMs: number, attempts: number, random: () => number): number[] {
  const times = [0];
  let backoff = initialMs;
  let wait = initialMs;
  for (let k = 1; k < attempts; k++) {
    times.push((times[k - 1] as number) + wait);
    backoff = Math.min(backoff * 1.6, maxMs);
    wait = backoff * (1 + (random() * 0.4 - 0.2));
  }
  return times;
}

/** Attempt times as grpc-js's BackoffTimeout makes them: the jittered wait is what is multiplied next. */
function compoundingAlgorithm(initialMs: number, maxMs: number, attempts: number, random: () => number): number[] {
  const times = [0];
  let wait = initialMs;
  for (let k = 1; k < attempts; k++) {
    times.push((times[k - 1] as number) + wait);
    const next = Math.min(wait * 1.6, maxMs);
    wait = next + next * (random() * 0.4 - 0.2);
  }
  return times;
}

const params = fc.record({ initialMs: fc.integer({ min: 20, max: 2_000 }), maxExtraMs: fc.integer({ min: 0, max: 5_000 }) });

describe('backoffViolations (connection-backoff.md)', () => {
  it('accepts every schedule of the written algorithm and of a compounding one, with no tolerance at all', () => {
    fc.assert(
      fc.property(
        params,
        fc.integer({ min: 2, max: 12 }),
        fc.infiniteStream(fc.double({ min: 0, max: 1, maxExcluded: true })),
        (p, n, rnd) => {
          const it = rnd[Symbol.iterator]();
          const random = () => it.next().value as number;
          const maxMs = p.initialMs + p.maxExtraMs;
          for (const algorithm of [writtenAlgorithm, compoundingAlgorithm]) {
            expect(backoffViolations(algorithm(p.initialMs, maxMs, n, random), { initialMs: p.initialMs, maxMs }, 0)).toEqual([]);
          }
        },
      ),
      { numRuns: 2_000 },
    );
  });

  it('refuses a first retry off INITIAL_BACKOFF (options not applied: grpc-js defaults)', () => {
    const [v] = backoffViolations([0, 1_000, 2_600], { initialMs: 100, maxMs: 400 }, 50);
    expect(v).toMatch(/first retry after 1000 ms/);
  });

  it('refuses retries that do not grow, or grow too fast, below the cap', () => {
    expect(backoffViolations([0, 100, 200, 300, 400], { initialMs: 100, maxMs: 10_000 }, 0)).not.toEqual([]);
    expect(backoffViolations([0, 100, 500, 2_100], { initialMs: 100, maxMs: 10_000 }, 0)).not.toEqual([]);
  });

  it('refuses a wait past MAX_BACKOFF with its jitter', () => {
    const found = backoffViolations([0, 100, 260, 516, 926], { initialMs: 100, maxMs: 300 }, 10);
    expect(found.some((v) => /MAX_BACKOFF 300 ms/.test(v))).toBe(true);
  });

  it('widens every bound by the tolerance the run measured', () => {
    // 30 ms late on a 100 ms first retry: wrong with no tolerance, fine with 50 ms of it.
    expect(backoffViolations([0, 150, 310], { initialMs: 100, maxMs: 1_000 }, 0)).not.toEqual([]);
    expect(backoffViolations([0, 150, 310], { initialMs: 100, maxMs: 1_000 }, 50)).toEqual([]);
  });
});

describe('lockstepViolation (backoffs started together disperse)', () => {
  it('flags two channels retrying on the same schedule, not two jittered ones', () => {
    const a = nominalSchedule({ initialMs: 50, maxMs: 400 }, 2_000);
    const same = [0, ...a];
    expect(
      lockstepViolation(
        same,
        same.map((t) => t + 3),
        2,
      ),
    ).toMatch(/lockstep/);
    let seed = 1;
    const random = () => {
      seed = (seed * 16_807) % 2_147_483_647;
      return seed / 2_147_483_647;
    };
    let flagged = 0;
    for (let i = 0; i < 2_000; i++) {
      if (lockstepViolation(writtenAlgorithm(50, 400, 8, random), writtenAlgorithm(50, 400, 8, random), 2)) flagged++;
      if (lockstepViolation(compoundingAlgorithm(50, 400, 8, random), compoundingAlgorithm(50, 400, 8, random), 2)) flagged++;
    }
    expect(flagged).toBe(0);
  });

  it('says nothing with too few attempts to tell', () => {
    expect(lockstepViolation([0, 50, 130], [0, 50, 130], 2)).toBeNull();
  });
});

describe('nominalSchedule', () => {
  it('is the un-jittered attempt times within the horizon', () => {
    expect(nominalSchedule({ initialMs: 100, maxMs: 300 }, 1_000)).toEqual([100, 260, 516, 816]);
  });
});
