import { EXIT } from './exit-codes.js';

/** Bad command-line usage (or a bad input file): the CLI prints the message and exits 2. */
export class UsageError extends Error {
  readonly code: string = 'ERR_USAGE';
  constructor(message: string) {
    super(message);
    this.name = new.target.name;
  }
}

/**
 * The environment let the CLI down (an output path it cannot write, a folder it cannot read):
 * the CLI prints the message and exits 3, distinct from a property failure.
 */
export class EnvironmentError extends Error {
  readonly code: string = 'ERR_ENVIRONMENT';
  constructor(message: string) {
    super(message);
    this.name = new.target.name;
  }
}

/** File-system error codes that say "the environment", not "the code under test". */
const ENVIRONMENT_ERRNOS = new Set([
  'ENOTDIR',
  'EISDIR',
  'EACCES',
  'EPERM',
  'EROFS',
  'ENOSPC',
  'EDQUOT',
  'EEXIST',
  'ENOENT',
  'EMFILE',
  'EADDRINUSE',
  'EADDRNOTAVAIL',
]);

/** Whether `error` is a Node system error about the file system or the machine (exit 3). */
export function isEnvironmentErrno(error: unknown): error is NodeJS.ErrnoException {
  const code = (error as NodeJS.ErrnoException | null)?.code;
  return typeof code === 'string' && ENVIRONMENT_ERRNOS.has(code) && typeof (error as NodeJS.ErrnoException).syscall === 'string';
}

/**
 * Codes of errors raised when the harness itself could not set a run up (`SetupFailure` in
 * properties/outcomes.ts, also as it comes back from a worker process): the environment, exit 3.
 */
const ENVIRONMENT_CODES = new Set(['ERR_SETUP']);

/** The exit code for an error that ended a CLI's main. */
export function exitCodeOf(error: unknown): number {
  if (error instanceof UsageError) return EXIT.usage;
  if (error instanceof EnvironmentError || isEnvironmentErrno(error)) return EXIT.environment;
  if (ENVIRONMENT_CODES.has(String((error as { code?: unknown } | null)?.code))) return EXIT.environment;
  return EXIT.failed;
}
