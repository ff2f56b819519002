/**
 * @google-cloud/firestore ClientPool (build/src/pool.js): when terminate() is called twice (say
 * two parts of an app shut the same Firestore instance down), the first call can resolve before
 * every client has been destroyed.
 *
 * Why: each terminate() walks `activeClients`, deleting each client before awaiting its destructor
 * (pool.js 318-321). While the first call awaits client 1's destructor, the second call deletes
 * client 2 and destroys it; the first call's iterator then finds nothing left and resolves.
 *
 * Classification: bug (terminate() promises "resolves when the client is terminated"; a caller
 * that awaited it may go on while a channel is still open).
 *
 * Run: node --import ./src/loader/register.mjs examples/repros/firestore-client-pool-concurrent-terminate.ts
 * Exits 1 if a terminate() resolved while a client was still being destroyed, else 0.
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

const settle = async () => {
  for (let i = 0; i < 5; i++) await new Promise((r) => setImmediate(r));
};
const closing = new Map<number, () => void>();
const stillClosing = new Set<number>();
let nextId = 1;
// 1 operation per client, up to 5 idle clients kept.
const pool = new ClientPool<{ id: number }>(
  1,
  5,
  () => ({ id: nextId++ }),
  (c) => {
    stillClosing.add(c.id);
    console.log(`destroy client ${c.id} started`);
    return new Promise<void>((resolve) =>
      closing.set(c.id, () => {
        stillClosing.delete(c.id);
        console.log(`destroy client ${c.id} finished`);
        resolve();
      }),
    );
  },
);
// Two concurrent operations make two clients; both are kept idle afterwards.
await Promise.all([pool.run('a', true, async () => 'a'), pool.run('b', true, async () => 'b')]);
console.log(`clients held: ${pool.size}`);

let surprise = false;
for (const name of ['first', 'second']) {
  void pool.terminate().then(() => {
    const open = [...stillClosing];
    console.log(`${name} terminate() resolved; clients still closing: [${open.join(', ')}]`);
    if (open.length > 0) surprise = true;
  });
}
await settle();
closing.get(1)?.();
await settle();
closing.get(2)?.();
await settle();
if (surprise) {
  console.log('SURPRISE: a terminate() resolved before every client was destroyed');
  process.exit(1);
}
console.log('each terminate() resolved only after every client was destroyed');
process.exit(0);
