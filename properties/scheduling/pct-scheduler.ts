import fc, { type Scheduler } from 'fast-check';
import { ControlledScheduler, type SchedulingStrategy } from './controlled-scheduler.js';
import { type PctConstraints, PctStrategy, RandomStrategy } from './strategies.js';

/**
 * A fast-check arbitrary of PCT schedulers (see `PctStrategy`), a drop-in for `fc.scheduler()`:
 * the seed is generated (and not shrunk: another seed is another schedule, not a smaller one), and
 * the scheduler is cloned fresh whenever fast-check runs the same value again.
 */
export function pctScheduler(constraints: PctConstraints = {}): fc.Arbitrary<Scheduler> {
  return seeded((seed) => new PctStrategy(seed, constraints));
}

/** Uniformly random release order from a generated seed, through the same controlled scheduler. */
export function randomScheduler(): fc.Arbitrary<Scheduler> {
  return seeded((seed) => new RandomStrategy(seed));
}

function seeded(make: (seed: number) => SchedulingStrategy): fc.Arbitrary<Scheduler> {
  return fc.noShrink(fc.integer({ min: 0, max: 2 ** 31 - 1 })).map((seed) => fresh(() => make(seed)));
}

function fresh(make: () => SchedulingStrategy): Scheduler {
  const s = new ControlledScheduler(make());
  Object.defineProperty(s, fc.cloneMethod, { value: () => fresh(make) });
  Object.defineProperty(s, fc.toStringMethod, { value: () => s.toString() });
  return s;
}
