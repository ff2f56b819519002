/**
 * @google-cloud/firestore ClientPool (build/src/pool.js): if destroying one client fails during
 * terminate(), terminate() rejects and the remaining clients are never destroyed (the pool is
 * terminated, so nothing will ever use or garbage-collect them).
 *
 * Why: terminate() awaits each `clientDestructor` in turn, uncaught, inside its loop (pool.js
 * 318-321); the first rejection ends the loop.
 *
 * Classification: bug (channels leak on shutdown; a caller cannot tell which were closed. Calling
 * terminate() again would destroy the rest, but nothing says so).
 *
 * Run: node --import ./src/loader/register.mjs examples/repros/firestore-client-pool-terminate-destructor-error-leaks.ts
 * Exits 1 if clients were left undestroyed after terminate(), else 0.
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

const destroyed: number[] = [];
let nextId = 1;
// 1 operation per client, 3 idle clients kept; destroying client 1 fails.
const pool = new ClientPool<{ id: number }>(
  1,
  3,
  () => ({ id: nextId++ }),
  async (c) => {
    destroyed.push(c.id);
    if (c.id === 1) throw new Error('close of client 1 failed');
  },
);
await Promise.all([1, 2, 3].map((i) => pool.run(`op${i}`, true, async () => i)));
console.log(`clients made: ${nextId - 1}, held idle: ${pool.size}`);
try {
  await pool.terminate();
  console.log('terminate() resolved');
} catch (e) {
  console.log(`terminate() rejected: ${e instanceof Error ? e.message : String(e)}`);
}
console.log(`destructor called for: [${destroyed.join(', ')}]; clients still held: ${pool.size}`);
if (destroyed.length < nextId - 1) {
  console.log('SURPRISE: after terminate(), some clients were never destroyed');
  process.exit(1);
}
console.log('every client was destroyed');
process.exit(0);
