/**
 * @google-cloud/firestore ClientPool (build/src/pool.js): an operation callback that throws
 * synchronously (a non-async function that fails before returning its promise) leaves its
 * operation counted forever: the client is never released, and terminate() never resolves.
 *
 * Why: run() counts the operation in acquire (pool.js 155-158) and then calls `op(client)` outside
 * any try (292); only a rejected promise reaches the catch that releases the client (293-302).
 * terminate() waits for the operation count to reach 0 (311-315).
 *
 * Classification: contract difference (documented precondition: op is "A callback function that
 * returns a Promise", 281; Firestore's own callbacks are async functions). The consequence of
 * breaking it, a shutdown that hangs, is out of proportion.
 *
 * Run: node --import ./src/loader/register.mjs examples/repros/firestore-client-pool-sync-op-throw-hangs-terminate.ts
 * Exits 1 if terminate() had not resolved 500 ms after the only operation failed, else 0.
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

const pool = new ClientPool<object>(
  2,
  1,
  () => ({}),
  async () => {},
);
try {
  pool.run('op', true, () => {
    throw new Error('op failed before returning a promise');
  });
} catch (e) {
  console.log(`run() threw: ${e instanceof Error ? e.message : String(e)}`);
}
console.log(`operations still counted: ${pool.opCount}`);
const outcome = await Promise.race([
  pool.terminate().then(() => 'resolved'),
  new Promise<string>((r) => setTimeout(() => r('still pending after 500 ms'), 500)),
]);
console.log(`terminate(): ${outcome}`);
if (outcome !== 'resolved') {
  console.log('SURPRISE: one synchronously failing operation keeps terminate() waiting forever');
  process.exit(1);
}
console.log('terminate() resolved');
process.exit(0);
