/**
 * @google-cloud/firestore ClientPool (build/src/pool.js): when `clientFactory` throws (say, the
 * gRPC library fails to load or the settings are invalid), run() throws synchronously instead of
 * returning a rejected promise; a caller that handles failures with .catch() or a rejection
 * handler never sees it. The pool's own counts stay right (no client held, no operation counted).
 *
 * Why: run() is not async; it calls acquire (pool.js 291), which calls the factory (150) before any
 * promise exists.
 *
 * Classification: bug, minor (run() is documented to return "A Promise that resolves with the
 * result of op", 283; inside Firestore its callers are mostly async functions, which turn the throw
 * into a rejection).
 *
 * Run: node --import ./src/loader/register.mjs examples/repros/firestore-client-pool-factory-throws-sync.ts
 * Exits 1 if run() threw synchronously, else 0.
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

let calls = 0;
const pool = new ClientPool<object>(
  2,
  1,
  () => {
    calls += 1;
    if (calls === 1) throw new Error('clientFactory failed');
    return {};
  },
  async () => {},
);
let threw: string | undefined;
let rejected: string | undefined;
try {
  pool
    .run('op', true, async () => 'reply')
    .catch((e: Error) => {
      rejected = e.message;
    });
} catch (e) {
  threw = e instanceof Error ? e.message : String(e);
}
await new Promise((r) => setImmediate(r));
console.log(`run() threw synchronously: ${threw ?? 'no'}; returned promise rejected: ${rejected ?? 'no'}`);
console.log(`afterwards: clients held ${pool.size}, operations counted ${pool.opCount}`);
console.log(`next run(): ${await pool.run('next', true, async () => 'reply')}`);
await pool.terminate();
if (threw !== undefined) {
  console.log('SURPRISE: run() threw instead of returning a rejected promise (the pool stayed consistent)');
  process.exit(1);
}
console.log('run() reported the factory failure as a rejection');
process.exit(0);
