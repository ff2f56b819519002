/** Bad command-line usage: the CLI prints the message and exits 2. */
export class UsageError extends Error {
  readonly code = 'ERR_USAGE';
  constructor(message: string) {
    super(message);
    this.name = 'UsageError';
  }
}

/** Runs a CLI's main: exit 2 with the message on `UsageError`, 1 with the message on anything else. */
export function runMain(main: () => Promise<number>): void {
  main().then(
    (code) => {
      process.exitCode = code;
    },
    (error: unknown) => {
      if (error instanceof UsageError) {
        process.stderr.write(`error: ${error.message}\n(see --help)\n`);
        process.exitCode = 2;
      } else {
        const e = error as { code?: string; message?: string };
        process.stderr.write(`error${e?.code ? ` [${e.code}]` : ''}: ${e?.message ?? String(error)}\n`);
        process.exitCode = 1;
      }
    },
  );
}
