import { PoolClient } from '../../src/client/pool-client.js';
import type { Stack } from '../stack.js';
import {
  CloseWithoutDrainPool,
  DoubleReleaseOnErrorPool,
  KeysIgnoreOptionsPool,
  LeakOnRemovePool,
  LockPerCallPool,
  RemoveReturnsEarlyPool,
  ReusedOnCreatePool,
  UncountedLockWaitersPool,
} from './pool-variants.js';
import { cacheHealthForever, dropFailures, stickyUnavailable } from './stack-variants.js';

/** Kinds of real-world bug the catalogue spreads over. */
export type BugClass =
  | 'creation race'
  | 'removal and draining'
  | 'leak'
  | 'error path'
  | 'health'
  | 'stats and metrics'
  | 'keys and isolation'
  | 'server restart';

/**
 * A known-broken stack: the real one with one realistic bug, kept test-side so that the suite can
 * show it catches the bug. Never used outside the properties and self-check.
 */
export interface BrokenVariant extends Stack {
  readonly name: string;
  readonly bugClass: BugClass;
  /** The real-world bug it stands for, in one line. */
  readonly description: string;
  /**
   * Commands in the shortest sequence that shows the bug, and why no shorter one can: the
   * self-check compares the shrunk counterexample with it.
   */
  readonly shortest: { readonly commands: number; readonly why: string };
}

export const VARIANTS: readonly BrokenVariant[] = [
  {
    name: 'lock-per-call',
    bugClass: 'creation race',
    description: 'the mutex is made per call, not per key, so concurrent gets of one key create two connections',
    makePool: (o) => new LockPerCallPool(o),
    shortest: { commands: 1, why: 'one wave of 2 concurrent requests to one address races the creation' },
  },
  {
    name: 'close-without-drain',
    bugClass: 'removal and draining',
    description: 'remove/close close the connection without waiting for calls in flight',
    makePool: (o) => new CloseWithoutDrainPool(o),
    shortest: { commands: 2, why: 'a call must be in flight (a wave) when a remove or close happens' },
  },
  {
    name: 'remove-returns-early',
    bugClass: 'removal and draining',
    description: 'remove answers before the connection is closed (fire-and-forget close)',
    makePool: (o) => new RemoveReturnsEarlyPool(o),
    shortest: { commands: 2, why: 'a key must exist (add or call) before a remove can close it' },
  },
  {
    name: 'leak-on-remove',
    bugClass: 'leak',
    description: 'remove and close forget to close the channel, though the counters say closed',
    makePool: (o) => new LeakOnRemovePool(o),
    shortest: { commands: 1, why: 'one command creating a connection; the end-of-run close leaks it' },
  },
  {
    name: 'double-release-on-error',
    bugClass: 'error path',
    description: 'a failed call releases its lease twice (catch and finally, no guard)',
    makePool: (o) => new DoubleReleaseOnErrorPool(o),
    shortest: { commands: 1, why: 'one failing call (a wave or call with fail=)' },
  },
  {
    name: 'uncounted-lock-waiters',
    bugClass: 'stats and metrics',
    description: 'gets that waited on the creation lock count as neither created nor reused (was in the real pool)',
    makePool: (o) => new UncountedLockWaitersPool(o),
    shortest: { commands: 1, why: 'one wave of 2 concurrent requests to one address' },
  },
  {
    name: 'reused-on-create',
    bugClass: 'stats and metrics',
    description: 'the get that creates a connection also counts it as reused',
    makePool: (o) => new ReusedOnCreatePool(o),
    shortest: { commands: 1, why: 'one call creates a connection' },
  },
  {
    name: 'failures-not-in-metrics',
    bugClass: 'stats and metrics',
    description: 'the client records successes in LoadTestMetrics but forgets failures on the error path',
    makeClient: (a, o) => new PoolClient(a, { ...o, metrics: o.metrics && dropFailures(o.metrics) }),
    shortest: { commands: 1, why: 'one failing call' },
  },
  {
    name: 'stale-health-cache',
    bugClass: 'health',
    description: 'health answers are cached per connection and never refreshed',
    wrapConnector: cacheHealthForever,
    shortest: { commands: 3, why: 'a health check, a status change, and a second health check' },
  },
  {
    name: 'sticky-unavailable',
    bugClass: 'server restart',
    description: 'a circuit breaker opens on UNAVAILABLE and never closes: the key stays failed after the server is back',
    wrapConnector: stickyUnavailable,
    shortest: { commands: 4, why: 'kill a server, fail a call on it, restart it, and wait for recovery' },
  },
  {
    name: 'keys-ignore-options',
    bugClass: 'keys and isolation',
    description: 'channel options are left out of the pool key, so callers with other options share a connection',
    makePool: (o) => new KeysIgnoreOptionsPool(o),
    shortest: { commands: 2, why: 'two gets of one address with different options (keys-isolate property)' },
  },
];

export function findVariant(name: string): BrokenVariant | undefined {
  return VARIANTS.find((v) => v.name === name);
}
