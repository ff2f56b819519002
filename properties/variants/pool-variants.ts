import { Mutex } from 'async-mutex';
import { ConnectionPool, type Entry, type Lease } from '../../src/pool/connection-pool.js';
import type { Connection } from '../../src/pool/connector.js';
import type { KeyOptions, PoolKey } from '../../src/pool/pool-key.js';

// Each class is the real pool with one realistic bug, written as the small change a hurried
// author might make. They live test-side only: the suite must show it catches each of them.

/** A mutex made per call instead of per key: concurrent gets of one key each create a connection. */
export class LockPerCallPool extends ConnectionPool {
  protected override lock(_keyId: string): Mutex {
    return new Mutex();
  }
}

/** `remove`/`close` close the connection at once instead of waiting for calls in flight. */
export class CloseWithoutDrainPool extends ConnectionPool {
  protected override waitForIdle(_entry: Entry): Promise<void> {
    return Promise.resolve();
  }
}

/** `remove` takes the key out and counts it closed, but never closes the channel. */
export class LeakOnRemovePool extends ConnectionPool {
  protected override closeConnection(_entry: Entry): Promise<void> {
    return Promise.resolve();
  }
}

/** Gets that waited on the creation lock for another caller's connection count as neither created nor reused. */
export class UncountedLockWaitersPool extends ConnectionPool {
  protected override async createIfAbsent(key: PoolKey): Promise<{ entry: Entry; created: boolean }> {
    const found = await super.createIfAbsent(key);
    return { entry: found.entry, created: true };
  }
}

/** A get that creates the connection also counts it as reused (off by one in the reuse rate). */
export class ReusedOnCreatePool extends ConnectionPool {
  protected override async createIfAbsent(key: PoolKey): Promise<{ entry: Entry; created: boolean }> {
    const found = await super.createIfAbsent(key);
    if (found.created) this.reused += 1;
    return found;
  }
}

/** The lease is released in `catch` and again in `finally`, and release has no guard: a failed call frees two leases. */
export class DoubleReleaseOnErrorPool extends ConnectionPool {
  protected override lease(entry: Entry): Lease {
    entry.inFlight += 1;
    return {
      connection: entry.connection,
      release: () => {
        entry.inFlight -= 1;
        if (entry.inFlight === 0) entry.onIdle?.();
      },
    };
  }

  override async withKey<T>(key: PoolKey, use: (c: Connection) => Promise<T>): Promise<T> {
    const lease = await this.acquireKey(key);
    try {
      return await use(lease.connection);
    } catch (error) {
      lease.release();
      throw error;
    } finally {
      lease.release();
    }
  }
}

/** `remove` answers before the connection is closed (fire-and-forget close). */
export class RemoveReturnsEarlyPool extends ConnectionPool {
  override async remove(address: string, options?: KeyOptions): Promise<boolean> {
    const key = this.keyOf(address, options);
    const entry = this.entries.get(key.id);
    if (!entry) return false;
    this.entries.delete(key.id);
    void this.drainAndClose(entry);
    return true;
  }
}

/** Channel options are left out of the key: callers with other options share the first caller's connection. */
export class KeysIgnoreOptionsPool extends ConnectionPool {
  override keyOf(address: string, options?: KeyOptions): PoolKey {
    const real = super.keyOf(address, options);
    const withoutOptions = super.keyOf(address, { credentials: options?.credentials });
    return { ...real, id: withoutOptions.id };
  }
}
