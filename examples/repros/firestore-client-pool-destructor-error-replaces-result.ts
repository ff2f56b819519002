/**
 * @google-cloud/firestore ClientPool (build/src/pool.js): an operation that succeeded is reported
 * to its caller as failed when closing its (now idle, garbage-collected) client fails; a failed
 * operation's own error is replaced the same way.
 *
 * Why: run() chains `await this.release(...)` before returning the result (pool.js 300, 303-305),
 * and release awaits `clientDestructor` when it garbage-collects the client (186) without catching.
 * The other place that destroys idle clients, transitionToGrpc, does catch and log (108-110).
 *
 * Classification: bug (the result of a finished operation depends on housekeeping of the pool; the
 * caller may retry a write that was applied).
 *
 * Run: node --import ./src/loader/register.mjs examples/repros/firestore-client-pool-destructor-error-replaces-result.ts
 * Exits 1 if an operation's own outcome was replaced by the destructor's error, else 0.
 */
import { createRequire } from 'node:module';
import path from 'node:path';

interface ClientPool<T> {
  run<V>(tag: string, requiresGrpc: boolean, op: (client: T) => Promise<V>): Promise<V>;
  terminate(): Promise<void>;
  readonly size: number;
  readonly opCount: number;
}
type ClientPoolClass = new <T>(limit: number, maxIdle: number, make: () => T, destroy: (c: T) => Promise<void>) => ClientPool<T>;
const require = createRequire(import.meta.url);
const { ClientPool } = require(
  path.join(path.dirname(require.resolve('@google-cloud/firestore/package.json')), 'build/src/pool.js'),
) as { ClientPool: ClientPoolClass };

// 1 operation per client, 0 idle clients kept: every client is garbage-collected when its operation ends.
const pool = new ClientPool<object>(
  1,
  0,
  () => ({}),
  async () => {
    throw new Error('close failed');
  },
);
const outcome = async (p: Promise<string>) =>
  p.then(
    (v) => `resolved ${v}`,
    (e: unknown) => `rejected: ${e instanceof Error ? e.message : String(e)}`,
  );
const ok = await outcome(pool.run('ok', true, async () => 'reply'));
const failed = await outcome(
  pool.run('fails', true, async () => {
    throw new Error('op error (UNAVAILABLE)');
  }),
);
console.log(`op that returned 'reply' -> ${ok}`);
console.log(`op that threw 'op error (UNAVAILABLE)' -> ${failed}`);
if (ok !== 'resolved reply' || failed !== 'rejected: op error (UNAVAILABLE)') {
  console.log("SURPRISE: the operations' outcomes were replaced by the client destructor's error");
  process.exit(1);
}
console.log('each operation reported its own outcome');
process.exit(0);
