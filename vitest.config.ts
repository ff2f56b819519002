import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    include: [
      'src/**/*.test.ts',
      'models/**/*.test.ts',
      'properties/**/*.test.ts',
      'scenarios/**/*.test.ts',
      'test/**/*.test.ts',
    ],
    // Every test file runs in its own process, so the leak check below sees only that file's handles.
    pool: 'forks',
    maxWorkers: 2,
    setupFiles: ['test/setup/leak-check.ts'],
    testTimeout: 60_000,
    hookTimeout: 60_000,
    reporters: ['default'],
  },
});
