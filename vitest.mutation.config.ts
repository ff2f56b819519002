import { configDefaults, defineConfig } from 'vitest/config';

// The suite Stryker runs against each mutant of src/pool, src/client, src/metrics, src/faults and
// the linearizability checker: the unit
// tests, the properties at CI size and the scenarios. Left out: the CLI tests (they run the code
// in child processes, where a mutant is never active), and the variant catalogue and regression
// replays (they judge the suite, not the stack, and would only slow each mutant down).
export default defineConfig({
  test: {
    include: [
      'src/pool/**/*.test.ts',
      'src/client/**/*.test.ts',
      'src/metrics/**/*.test.ts',
      'src/faults/**/*.test.ts',
      'src/harness/linearizability/**/*.test.ts',
      'src/env/**/*.test.ts',
      'properties/pool-property.test.ts',
      'scenarios/**/*.test.ts',
    ],
    // Timing of the vendored histories: a benchmark's test, slow under instrumentation.
    exclude: [...configDefaults.exclude, 'src/harness/linearizability/time-*.test.ts'],
    pool: 'forks',
    testTimeout: 60_000,
    hookTimeout: 60_000,
  },
});
