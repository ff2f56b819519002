import type { Worker } from 'node:worker_threads';
import { startTsWorker } from '../../src/harness/ts-worker.js';
import { LoadTestMetrics } from '../../src/metrics/load-test-metrics.js';
import { summarize } from '../../src/metrics/metrics-summary.js';
import type { RecordJob, RecordReply } from './shared-metrics-worker.js';

/** One call to record: its latency (µs, as `recordSuccess`/`recordFailure` take it) and outcome. */
export interface Recording {
  readonly latencyUs: number;
  readonly ok: boolean;
}

const WORKER = new URL('./shared-metrics-worker.ts', import.meta.url);
/** The LoadTestMetrics the workers record with unless told otherwise: the real one. */
export const REAL_METRICS_MODULE = new URL('../../src/metrics/load-test-metrics.ts', import.meta.url);

interface Slot {
  readonly worker: Worker;
  pending: { resolve: (histogram: string) => void; reject: (error: Error) => void } | undefined;
  dead: Error | undefined;
}

/**
 * Worker threads that record lists of calls into one LoadTestMetrics shared through its
 * SharedArrayBuffer (each builds its view with `LoadTestMetrics.attach`) and send their histogram
 * back (`exportHistogram`). Started once and reused across runs: starting a worker (the TypeScript loader,
 * the metrics module) costs far more than a small run.
 */
export class SharedMetricsWorkers {
  readonly #slots: Slot[];
  #closed = false;

  private constructor(slots: Slot[]) {
    this.#slots = slots;
  }

  /** Starts `count` workers recording with the LoadTestMetrics of `metricsModule` (default the real one). */
  static async start(count: number, options: { metricsModule?: URL } = {}): Promise<SharedMetricsWorkers> {
    if (!Number.isInteger(count) || count < 1) throw new RangeError(`worker count must be an integer >= 1; got ${count}`);
    const metricsModule = (options.metricsModule ?? REAL_METRICS_MODULE).href;
    const workers: Worker[] = [];
    const started = await Promise.allSettled(
      Array.from(
        { length: count },
        () =>
          new Promise<Slot>((resolve, reject) => {
            const worker = startTsWorker(WORKER, { workerData: { metricsModule } });
            workers.push(worker);
            const slot: Slot = { worker, pending: undefined, dead: undefined };
            const fail = (error: Error) => {
              slot.dead = error;
              slot.pending?.reject(error);
              slot.pending = undefined;
              reject(error);
            };
            worker.on('error', fail);
            worker.on('exit', (code) => fail(new Error(`a metrics worker exited (code ${code})`)));
            worker.on('message', (m: 'ready' | RecordReply) => {
              if (m === 'ready') {
                resolve(slot);
                return;
              }
              const p = slot.pending;
              slot.pending = undefined;
              if ('error' in m) p?.reject(new Error(`a metrics worker failed: ${m.error}`));
              else p?.resolve(m.histogram);
            });
          }),
      ),
    );
    const slots = started.flatMap((r) => (r.status === 'fulfilled' ? [r.value] : []));
    const failed = started.find((r) => r.status === 'rejected');
    if (failed) {
      // One could not start: end every one before saying so.
      await Promise.all(workers.map((w) => w.terminate()));
      throw failed.reason;
    }
    return new SharedMetricsWorkers(slots);
  }

  /**
   * Lets the process exit without closing them (they end with it): for workers kept for the life of
   * a process, such as one set per property worker process. An unref'd worker keeps nothing alive,
   * not even a job in progress: whoever waits for one must hold the process some other way.
   */
  unref(): this {
    for (const s of this.#slots) s.worker.unref();
    return this;
  }

  get size(): number {
    return this.#slots.length;
  }

  /**
   * Records `lists[k]` from worker k into `LoadTestMetrics.attach(buffer)`, every worker starting
   * together at a barrier (so that they really record at once); resolves with each worker's
   * exported histogram, in list order, once all are done. Nothing is merged: that is the caller's.
   * `spreadMs` spreads each worker's records evenly over that long (default 0: as fast as it can),
   * so that they land among the records another thread makes meanwhile.
   */
  record(
    buffer: SharedArrayBuffer,
    lists: readonly (readonly Recording[])[],
    options: { spreadMs?: number } = {},
  ): Promise<string[]> {
    if (this.#closed) return Promise.reject(new Error('the metrics workers are closed'));
    if (lists.length > this.#slots.length) {
      return Promise.reject(new RangeError(`${lists.length} lists for ${this.#slots.length} workers`));
    }
    const barrier = new SharedArrayBuffer(Int32Array.BYTES_PER_ELEMENT);
    return Promise.all(
      lists.map(
        (list, k) =>
          new Promise<string>((resolve, reject) => {
            const slot = this.#slots[k] as Slot;
            if (slot.dead) return reject(slot.dead);
            if (slot.pending) return reject(new Error('a metrics worker is already recording (one run at a time)'));
            slot.pending = { resolve, reject };
            const latencyUs = Float64Array.from(list, (r) => r.latencyUs);
            const ok = Uint8Array.from(list, (r) => (r.ok ? 1 : 0));
            const job: RecordJob = { buffer, barrier, parties: lists.length, latencyUs, ok, spreadMs: options.spreadMs ?? 0 };
            slot.worker.postMessage(job, [latencyUs.buffer, ok.buffer]);
          }),
      ),
    );
  }

  async close(): Promise<void> {
    this.#closed = true;
    await Promise.all(
      this.#slots.map((s) => {
        s.worker.removeAllListeners('exit');
        s.worker.removeAllListeners('error');
        s.worker.on('error', () => {});
        return s.worker.terminate();
      }),
    );
  }
}

/**
 * Records each of `lists` from its own worker thread into one LoadTestMetrics (`metrics`, a fresh
 * one by default) shared through its SharedArrayBuffer, then merges every worker's histogram into
 * it; resolves with it when all are done. `workers` reuses started workers (at least `lists.length`);
 * without it, workers are started for this call and ended after it. `spreadMs`: see `record`.
 * The merge runs on the calling thread, the one that owns `metrics`.
 */
export async function recordFromWorkers(
  lists: readonly (readonly Recording[])[],
  options: { metrics?: LoadTestMetrics; workers?: SharedMetricsWorkers; metricsModule?: URL; spreadMs?: number } = {},
): Promise<LoadTestMetrics> {
  const metrics = options.metrics ?? new LoadTestMetrics();
  const own = options.workers === undefined;
  const workers =
    options.workers ?? (await SharedMetricsWorkers.start(Math.max(1, lists.length), { metricsModule: options.metricsModule }));
  try {
    const histograms = await workers.record(metrics.buffer, lists, { spreadMs: options.spreadMs });
    for (const h of histograms) metrics.mergeHistogram(h);
  } finally {
    if (own) await workers.close();
  }
  return metrics;
}

/** The reference: every list recorded in order by one thread, into a fresh LoadTestMetrics. */
export function recordInOneThread(lists: readonly (readonly Recording[])[]): LoadTestMetrics {
  const m = new LoadTestMetrics();
  for (const list of lists) for (const r of list) (r.ok ? m.recordSuccess : m.recordFailure).call(m, r.latencyUs);
  return m;
}

/**
 * Percentiles compared beyond the summary's four: every whole percentile, so that a merge that
 * moves any part of the distribution shows, not only the parts p50/p90/p99/p99.9 happen to read.
 */
const GRID = Array.from({ length: 100 }, (_, k) => k + 1);

/**
 * Differences between `shared` (recorded by worker threads, histograms merged) and one thread
 * recording every list (empty when they agree). Counts, sum, min, max and active clients must be
 * equal (Atomics lose nothing); the histogram's count, the summary (its percentiles included) and
 * every whole percentile must be equal too: HdrHistogram adds histograms of one precision bucket
 * by bucket, and a percentile is read from buckets, so merging loses nothing either.
 */
export function checkSharedAgainstOneThread(lists: readonly (readonly Recording[])[], shared: LoadTestMetrics): string[] {
  const one = recordInOneThread(lists);
  const problems: string[] = [];
  const threads = `${lists.length} threads (${lists.map((l) => l.length).join('+')} calls)`;
  const got = shared.counts();
  const want = one.counts();
  for (const key of Object.keys(want) as (keyof typeof want)[]) {
    if (got[key] !== want[key]) problems.push(`${key}: ${got[key]} recorded by ${threads}, ${want[key]} by one thread`);
  }
  if (shared.histogram.totalCount !== one.histogram.totalCount) {
    problems.push(
      `histogram holds ${shared.histogram.totalCount} latencies after merging ${threads}, one thread's holds ${one.histogram.totalCount}`,
    );
  }
  const gs = summarize(shared);
  const ws = summarize(one);
  for (const key of Object.keys(ws) as (keyof typeof ws)[]) {
    // Counters are reported above already; the summary adds rate, average and percentiles.
    if (key in want) continue;
    if (gs[key] !== ws[key]) problems.push(`summary ${key}: ${gs[key]} from ${threads}, ${ws[key]} from one thread`);
  }
  const off = GRID.filter((p) => shared.histogram.getValueAtPercentile(p) !== one.histogram.getValueAtPercentile(p));
  if (off.length > 0) {
    const p = off[0] as number;
    problems.push(
      `merged histogram differs at ${off.length} whole percentiles, first p${p}: ${shared.histogram.getValueAtPercentile(p)} us, one thread ${one.histogram.getValueAtPercentile(p)} us`,
    );
  }
  return problems;
}
