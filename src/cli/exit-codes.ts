/**
 * Exit codes shared by every CLI. A run stopped by a signal exits 128 + the signal's number, as a
 * shell reports it; output closed under us (EPIPE, `| head`) counts as SIGPIPE.
 */
export const EXIT = {
  passed: 0,
  failed: 1,
  usage: 2,
  environment: 3,
  sigint: 130,
  sigpipe: 141,
  sigterm: 143,
} as const;

/** The exit-code paragraph of a CLI's --help; `failed` says what exit 1 means for that CLI. */
export function exitCodesHelp(failed: string): string {
  return [
    'Exit codes:',
    '  0        passed',
    `  1        ${failed}`,
    '  2        bad usage (unknown flag, bad value, unusable input file)',
    '  3        I/O or environment error (output path not writable, folder unreadable, a test server that',
    '           cannot start, an API the harness needs missing from the installed @grpc/grpc-js)',
    '  130/143  interrupted by SIGINT/SIGTERM (partial results written, marked interrupted)',
    '  141      output closed early (EPIPE, e.g. piped into head)',
  ].join('\n');
}
