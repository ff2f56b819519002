/**
 * @google-cloud/firestore ClientPool (build/src/pool.js): whether a client is retired after a
 * failed operation is decided by the error's message text alone: /RST_STREAM/ anywhere in
 * `err.message` marks the client failed (no new operations, destroyed once idle), whatever the
 * status; any other failure (UNAVAILABLE, DEADLINE_EXCEEDED, INTERNAL without that text) leaves
 * the client in use, however often it fails.
 *
 * Why: run()'s catch tests `err.message?.match(/RST_STREAM/)` (pool.js 294-299); acquire skips
 * failed clients (131) and release destroys them once idle (213-220). Nothing else retires a client.
 *
 * Classification: contract difference (intended, for Firestore issue 1023, commented at 44-48 and
 * 295-297: gRPC channels recover from other failures on their own). For a pool user: a client is
 * never replaced for failing, only for one message text, which a status's details can contain.
 *
 * Run: node --import ./src/loader/register.mjs examples/repros/firestore-client-pool-failed-client-by-message.ts
 * Exits 1 if retirement followed the message text rather than the failure, else 0.
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

let nextId = 1;
const pool = new ClientPool<{ id: number }>(
  1,
  1,
  () => ({ id: nextId++ }),
  async () => {},
);
const statusError = (code: number, message: string) => Object.assign(new Error(message), { code });
async function failOnce(err: Error): Promise<number> {
  let used = 0;
  await pool
    .run('fail', true, async (c) => {
      used = c.id;
      throw err;
    })
    .catch(() => {});
  return used;
}
const next = () => pool.run('next', true, async (c) => c.id);

const rows: Array<[string, boolean]> = [];
for (const [what, err] of [
  ['14 UNAVAILABLE: Connection dropped', statusError(14, '14 UNAVAILABLE: Connection dropped')],
  ['4 DEADLINE_EXCEEDED', statusError(4, '4 DEADLINE_EXCEEDED: Deadline exceeded')],
  ['13 INTERNAL (stream reset, other text)', statusError(13, '13 INTERNAL: stream reset by peer')],
  ['13 INTERNAL: Received RST_STREAM with code 2', statusError(13, '13 INTERNAL: Received RST_STREAM with code 2')],
  ['3 INVALID_ARGUMENT whose details quote RST_STREAM', statusError(3, '3 INVALID_ARGUMENT: field "RST_STREAM" is unknown')],
] as const) {
  const failedOn = await failOnce(err);
  const nextOn = await next();
  const retired = nextOn !== failedOn;
  rows.push([what, retired]);
  console.log(`${what.padEnd(52)} client ${failedOn} -> next op on client ${nextOn}: ${retired ? 'retired' : 'kept'}`);
}
const retired = new Map(rows);
if (
  !retired.get('14 UNAVAILABLE: Connection dropped') &&
  !retired.get('13 INTERNAL (stream reset, other text)') &&
  retired.get('3 INVALID_ARGUMENT whose details quote RST_STREAM')
) {
  console.log('SURPRISE: clients are retired by the text RST_STREAM in a message, not by how the call failed');
  process.exit(1);
}
console.log('retirement follows the failure, not its text');
process.exit(0);
