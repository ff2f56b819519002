import path from 'node:path';
import { pathToFileURL } from 'node:url';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { TestEnvironment } from '../src/env/test-environment.js';
import { settleLeaks, takeResourceSnapshot } from './leak-check.js';
import { patchedSourceDir } from './variants/patched-stack.js';

/**
 * Generated lifecycles of the seed's `TestEnvironment` on real loopback servers: clients on its
 * own pool and on pools it made (`newPool`), calls that succeed or fail, a dispose while calls
 * are still in flight or after they end, sometimes twice. Afterwards, observed outside the
 * environment: every call settled; a success reached the server exactly once; the shared metrics
 * counted each call once; and once disposed, nothing it opened is left (sockets, servers, timers,
 * grpc-js channels, back to the baseline taken before it started).
 */
interface Lifecycle {
  /** Per client: which pool (0 the environment's own, k > 0 the k-th `newPool`), and its calls' fail codes (0 = succeed). */
  readonly clients: readonly { readonly pool: number; readonly calls: readonly number[] }[];
  readonly pools: number;
  /** Dispose while the calls are in flight (else after they all ended). */
  readonly disposeInFlight: boolean;
  readonly disposeTwice: boolean;
}

const lifecycles: fc.Arbitrary<Lifecycle> = fc
  .record({
    pools: fc.integer({ min: 0, max: 2 }),
    clients: fc.array(
      fc.record({
        pool: fc.nat({ max: 2 }),
        calls: fc.array(fc.constantFrom(0, 0, 0, 5, 14), { maxLength: 3 }),
      }),
      { minLength: 1, maxLength: 4 },
    ),
    disposeInFlight: fc.boolean(),
    disposeTwice: fc.boolean(),
  })
  .map((l) => ({ ...l, clients: l.clients.map((c) => ({ ...c, pool: c.pool % (l.pools + 1) })) }));

type Start = (typeof TestEnvironment)['start'];

/** Every pool a lifecycle made, so that what a broken dispose leaves open can still be closed. */
const made: { close(): Promise<void> }[] = [];

/** Runs one lifecycle on `start`'s environment; resolves with what was wrong (empty: nothing). */
async function runLifecycle(start: Start, l: Lifecycle): Promise<string[]> {
  const problems: string[] = [];
  const before = takeResourceSnapshot();
  const env = await start({ server: { maxDelayMs: 1_000 } });
  const pools = Array.from({ length: l.pools }, (_, k) => env.newPool(`custom-${k + 1}`));
  made.push(env.pool, ...pools);
  let seq = 0;
  const calls = l.clients.flatMap((c, ci) => {
    const client = env.client(c.pool === 0 ? {} : { pool: pools[c.pool - 1] });
    return c.calls.map((failCode) => {
      const requestId = `env-${ci}-${seq++}`;
      const settled = client.call({ requestId, failCode, delayMs: 20 }).then(
        () => 'ok' as const,
        (e: { code?: unknown; status?: unknown }) => `error:${String(e.status ?? e.code)}`,
      );
      return { requestId, failCode, settled };
    });
  });
  // A success must have reached the server exactly once: read the ledger before the server goes.
  const seenOnce = async () =>
    (await Promise.all(calls.map(async (c) => ({ c, outcome: await c.settled })))).forEach(({ c, outcome }) => {
      const seen = env.server.ledger.timesSeen(c.requestId);
      if (outcome === 'ok' && seen !== 1) problems.push(`${c.requestId} succeeded, the server saw it ${seen} times`);
      if (outcome === 'ok' && c.failCode !== 0) problems.push(`${c.requestId} asked to fail ${c.failCode}, yet succeeded`);
      if (seen > 1) problems.push(`${c.requestId} reached the server ${seen} times`);
    });
  if (l.disposeInFlight) {
    const disposed = env.dispose();
    await seenOnce();
    await disposed;
  } else {
    await seenOnce();
    await env.dispose();
  }
  if (l.disposeTwice) await env.dispose();
  const counts = env.metrics.counts();
  if (counts.totalRequests !== calls.length)
    problems.push(`metrics count ${counts.totalRequests} requests for ${calls.length} calls`);
  if (counts.activeClients !== 0) problems.push(`metrics show ${counts.activeClients} active clients after every call ended`);
  const leaks = await settleLeaks(before, 1_000);
  problems.push(...leaks.problems.map((p) => `after dispose: ${p}`));
  return problems;
}

const runs = (start: Start, numRuns: number, seed: number) =>
  fc.check(
    fc.asyncProperty(lifecycles, async (l) => {
      const problems = await runLifecycle(start, l);
      if (problems.length) throw new Error(problems.join('; '));
    }),
    { numRuns, seed, endOnFailure: true },
  );

describe('TestEnvironment, built and disposed in generated lifecycles', () => {
  it('every call settles, a success is served once and counted once, and dispose leaves nothing open', async () => {
    const r = await runs(TestEnvironment.start.bind(TestEnvironment), 25, 20_261_206);
    expect(r.failed, String(r.errorInstance)).toBe(false);
  });

  // A realistic broken variant: dispose closes the environment's own pool and forgets the pools it
  // made with newPool (their channels and sockets stay open).
  it('catches a dispose that forgets the pools made with newPool', async () => {
    const dir = await patchedSourceDir('env-dispose-forgets-custom-pools', [
      {
        file: 'env/test-environment.ts',
        find: '    await Promise.all([...this.#pools].map((p) => p.close()));',
        replace: '    await this.pool.close();',
      },
    ]);
    const broken = (await import(pathToFileURL(path.join(dir, 'src/env/test-environment.ts')).href)) as {
      TestEnvironment: typeof TestEnvironment;
    };
    const r = await runs(broken.TestEnvironment.start.bind(broken.TestEnvironment), 50, 20_261_206);
    expect(r.failed).toBe(true);
    expect(String(r.errorInstance)).toMatch(/after dispose: (TCPSocketWrap|GrpcJsChannel)/);
    // Close what the broken dispose left open, so that this file leaves nothing behind.
    await Promise.all(made.splice(0).map((p) => p.close()));
  });
});
