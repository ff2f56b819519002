/**
 * What the model checker can show of each catalogue variant: the bound (largest program, in
 * operations, with two clients) at which it must find it, or why the simulated explorer cannot.
 */
export const MODEL_CHECK_BOUNDS: Readonly<Record<string, { readonly maxCommands: number } | { readonly cannot: string }>> = {
  'lock-per-call': { maxCommands: 2 },
  'one-lock-for-all-keys': { maxCommands: 2 },
  'close-without-drain': { maxCommands: 2 },
  'remove-returns-early': { maxCommands: 2 },
  'leak-on-remove': { maxCommands: 2 },
  'double-release-on-error': { maxCommands: 2 },
  'uncounted-lock-waiters': { maxCommands: 3 },
  'reused-on-create': { maxCommands: 2 },
  'stats-inflight-zero': { maxCommands: 2 },
  'failures-not-in-metrics': { maxCommands: 2 },
  'stale-health-cache': { maxCommands: 3 },
  'sticky-unavailable': { maxCommands: 4 },
  'breaker-fails-next-3': { maxCommands: 4 },
  'slow-acquire': { maxCommands: 2 },
  'keys-ignore-options': {
    cannot: 'the parallel programs use one key per address (default channel options); only keys-isolate varies the options',
  },
};
