// Mutation testing of the stack's core and the linearizability checker (npm run mutation). Reports: reports/mutation/.
/** @type {import('@stryker-mutator/api/core').PartialStrykerOptions} */
export default {
  testRunner: 'vitest',
  vitest: { configFile: 'vitest.mutation.config.ts' },
  mutate: [
    'src/pool/**/*.ts',
    'src/client/**/*.ts',
    'src/metrics/**/*.ts',
    'src/faults/**/*.ts',
    'src/harness/linearizability/**/*.ts',
    '!**/*.test.ts',
    // Timing helpers for the bench: what they measure is not a verdict any test could pin.
    '!src/harness/linearizability/time-*.ts',
  ],
  coverageAnalysis: 'perTest',
  // Re-test only mutants whose code or tests changed since the last run (reports/stryker-incremental.json).
  incremental: true,
  incrementalFile: 'reports/stryker-incremental.json',
  concurrency: 2,
  timeoutMS: 20_000,
  reporters: ['html', 'json', 'clear-text', 'progress'],
  htmlReporter: { fileName: 'reports/mutation/mutation.html' },
  jsonReporter: { fileName: 'reports/mutation/mutation.json' },
  tempDirName: '.stryker-tmp',
  // Stryker would rewrite tsconfig.json through the TypeScript compiler API, which TypeScript 7
  // does not have; the sandbox needs no rewrite (vitest reads the sources directly), so point it
  // at a file that does not exist and it skips the step.
  tsconfigFile: 'tsconfig.stryker-skips-this.json',
  cleanTempDir: 'always',
  thresholds: { high: 90, low: 85, break: null },
};
