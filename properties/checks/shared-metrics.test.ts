import { createHash } from 'node:crypto';
import { mkdir, readFile, rename, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { LoadTestMetrics } from '../../src/metrics/load-test-metrics.js';
import {
  checkSharedAgainstOneThread,
  REAL_METRICS_MODULE,
  type Recording,
  recordFromWorkers,
  recordInOneThread,
  SharedMetricsWorkers,
} from './shared-metrics.js';

/**
 * A broken copy of LoadTestMetrics: the real source with `patches` applied (each `find` must occur
 * exactly once), written under `.variants/` (git-ignored, where the catalogue's patched copies
 * live) with its imports pointing back at the real modules beside it.
 */
async function brokenMetrics(name: string, patches: readonly { find: string; replace: string }[]): Promise<URL> {
  const real = fileURLToPath(REAL_METRICS_MODULE);
  let text = await readFile(real, 'utf8');
  for (const p of patches) {
    const first = text.indexOf(p.find);
    if (first < 0 || text.indexOf(p.find, first + 1) >= 0) {
      throw new Error(`broken copy ${name}: ${JSON.stringify(p.find)} does not occur exactly once in load-test-metrics.ts`);
    }
    text = text.slice(0, first) + p.replace + text.slice(first + p.find.length);
  }
  const root = fileURLToPath(new URL('../../', import.meta.url));
  const dir = path.join(root, '.variants', `metrics-${name}-${createHash('sha256').update(text).digest('hex').slice(0, 12)}`);
  const rel = path.relative(dir, path.dirname(real)).split(path.sep).join('/');
  text = text.replaceAll(/from '\.\/([\w-]+)\.js'/g, (_m, file: string) => `from '${rel}/${file}.js'`);
  await mkdir(dir, { recursive: true });
  const file = path.join(dir, 'load-test-metrics.ts');
  const tmp = `${file}.${process.pid}.tmp`;
  await writeFile(tmp, text);
  await rename(tmp, file);
  return pathToFileURL(file);
}

/** Latencies as calls see them: mostly ms, some long (deadlines, stalls), a few past the 35.8 min clamp. */
const latencyUs = fc.oneof(
  { weight: 4, arbitrary: fc.integer({ min: 0, max: 20_000 }) },
  { weight: 2, arbitrary: fc.integer({ min: 0, max: 120_000_000 }) },
  { weight: 1, arbitrary: fc.integer({ min: 0, max: 3_000_000_000 }) },
  { weight: 1, arbitrary: fc.double({ min: 0, max: 5_000, noNaN: true }) },
);
const recording = fc.record({ latencyUs, ok: fc.boolean() });
/** 2 to 4 threads, each with a small list (an empty one included: a thread that records nothing). */
const threadLists = fc.array(fc.array(recording, { maxLength: 30 }), { minLength: 2, maxLength: 4 });

/** The property, over any way of recording from workers: the merged metrics equal one thread's. */
function sameAsOneThread(record: (lists: Recording[][]) => Promise<LoadTestMetrics>) {
  return fc.asyncProperty(threadLists, async (lists) => {
    const problems = checkSharedAgainstOneThread(lists, await record(lists));
    if (problems.length > 0) throw new Error(problems.join('\n'));
  });
}

/** Runs the property against a broken recording and returns the failure's message (it must fail). */
async function counterexample(record: (lists: Recording[][]) => Promise<LoadTestMetrics>, numRuns: number): Promise<string> {
  // No shrinking: each step would run the workers again, and the first counterexample says enough.
  const out = await fc.check(sameAsOneThread(record), { numRuns, endOnFailure: true });
  expect(out.failed, 'the property must catch this bug').toBe(true);
  return String((out.errorInstance as Error | undefined)?.message ?? out.errorInstance);
}

let workers: SharedMetricsWorkers;
beforeAll(async () => {
  workers = await SharedMetricsWorkers.start(4);
});
afterAll(async () => {
  await workers?.close();
});

describe('LoadTestMetrics shared by worker_threads', () => {
  it('2 to 4 threads recording into one buffer, histograms merged: counts, summary and every percentile equal one thread', async () => {
    await fc.assert(
      sameAsOneThread((lists) => recordFromWorkers(lists, { workers })),
      { numRuns: 60 },
    );
  });

  it('recordFromWorkers starts and ends its own workers when given none', async () => {
    const lists: Recording[][] = [
      [
        { latencyUs: 1_500, ok: true },
        { latencyUs: 3_000_000, ok: false },
      ],
      [{ latencyUs: 250, ok: true }],
    ];
    const m = await recordFromWorkers(lists);
    expect(m.counts()).toMatchObject({ totalRequests: 3, successfulRequests: 2, failedRequests: 1, totalLatencyUs: 3_001_750 });
    expect(checkSharedAgainstOneThread(lists, m)).toEqual([]);
  });

  it('checks against one thread built from the plan, not from the workers', () => {
    const lists: Recording[][] = [[{ latencyUs: 10, ok: true }], [{ latencyUs: 30, ok: false }]];
    const m = recordInOneThread([[{ latencyUs: 10, ok: true }]]);
    expect(checkSharedAgainstOneThread(lists, m)).toEqual([
      'totalRequests: 1 recorded by 2 threads (1+1 calls), 2 by one thread',
      'failedRequests: 0 recorded by 2 threads (1+1 calls), 1 by one thread',
      'totalLatencyUs: 10 recorded by 2 threads (1+1 calls), 40 by one thread',
      'maxLatencyUs: 10 recorded by 2 threads (1+1 calls), 30 by one thread',
      "histogram holds 1 latencies after merging 2 threads (1+1 calls), one thread's holds 2",
      'summary successRate: 1 from 2 threads (1+1 calls), 0.5 from one thread',
      'summary avgLatencyUs: 10 from 2 threads (1+1 calls), 20 from one thread',
      'summary p90LatencyUs: 10 from 2 threads (1+1 calls), 30 from one thread',
      'summary p99LatencyUs: 10 from 2 threads (1+1 calls), 30 from one thread',
      'summary p999LatencyUs: 10 from 2 threads (1+1 calls), 30 from one thread',
      'merged histogram differs at 50 whole percentiles, first p51: 10 us, one thread 30 us',
    ]);
  });
});

describe('the shared-metrics check catches', () => {
  it('a histogram not merged back (the owner skips the first worker, taking it for itself)', async () => {
    const message = await counterexample(async (lists) => {
      const m = new LoadTestMetrics();
      const histograms = await workers.record(m.buffer, lists);
      for (const h of histograms.slice(1)) m.mergeHistogram(h);
      return m;
    }, 60);
    expect(message).toMatch(/^histogram holds \d+ latencies after merging \d threads \([\d+]+ calls\), one thread's holds \d+$/m);
  });

  it('the latency sum kept in 32 bits (Int32Array instead of BigInt64Array): wraps past 2^31 us', async () => {
    const module = await brokenMetrics('sum-32-bits', [
      { find: 'readonly #sum: BigInt64Array;', replace: 'readonly #sum: Int32Array;' },
      { find: 'this.#sum = new BigInt64Array(this.buffer, 0, 1);', replace: 'this.#sum = new Int32Array(this.buffer, 0, 1);' },
      { find: 'Atomics.add(this.#sum, 0, BigInt(us));', replace: 'Atomics.add(this.#sum, 0, us);' },
    ]);
    const broken = (await import(module.href)) as { LoadTestMetrics: typeof LoadTestMetrics };
    const some = await SharedMetricsWorkers.start(4, { metricsModule: module });
    try {
      const message = await counterexample(
        (lists) => recordFromWorkers(lists, { workers: some, metrics: new broken.LoadTestMetrics() }),
        60,
      );
      expect(message).toMatch(/^totalLatencyUs: -?\d+ recorded by \d threads \([\d+]+ calls\), \d+ by one thread$/m);
    } finally {
      await some.close();
    }
  });

  it('a counter incremented with a plain read-modify-write (view[i] += 1, not Atomics.add): loses counts', async (ctx) => {
    // Lost updates need both threads inside the increment at the same instant, on two cores. Lists
    // of 30 almost never do (measured: a few counts lost over 100 runs of 2 x 1 000 records). 2 x
    // 100 000 records (60 to 400 ms) lost counts in 13 of 16 runs measured here (23 to 19 842 of
    // 200 000): 8 of 8 idle, 5 of 8 with both cores busy with two spinning processes. But once, with
    // the other vitest fork and other users' tests running, 10 tries in a row lost none.
    // So: tries for up to 3 s, and says it could not show the race rather than fail when none lost.
    const module = await brokenMetrics('total-not-atomic', [{ find: 'Atomics.add(c, TOTAL, 1);', replace: 'c[TOTAL] += 1;' }]);
    const two = await SharedMetricsWorkers.start(2, { metricsModule: module });
    try {
      const list = Array.from({ length: 100_000 }, (_, k) => ({ latencyUs: 100 + (k % 1024), ok: k % 3 !== 0 }));
      const lists = [list, list];
      let problems: string[] = [];
      const until = performance.now() + 3_000;
      let tries = 0;
      while (problems.length === 0 && (tries < 3 || performance.now() < until)) {
        tries++;
        problems = checkSharedAgainstOneThread(lists, await recordFromWorkers(lists, { workers: two }));
      }
      if (problems.length === 0) {
        ctx.skip(`no count lost in ${tries} tries: this machine never ran the two threads at once (busy cores)`);
      }
      expect(problems[0]).toMatch(/^totalRequests: 1\d{5} recorded by 2 threads \(100000\+100000 calls\), 200000 by one thread$/);
      // Only the plain counter lost anything: the outcome counters still use Atomics.
      expect(problems.some((p) => p.startsWith('successfulRequests') || p.startsWith('failedRequests'))).toBe(false);
    } finally {
      await two.close();
    }
  });
});
