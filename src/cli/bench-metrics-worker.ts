import { parentPort, workerData } from 'node:worker_threads';
import { LoadTestMetrics } from '../metrics/load-test-metrics.js';

// Records `count` latencies into metrics shared with the bench's main thread, and reports how long it took.
const { buffer, count } = workerData as { buffer: SharedArrayBuffer; count: number };
const metrics = LoadTestMetrics.attach(buffer);
const started = performance.now();
for (let i = 0; i < count; i++) metrics.recordSuccess(100 + (i & 1023));
parentPort?.postMessage(performance.now() - started);
