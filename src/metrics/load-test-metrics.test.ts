import { describe, expect, it } from 'vitest';
import { startTsWorker } from '../harness/ts-worker.js';
import { LoadTestMetrics } from './load-test-metrics.js';
import { formatSummary, summarize } from './metrics-summary.js';

const WORKER = new URL('../../test/fixtures/metrics-worker.ts', import.meta.url);

function runWorker(buffer: SharedArrayBuffer, count: number, offset: number): Promise<string> {
  return new Promise((resolve, reject) => {
    const worker = startTsWorker(WORKER, { workerData: { buffer, count, offset } });
    let histogram = '';
    worker.once('message', (m: string) => {
      histogram = m;
    });
    worker.once('error', reject);
    worker.once('exit', (code) => (code === 0 ? resolve(histogram) : reject(new Error(`worker exited ${code}`))));
  });
}

describe('LoadTestMetrics', () => {
  it('loses no increment when 4 worker_threads record into one instance at once', async () => {
    const metrics = new LoadTestMetrics();
    const perWorker = 25_000;
    const offsets = [1, 100_001, 200_001, 300_001];
    const histograms = await Promise.all(offsets.map((o) => runWorker(metrics.buffer, perWorker, o)));
    for (const h of histograms) metrics.mergeHistogram(h);
    const c = metrics.counts();
    const failuresPerWorker = Math.ceil(perWorker / 3);
    expect(c.totalRequests).toBe(4 * perWorker);
    expect(c.failedRequests).toBe(4 * failuresPerWorker);
    expect(c.successfulRequests).toBe(4 * (perWorker - failuresPerWorker));
    // Sum of offset..offset+perWorker-1 for each worker, computed independently here.
    const expectedSum = offsets.reduce((acc, o) => acc + perWorker * o + (perWorker * (perWorker - 1)) / 2, 0);
    expect(c.totalLatencyUs).toBe(expectedSum);
    expect(c.minLatencyUs).toBe(1);
    expect(c.maxLatencyUs).toBe(300_000 + perWorker);
    expect(c.activeClients).toBe(0);
    expect(metrics.histogram.totalCount).toBe(4 * perWorker);
  });

  it('summarises counts, success rate and percentiles', () => {
    const metrics = new LoadTestMetrics();
    for (let us = 1_000; us <= 100_000; us += 1_000) metrics.recordSuccess(us);
    metrics.recordFailure(500);
    const s = summarize(metrics);
    expect(s.totalRequests).toBe(101);
    expect(s.failedRequests).toBe(1);
    expect(s.successRate).toBeCloseTo(100 / 101, 10);
    expect(s.minLatencyUs).toBe(500);
    expect(s.maxLatencyUs).toBe(100_000);
    expect(s.avgLatencyUs).toBeCloseTo((5_050_000 + 500) / 101, 6);
    // HdrHistogram keeps 3 significant digits: within 0.1%.
    expect(s.p50LatencyUs).toBeGreaterThanOrEqual(49_900);
    expect(s.p50LatencyUs).toBeLessThanOrEqual(50_100);
    expect(s.p99LatencyUs).toBeGreaterThanOrEqual(98_900);
  });

  it('reports 0 for min and rates when nothing was recorded', () => {
    const s = summarize(new LoadTestMetrics());
    expect(s).toMatchObject({ totalRequests: 0, successRate: 0, minLatencyUs: 0, avgLatencyUs: 0, maxLatencyUs: 0 });
  });

  it('rejects bad latencies and foreign buffers with typed errors', () => {
    const metrics = new LoadTestMetrics();
    expect(() => metrics.recordSuccess(-1)).toThrow(expect.objectContaining({ code: 'ERR_INVALID_METRIC' }));
    expect(() => metrics.recordFailure(Number.NaN)).toThrow(/finite number/);
    expect(() => LoadTestMetrics.attach(new SharedArrayBuffer(3))).toThrow(
      expect.objectContaining({ code: 'ERR_INVALID_METRIC' }),
    );
    expect(() => metrics.mergeHistogram('')).toThrow(/exportHistogram/);
    expect(metrics.counts().totalRequests).toBe(0);
  });

  it('keeps successful + failed <= total in every snapshot read while another thread records', async () => {
    const metrics = new LoadTestMetrics();
    const done = runWorker(metrics.buffer, 200_000, 1);
    let finished = false;
    done.finally(() => {
      finished = true;
    });
    let reads = 0;
    while (!finished) {
      const c = metrics.counts();
      expect(c.successfulRequests + c.failedRequests).toBeLessThanOrEqual(c.totalRequests);
      reads++;
      if (reads % 1000 === 0) await new Promise((r) => setImmediate(r));
    }
    await done;
    expect(reads).toBeGreaterThan(0);
  });
});

describe('formatSummary', () => {
  it('prints counts, success rate and latencies in ms, as the seed prints them', () => {
    const metrics = new LoadTestMetrics();
    // Values under 2048 us are exact in a 3-significant-digit HdrHistogram.
    metrics.recordSuccess(500);
    metrics.recordSuccess(1_500);
    metrics.recordFailure(2_000);
    expect(formatSummary('demo', summarize(metrics))).toBe(
      'demo: 2/3 ok (66.7%), 1 failed | latency min 0.50ms avg 1.33ms p50 1.50ms p99 2.00ms max 2.00ms',
    );
  });
});

describe('LoadTestMetrics in one thread', () => {
  it('keeps the counts when another view attaches to the same buffer', () => {
    const owner = new LoadTestMetrics();
    owner.recordSuccess(700);
    owner.recordFailure(900);
    const view = LoadTestMetrics.attach(owner.buffer);
    expect(view.counts()).toMatchObject({ totalRequests: 2, minLatencyUs: 700, maxLatencyUs: 900 });
    view.recordSuccess(0);
    expect(owner.counts()).toMatchObject({ totalRequests: 3, successfulRequests: 2, minLatencyUs: 0 });
  });

  it('tracks active clients and moves histograms between views', () => {
    const a = new LoadTestMetrics();
    a.clientStarted();
    a.clientStarted();
    a.clientFinished();
    expect(a.counts().activeClients).toBe(1);
    a.recordSuccess(1_000);
    a.recordSuccess(2_000);
    const b = LoadTestMetrics.attach(a.buffer);
    b.mergeHistogram(a.exportHistogram());
    expect(b.histogram.totalCount).toBe(2);
    expect(b.histogram.maxValue).toBe(2_000);
    expect(() => b.mergeHistogram(5 as never)).toThrow(/exportHistogram/);
  });
});

const RACE_WORKER = new URL('../../test/fixtures/metrics-race-worker.ts', import.meta.url);
const REAL_METRICS = new URL('./load-test-metrics.ts', import.meta.url);

/** Differences between what `workers` x `steps` racing records must give and what each instance holds. */
async function raceOnSharedValues(
  metricsModule: URL,
  options: { instances: number; workers: number; steps: number },
): Promise<string[]> {
  const { instances, workers, steps } = options;
  const high = 2_000_000;
  const low = 1_000;
  const metrics = Array.from({ length: instances }, () => new LoadTestMetrics());
  const barrier = new SharedArrayBuffer(4);
  await Promise.all(
    Array.from(
      { length: workers },
      (_, index) =>
        new Promise<void>((resolve, reject) => {
          const worker = startTsWorker(RACE_WORKER, {
            workerData: {
              buffers: metrics.map((m) => m.buffer),
              barrier,
              index,
              workers,
              steps,
              high,
              low,
              metricsModule: metricsModule.href,
            },
          });
          worker.once('error', reject);
          worker.once('exit', (code) => (code === 0 ? resolve() : reject(new Error(`race worker exited ${code}`))));
        }),
    ),
  );
  // Computed here from the plan, sharing nothing with the code under test.
  const n = workers * steps;
  const successes = workers * Math.ceil(steps / 2);
  const span = (n * (n - 1)) / 2;
  const expectedOf = (j: number) => ({
    totalRequests: n,
    successfulRequests: successes,
    failedRequests: n - successes,
    totalLatencyUs: j % 2 === 0 ? n * high - span : n * low + span,
    minLatencyUs: j % 2 === 0 ? high - (n - 1) : low,
    maxLatencyUs: j % 2 === 0 ? high : low + (n - 1),
    activeClients: 0,
  });
  const wrong: string[] = [];
  for (const [j, m] of metrics.entries()) {
    const got = m.counts();
    const expected = expectedOf(j);
    for (const key of Object.keys(expected) as Array<keyof typeof expected>) {
      if (got[key] !== expected[key]) wrong.push(`instance ${j}: ${key} ${got[key]}, expected ${expected[key]}`);
    }
  }
  return wrong;
}

describe('LoadTestMetrics raced on shared values', () => {
  it('keeps min, max, sum and counts exact when 2 worker_threads race on the same extremes of 2 000 instances', async () => {
    const wrong = await raceOnSharedValues(REAL_METRICS, { instances: 2_000, workers: 2, steps: 20 });
    expect(wrong.slice(0, 10)).toEqual([]);
  });
});
