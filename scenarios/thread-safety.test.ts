import { describe, expect, it } from 'vitest';
import { PoolClient } from '../src/client/pool-client.js';
import { seededRandom } from '../src/faults/seeded-random.js';
import { startTsWorker } from '../src/harness/ts-worker.js';
import { ConnectionPool } from '../src/pool/connection-pool.js';
import type { PoolStats } from '../src/pool/pool-stats.js';
import { TestServer } from '../src/server/test-server.js';
import { checkSetHistory, type SetOp } from './set-linearizability.js';
import { expectNothingOpen, inEnvironment, printSummary } from './support.js';

const LOAD_WORKER = new URL('../test/fixtures/load-worker.ts', import.meta.url);

// Many short rounds rather than one long one: operations collide most when the actors start together.
const ROUNDS = 60;
const OPS_PER_ACTOR = 3;

// Category 4: thread safety. In Node that means interleavings at await points (many operations
// in flight on one event loop) and worker_threads sharing one LoadTestMetrics.
describe('thread safety', () => {
  it('test_connection_pool_add_remove_concurrent: 8 actors race add/remove on 4 addresses, 60 rounds x 24 operations, every result checked', async () => {
    const seed = Number(process.env.SCENARIO_SEED ?? Date.now() % 2 ** 31);
    // Printed first, so that a failure can be replayed: SCENARIO_SEED=<seed> npx vitest run scenarios/thread-safety.test.ts
    console.log(`test_connection_pool_add_remove_concurrent: seed ${seed}`);
    const random = seededRandom(seed);
    const servers = await Promise.all(Array.from({ length: 4 }, () => TestServer.start()));
    const pool = new ConnectionPool({ name: 'add-remove' });
    const addressOf = (i: number) => (servers[i] as TestServer).address;
    const maxCreations = [0, 0, 0, 0];
    try {
      for (let round = 0; round < ROUNDS; round++) {
        const initiallyPresent = servers.map((s) => pool.has(s.address));
        // 8 actors, OPS_PER_ACTOR operations each, all starting in the same tick, each yielding between operations a random number
        // of microtasks (landing inside another operation's awaits) or event-loop turns (behind I/O),
        // so the order in which they reach the pool and its locks is not the plan's.
        let clock = 0;
        const history: Array<SetOp & { key: number }> = [];
        const actor = async (): Promise<void> => {
          for (let k = 0; k < OPS_PER_ACTOR; k++) {
            const turns = Math.floor(random() * 4);
            if (random() < 0.5) for (let y = 0; y < turns * 3; y++) await null;
            else for (let y = 0; y < turns; y++) await new Promise((r) => setImmediate(r));
            // Half the operations on the round's hot key, so that operations on one key overlap often.
            const key = random() < 0.5 ? round % 4 : Math.floor(random() * 4);
            const kind = random() < 0.5 ? 'add' : 'remove';
            const invokedAt = ++clock;
            if (kind === 'add') {
              await pool.add(addressOf(key));
              history.push({ key, kind, invokedAt, returnedAt: ++clock });
            } else {
              const removed = await pool.remove(addressOf(key));
              history.push({ key, kind, invokedAt, returnedAt: ++clock, removed });
            }
          }
        };
        const outcomes = await Promise.allSettled(Array.from({ length: 8 }, () => actor()));
        expect(outcomes.filter((o) => o.status === 'rejected')).toEqual([]);
        expect(history).toHaveLength(8 * OPS_PER_ACTOR);
        const stats = pool.stats();
        expect(stats.created).toBe(stats.closed + stats.liveKeys + stats.draining);
        expect(stats.draining).toBe(0);
        for (let i = 0; i < 4; i++) {
          const s = servers[i] as TestServer;
          const finallyPresent = pool.has(s.address);
          const ops = history.filter((o) => o.key === i);
          const verdict = checkSetHistory(ops, { initiallyPresent: initiallyPresent[i] as boolean, finallyPresent });
          expect(verdict, `seed ${seed}, round ${round}, address ${i}: ${JSON.stringify(ops)}`).toMatchObject({ valid: true });
          if (verdict.valid) maxCreations[i] = (maxCreations[i] as number) + verdict.maxCreations;
          // The server's own count: one connection while the key is in the pool (a call over it makes
          // sure it reached the server), none once removed.
          if (finallyPresent) await new PoolClient(s.address, { pool }).call({ requestId: `add-remove-r${round}` });
          await s.ledger.waitUntil(
            (l) => l.openConnections === (finallyPresent ? 1 : 0),
            5_000,
            `round ${round}: address ${i} holds ${finallyPresent ? 'its one connection' : 'nothing'}`,
          );
        }
      }
      await pool.close();
      for (const s of servers) await expectNothingOpen(s);
      // The server accepted no more connections than the most that any legal order of what was observed creates.
      for (const [i, s] of servers.entries()) {
        expect(s.ledger.snapshot().acceptedConnections, `seed ${seed}: connections accepted by server ${i}`).toBeLessThanOrEqual(
          maxCreations[i] as number,
        );
      }
    } finally {
      await pool.close();
      await Promise.all(servers.map((s) => s.close()));
    }
  });

  it('test_client_stats_concurrent_access: 20 health checks + 20 stats queries at once, and metrics shared by 4 worker_threads', async () => {
    const name = 'test_client_stats_concurrent_access';
    await inEnvironment(async (env) => {
      const client = env.client();
      const reads: PoolStats[] = [];
      const ops: Promise<unknown>[] = [];
      for (let k = 0; k < 20; k++) {
        ops.push(client.health());
        ops.push(
          client.call({ requestId: `${name}-${k}` }).then(() => {
            const s = client.stats();
            expect(s.succeeded + s.failed).toBeLessThanOrEqual(s.calls);
            reads.push(s.pool);
          }),
        );
      }
      const answers = await Promise.all(ops);
      expect(answers.filter((_answer, i) => i % 2 === 0)).toEqual(Array(20).fill('SERVING'));
      expect(reads).toHaveLength(20);
      for (const [i, s] of reads.entries()) {
        expect(s.created).toBe(s.closed + s.liveKeys + s.draining);
        if (i > 0) expect(s.reused).toBeGreaterThanOrEqual((reads[i - 1] as PoolStats).reused);
      }
      expect(env.server.ledger.snapshot()).toMatchObject({ acceptedConnections: 1 });

      // Four worker threads, each with its own pool, recording into the environment's metrics.
      const before = env.metrics.counts().totalRequests;
      const replies = await Promise.all(
        [0, 1, 2, 3].map(
          (w) =>
            new Promise<{ failed: number; histogram: string }>((resolve, reject) => {
              const worker = startTsWorker(LOAD_WORKER, {
                workerData: { address: env.address, buffer: env.metrics.buffer, requests: 250, prefix: `${name}-w${w}` },
              });
              worker.once('message', resolve);
              worker.once('error', reject);
            }),
        ),
      );
      for (const r of replies) env.metrics.mergeHistogram(r.histogram);
      expect(replies.map((r) => r.failed)).toEqual([0, 0, 0, 0]);
      const c = env.metrics.counts();
      expect(c.totalRequests - before).toBe(1_000);
      expect(c.successfulRequests + c.failedRequests).toBe(c.totalRequests);
      expect(c.activeClients).toBe(0);
      for (let w = 0; w < 4; w++) expect(env.server.ledger.entries(`${name}-w${w}-`)).toHaveLength(250);
      // The main thread's pool plus one pool per worker.
      expect(env.server.ledger.snapshot().acceptedConnections).toBe(5);
      printSummary(name, env);
    });
  });
});
