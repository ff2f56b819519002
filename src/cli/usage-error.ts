// The CLIs' errors and main runner, under the name they have always been imported by.
export { EnvironmentError, UsageError } from './cli-errors.js';
export { runMain } from './run-main.js';
