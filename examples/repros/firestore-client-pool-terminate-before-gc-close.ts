/**
 * @google-cloud/firestore ClientPool (build/src/pool.js): terminate() resolves while a client that
 * `release` is garbage-collecting is still being destroyed, and while an operation that started
 * before terminate() has not settled yet.
 *
 * Why: `release` resolves terminate's wait as soon as the operation count reaches 0 (pool.js
 * 175-177), then removes the idle client from `activeClients` and awaits its destructor (184-186).
 * terminate() destroys only what is still in `activeClients` (318-321), so it never waits for that
 * destructor, and the operation's run() promise waits for it (303-305).
 *
 * Classification: bug. terminate() is meant to wait for pending operations and close every client
 * ("Wait for all pending operations to complete before terminating", pool.js 310; Firestore's
 * terminate(): "A Promise that resolves when the client is terminated").
 *
 * Run: npx tsx examples/repros/firestore-client-pool-terminate-before-gc-close.ts
 * Exits 1 if terminate() resolved before client 1 was closed or before operation 2 settled, else 0.
 */
import { createRequire } from 'node:module';
import path from 'node:path';

interface ClientPool<T> {
  run<V>(tag: string, requiresGrpc: boolean, op: (client: T) => Promise<V>): Promise<V>;
  terminate(): Promise<void>;
}
type ClientPoolClass = new <T>(limit: number, maxIdle: number, make: () => T, destroy: (c: T) => Promise<void>) => ClientPool<T>;
const require = createRequire(import.meta.url);
const { ClientPool } = require(
  path.join(path.dirname(require.resolve('@google-cloud/firestore/package.json')), 'build/src/pool.js'),
) as { ClientPool: ClientPoolClass };

function deferred(): { promise: Promise<void>; resolve: () => void } {
  let resolve = () => {};
  const promise = new Promise<void>((r) => {
    resolve = r;
  });
  return { promise, resolve };
}
const settle = async () => {
  for (let i = 0; i < 5; i++) await new Promise((r) => setImmediate(r));
};

const events: string[] = [];
const closing = new Map<number, () => void>();
let nextId = 1;
// 2 operations per client, 1 idle client kept. Closing a client takes until we say so.
const pool = new ClientPool<{ id: number }>(
  2,
  1,
  () => ({ id: nextId++ }),
  (c) => {
    events.push(`destroy client ${c.id} started`);
    const d = deferred();
    closing.set(c.id, d.resolve);
    return d.promise.then(() => {
      events.push(`destroy client ${c.id} finished`);
    });
  },
);

const ops = [deferred(), deferred(), deferred()];
const settled: string[] = [];
// op1 and op2 land on client 1 (the most-used client under the limit), op3 on a new client 2.
ops.forEach((d, i) => {
  void pool.run(`op${i + 1}`, true, () => d.promise).then(() => settled.push(`op${i + 1}`));
});
ops[0]?.resolve();
ops[1]?.resolve();
await settle();
// Client 1 is now idle while client 2 has one operation: 3 free slots > 2, so it is garbage-collected.
let terminated = false;
void pool.terminate().then(() => {
  terminated = true;
  events.push('terminate() resolved');
});
ops[2]?.resolve();
await settle();
closing.get(2)?.(); // client 2 (destroyed by terminate) finishes closing; client 1's close is still running
await settle();
const early = terminated && (!events.includes('destroy client 1 finished') || !settled.includes('op2'));
console.log(events.join('\n'));
console.log(`operations settled when terminate() resolved: ${settled.join(', ')}`);
closing.get(1)?.();
await settle();
if (early) {
  console.log(
    'SURPRISE: terminate() resolved while client 1 was still closing and op2 (started before terminate) had not settled',
  );
  process.exit(1);
}
console.log('terminate() waited for every client to close and every operation to settle');
process.exit(0);
