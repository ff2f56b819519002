import { Mutex } from 'async-mutex';
import { ConnectionPool, type Entry } from '../../src/pool/connection-pool.js';
import type { PoolKey } from '../../src/pool/pool-key.js';
import type { PoolFactory } from '../world.js';

/**
 * A known-broken pool: the real pool with one realistic bug, kept test-side so that the suite can
 * show it catches the bug. Never used outside the properties and self-check.
 */
export interface BrokenVariant {
  readonly name: string;
  /** The real-world bug class it stands for, in one line. */
  readonly description: string;
  readonly make: PoolFactory;
}

/** A mutex made per call instead of per key: concurrent gets of one key each create a connection. */
class LockPerCallPool extends ConnectionPool {
  protected override lock(_keyId: string): Mutex {
    return new Mutex();
  }
}

/** `remove` closes the connection at once instead of waiting for calls in flight. */
class CloseWithoutDrainPool extends ConnectionPool {
  protected override waitForIdle(_entry: Entry): Promise<void> {
    return Promise.resolve();
  }
}

/** `remove` takes the key out and counts it closed, but never closes the channel. */
class LeakOnRemovePool extends ConnectionPool {
  protected override closeConnection(_entry: Entry): Promise<void> {
    return Promise.resolve();
  }
}

/** A get that waited on the creation lock for another caller's connection is not counted as reused. */
class UncountedLockWaitersPool extends ConnectionPool {
  protected override async createIfAbsent(key: PoolKey): Promise<{ entry: Entry; created: boolean }> {
    const found = await super.createIfAbsent(key);
    return { entry: found.entry, created: true };
  }
}

export const VARIANTS: readonly BrokenVariant[] = [
  {
    name: 'lock-per-call',
    description: 'creation race: the mutex is made per call, not per key, so concurrent gets create two connections',
    make: (o) => new LockPerCallPool(o),
  },
  {
    name: 'close-without-drain',
    description: 'removal: remove/close closes the connection without waiting for calls in flight',
    make: (o) => new CloseWithoutDrainPool(o),
  },
  {
    name: 'leak-on-remove',
    description: 'leak: remove forgets to close the channel (the counters still say closed)',
    make: (o) => new LeakOnRemovePool(o),
  },
  {
    name: 'uncounted-lock-waiters',
    description: 'stats: gets that waited on the creation lock count as neither created nor reused (found in the real pool)',
    make: (o) => new UncountedLockWaitersPool(o),
  },
];

export function findVariant(name: string): BrokenVariant | undefined {
  return VARIANTS.find((v) => v.name === name);
}
