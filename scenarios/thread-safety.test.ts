import { describe, expect, it } from 'vitest';
import { startTsWorker } from '../src/harness/ts-worker.js';
import { ConnectionPool } from '../src/pool/connection-pool.js';
import type { PoolStats } from '../src/pool/pool-stats.js';
import { TestServer } from '../src/server/test-server.js';
import { expectNothingOpen, inEnvironment, printSummary } from './support.js';

const LOAD_WORKER = new URL('../test/fixtures/load-worker.ts', import.meta.url);

// Category 4: thread safety. In Node that means interleavings at await points (many operations
// in flight on one event loop) and worker_threads sharing one LoadTestMetrics.
describe('thread safety', () => {
  it('test_connection_pool_add_remove_concurrent: add/remove of 4 addresses, 80 operations in flight at once', async () => {
    const servers = await Promise.all(Array.from({ length: 4 }, () => TestServer.start()));
    const pool = new ConnectionPool({ name: 'add-remove' });
    try {
      // Per address a fixed mix; addresses 0 and 1 end with adds only after their removes, 2 only removes, 3 only adds.
      const plan: Array<['add' | 'remove', number]> = [];
      for (let round = 0; round < 10; round++) {
        plan.push(['add', 0], ['remove', 0], ['add', 1], ['remove', 1], ['remove', 2], ['add', 3]);
      }
      plan.push(['add', 0], ['add', 1], ['add', 0], ['add', 1]);
      plan.push(...Array.from({ length: 16 }, (): ['add' | 'remove', number] => ['add', 3]));
      const addressOf = (i: number) => (servers[i] as TestServer).address;
      const outcomes = await Promise.allSettled(
        plan.map(([op, i]) => (op === 'add' ? pool.add(addressOf(i)) : pool.remove(addressOf(i)))),
      );
      expect(outcomes.filter((o) => o.status === 'rejected')).toEqual([]);
      // Settle the mix to a known end: the last word on 0 and 1 is an add, awaited after everything else.
      await Promise.all([pool.add(addressOf(0)), pool.add(addressOf(1))]);
      const stats = pool.stats();
      expect(stats.created).toBe(stats.closed + stats.liveKeys + stats.draining);
      expect(stats.draining).toBe(0);
      expect(new Set(pool.keys().map((k) => k.split('|')[0]))).toEqual(new Set([addressOf(0), addressOf(1), addressOf(3)]));
      // What the pool says must match what each server holds: one connection per live key, none for 2.
      for (const i of [0, 1, 3]) {
        const s = servers[i] as TestServer;
        await s.ledger.waitUntil((l) => l.openConnections === 1, 5_000, `address ${i} holds its one connection`);
      }
      await (servers[2] as TestServer).ledger.waitUntil((l) => l.openConnections === 0, 5_000, 'address 2 holds nothing');
      await pool.close();
      for (const s of servers) await expectNothingOpen(s);
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
