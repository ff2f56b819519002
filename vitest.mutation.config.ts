import { defineConfig } from 'vitest/config';

// The suite Stryker runs against each mutant of src/pool, src/client and src/metrics: the unit
// tests, the properties (at CI size), the catalogue and the scenarios. The CLI tests are left out:
// they run the code in child processes, where a mutant is never active.
export default defineConfig({
  test: {
    include: [
      'src/pool/**/*.test.ts',
      'src/client/**/*.test.ts',
      'src/metrics/**/*.test.ts',
      'src/env/**/*.test.ts',
      'properties/**/*.test.ts',
      'scenarios/**/*.test.ts',
    ],
    pool: 'forks',
    testTimeout: 60_000,
    hookTimeout: 60_000,
  },
});
