import { parentPort, workerData } from 'node:worker_threads';
import type { LoadTestMetrics } from '../../src/metrics/load-test-metrics.js';

/** One job: record `latencyUs[k]` (a success where `ok[k]` is 1) into the metrics on `buffer`. */
export interface RecordJob {
  readonly buffer: SharedArrayBuffer;
  /** Every worker of the job adds 1 to slot 0, then waits for `parties` (so that they record at once). */
  readonly barrier: SharedArrayBuffer;
  readonly parties: number;
  readonly latencyUs: Float64Array;
  readonly ok: Uint8Array;
  /** Spread the records evenly over this many ms after the barrier (0: as fast as possible). */
  readonly spreadMs: number;
}

export type RecordReply = { readonly histogram: string } | { readonly error: string };

/** Spins this many looks at the barrier before sleeping between looks (another thread may hold the core). */
const SPINS = 200_000;
/** Longest a worker waits at the barrier for the others: after it, it records anyway (overlap is a bonus, not a need). */
const BARRIER_LIMIT_MS = 2_000;

// The LoadTestMetrics under test: the real one, or a deliberately broken copy when a test checks its own power.
const { metricsModule } = workerData as { metricsModule: string };
const { LoadTestMetrics: Metrics } = (await import(metricsModule)) as { LoadTestMetrics: typeof LoadTestMetrics };

function meet(barrier: SharedArrayBuffer, parties: number): void {
  const arrived = new Int32Array(barrier);
  Atomics.add(arrived, 0, 1);
  const until = performance.now() + BARRIER_LIMIT_MS;
  let spins = 0;
  for (let seen = Atomics.load(arrived, 0); seen < parties; seen = Atomics.load(arrived, 0)) {
    if (++spins > SPINS) {
      if (performance.now() > until) return;
      Atomics.wait(arrived, 0, seen, 1);
    }
  }
}

/** Something to `Atomics.wait` on for a pause: nothing ever wakes it. */
const nap = new Int32Array(new SharedArrayBuffer(Int32Array.BYTES_PER_ELEMENT));

parentPort?.on('message', (job: RecordJob) => {
  try {
    const metrics = Metrics.attach(job.buffer);
    meet(job.barrier, job.parties);
    const began = performance.now();
    const n = job.latencyUs.length;
    for (let k = 0; k < n; k++) {
      if (job.spreadMs > 0) {
        const wait = began + (k * job.spreadMs) / n - performance.now();
        if (wait > 0) Atomics.wait(nap, 0, 0, wait);
      }
      const us = job.latencyUs[k] as number;
      if (job.ok[k] === 1) metrics.recordSuccess(us);
      else metrics.recordFailure(us);
    }
    parentPort?.postMessage({ histogram: metrics.exportHistogram() } satisfies RecordReply);
  } catch (error) {
    parentPort?.postMessage({
      error: error instanceof Error ? (error.stack ?? error.message) : String(error),
    } satisfies RecordReply);
  }
});
parentPort?.postMessage('ready');
