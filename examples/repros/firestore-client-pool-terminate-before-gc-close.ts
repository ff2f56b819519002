/**
 * @google-cloud/firestore ClientPool (build/src/pool.js): terminate() resolves while a client that
 * `release` is garbage-collecting is still being destroyed, and while the operation that ran last
 * on that client (started before terminate()) has not settled yet.
 *
 * Why: `release` resolves terminate's wait as soon as the operation count reaches 0 (pool.js
 * 175-177), then removes the idle client from `activeClients` and awaits its destructor (184-186).
 * terminate() destroys only what is still in `activeClients` (318-321), so it never waits for that
 * destructor; the operation's run() promise does (303-305). Two ways in, both shown below:
 *   A. the client was garbage-collected before terminate() was called;
 *   B. it is garbage-collected by the very release that ends terminate()'s wait.
 * (The suite's pool-linearizable property finds both through the adapter, on the simulated and
 * the live layer: "close() resolved while connection #N was still open".)
 *
 * Classification: bug. terminate() is meant to wait for pending operations and close every client
 * ("Wait for all pending operations to complete before terminating", pool.js 310; Firestore's
 * terminate(): "A Promise that resolves when the client is terminated").
 *
 * Run: node --import ./src/loader/register.mjs examples/repros/firestore-client-pool-terminate-before-gc-close.ts
 * Exits 1 if in either case terminate() resolved before every client was closed or before every
 * operation started before it settled, else 0.
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

/** A pool of 2 operations per client, 1 idle client kept, whose client closes finish when told. */
function setUp() {
  const events: string[] = [];
  const closing = new Map<number, () => void>();
  const closed = new Set<number>();
  let nextId = 1;
  const pool = new ClientPool<{ id: number }>(
    2,
    1,
    () => ({ id: nextId++ }),
    (c) => {
      events.push(`  destroy client ${c.id} started`);
      const d = deferred();
      closing.set(c.id, d.resolve);
      return d.promise.then(() => {
        closed.add(c.id);
        events.push(`  destroy client ${c.id} finished`);
      });
    },
  );
  const settled: string[] = [];
  // op1 and op2 land on client 1 (the most-used client under the limit), op3 on a new client 2.
  const ops = [deferred(), deferred(), deferred()];
  ops.forEach((d, i) => {
    void pool
      .run(`op${i + 1}`, true, () => d.promise)
      .then(() => {
        settled.push(`op${i + 1}`);
        events.push(`  op${i + 1}'s run() settled`);
      });
  });
  let verdict: string | undefined;
  const terminate = () =>
    void pool.terminate().then(() => {
      const open = [1, 2].filter((id) => !closed.has(id));
      const unsettled = ['op1', 'op2', 'op3'].filter((o) => !settled.includes(o));
      events.push(
        `  terminate() resolved; clients not yet closed: [${open.join(', ')}]; ops unsettled: [${unsettled.join(', ')}]`,
      );
      verdict = open.length + unsettled.length > 0 ? 'early' : 'ok';
    });
  return { events, closing, ops, terminate, verdict: () => verdict };
}

// A: op1 and op2 end; client 1 is idle while client 2 has op3 (free capacity 3 > 2), so it is
// garbage-collected now. Then terminate(), then op3 ends; client 2's close finishes, client 1's not yet.
const a = setUp();
a.ops[0]?.resolve();
a.ops[1]?.resolve();
await settle();
a.terminate();
a.ops[2]?.resolve();
await settle();
a.closing.get(2)?.();
await settle();
const verdictA = a.verdict();
a.closing.get(1)?.();
await settle();
console.log(`A. client garbage-collected before terminate():\n${a.events.join('\n')}`);

// B: terminate() while all three run. op3 ends (client 2 idle, kept: client 1 is full), op1 ends,
// then op2, the last: its release ends terminate()'s wait and garbage-collects client 1 (free
// capacity 4 > 2). terminate() destroys client 2; that close finishes, client 1's not yet.
const b = setUp();
await settle();
b.terminate();
for (const i of [2, 0, 1]) {
  b.ops[i]?.resolve();
  await settle();
}
b.closing.get(2)?.();
await settle();
const verdictB = b.verdict();
b.closing.get(1)?.();
await settle();
console.log(`B. client garbage-collected by the release that ends terminate()'s wait:\n${b.events.join('\n')}`);

if (verdictA === 'early' || verdictB === 'early') {
  console.log(
    `SURPRISE: terminate() resolved while a client was still closing and an operation started before it had not settled (A: ${verdictA ?? 'pending'}, B: ${verdictB ?? 'pending'})`,
  );
  process.exit(1);
}
console.log('in both cases terminate() was still waiting while client 1 was closing: it waits for every close and operation');
process.exit(0);
