/**
 * @google-cloud/firestore ClientPool (build/src/pool.js): an operation's result reaches its caller
 * only after the pool has finished closing the client the operation ran on, whenever that client
 * is garbage-collected as the operation ends. A slow close (a channel draining, a stuck socket)
 * delays a reply that had already arrived.
 *
 * Why: run() awaits `release` before handing back the result (pool.js 303-305), and release
 * awaits `clientDestructor` of a garbage-collected client (186).
 *
 * Classification: contract difference (the await is deliberate code, but undocumented: run()'s doc
 * says the result resolves "with the result of op", and Firestore's destructor, gax client close(),
 * can take as long as the channel takes to shut down).
 *
 * Run: node --import ./src/loader/register.mjs examples/repros/firestore-client-pool-result-waits-for-gc-close.ts
 * Exits 1 if the finished operation's result was held back by its client's close, else 0.
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
let finishClose = () => {};
// 1 operation per client, 0 idle clients kept (Firestore's maxIdleChannels: 0): the client is closed
// when the operation ends. Its close takes until we say so.
const pool = new ClientPool<object>(
  1,
  0,
  () => ({}),
  () =>
    new Promise<void>((resolve) => {
      console.log('client close started');
      finishClose = () => {
        console.log('client close finished');
        resolve();
      };
    }),
);
let result: string | undefined;
void pool
  .run('op', true, async () => {
    console.log('operation finished with "reply"');
    return 'reply';
  })
  .then((r) => {
    result = r;
    console.log(`caller got "${r}"`);
  });
await settle();
const heldBack = result === undefined;
console.log(`before the close finished, the caller had: ${result ?? 'nothing yet'}`);
finishClose();
await settle();
if (heldBack) {
  console.log("SURPRISE: the operation's result waited for its client's close");
  process.exit(1);
}
console.log('the result did not wait for the close');
process.exit(0);
