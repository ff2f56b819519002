/**
 * @google-cloud/firestore ClientPool (build/src/pool.js): `maxIdleClients` ("the maximum number of
 * idle clients to keep before garbage collecting", pool.js 79-80; Firestore's maxIdleChannels, "the
 * maximum number of idle GRPC channels to keep") bounds idle capacity, not idle clients: a client
 * whose last operation ends is destroyed whenever other clients have free slots, even if it is the
 * only idle client. The next burst then has to make a new client: a close and a connect that
 * keeping it would have saved.
 *
 * Why: shouldGarbageCollectClient sums the free slots of every client, busy ones included, and
 * destroys the idle client if the sum exceeds maxIdleClients * concurrentOperationLimit (221-238).
 *
 * Classification: contract difference (intended: "only garbage collect if we have too much idle
 * capacity", 221-222; never more idle clients than maxIdleClients, but sometimes fewer).
 *
 * Run: node --import ./src/loader/register.mjs examples/repros/firestore-client-pool-idle-capacity-churn.ts
 * Exits 1 if the only idle client was destroyed and a new one made for the next burst, else 0.
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
const log: string[] = [];
let nextId = 1;
// 2 operations per client, 1 idle client kept.
const pool = new ClientPool<{ id: number }>(
  2,
  1,
  () => {
    const c = { id: nextId++ };
    log.push(`make client ${c.id}`);
    return c;
  },
  async (c) => {
    log.push(`destroy client ${c.id}`);
  },
);
function start(name: string) {
  let finish = () => {};
  const done = new Promise<void>((r) => {
    finish = r;
  });
  void pool.run(name, true, async (c) => {
    log.push(`${name} on client ${c.id}`);
    await done;
  });
  return finish;
}
// Three operations: op1 and op2 on client 1, op3 on client 2.
const [f1, f2, f3] = ['op1', 'op2', 'op3'].map(start);
await settle();
f1?.();
f2?.();
await settle();
log.push(`-- op1, op2 done; clients held: ${pool.size} (client 1 was the only idle one)`);
// The next burst of two: one fits on client 2, the other needs a client.
const [f4, f5] = ['op4', 'op5'].map(start);
await settle();
for (const f of [f3, f4, f5]) f?.();
await settle();
console.log(log.join('\n'));
if (log.includes('destroy client 1') && log.includes('make client 3')) {
  console.log('SURPRISE: with maxIdleClients 1, the only idle client was destroyed, and a new one made moments later');
  process.exit(1);
}
console.log('the idle client was kept for the next burst');
process.exit(0);
