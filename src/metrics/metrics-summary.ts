import type { LoadTestMetrics } from './load-test-metrics.js';

/** The seed's MetricsSummary, plus percentiles: a plain, serialisable snapshot. */
export interface MetricsSummary {
  readonly totalRequests: number;
  readonly successfulRequests: number;
  readonly failedRequests: number;
  /** successful / total, 0 when nothing was recorded. */
  readonly successRate: number;
  readonly minLatencyUs: number;
  readonly avgLatencyUs: number;
  readonly maxLatencyUs: number;
  readonly p50LatencyUs: number;
  readonly p90LatencyUs: number;
  readonly p99LatencyUs: number;
  readonly p999LatencyUs: number;
  readonly activeClients: number;
}

/** Takes a snapshot of `metrics` (its counters and the histogram of this thread plus merged ones). */
export function summarize(metrics: LoadTestMetrics): MetricsSummary {
  const c = metrics.counts();
  const h = metrics.histogram;
  return Object.freeze({
    totalRequests: c.totalRequests,
    successfulRequests: c.successfulRequests,
    failedRequests: c.failedRequests,
    successRate: c.totalRequests === 0 ? 0 : c.successfulRequests / c.totalRequests,
    minLatencyUs: c.minLatencyUs,
    avgLatencyUs: c.totalRequests === 0 ? 0 : c.totalLatencyUs / c.totalRequests,
    maxLatencyUs: c.maxLatencyUs,
    p50LatencyUs: h.getValueAtPercentile(50),
    p90LatencyUs: h.getValueAtPercentile(90),
    p99LatencyUs: h.getValueAtPercentile(99),
    p999LatencyUs: h.getValueAtPercentile(99.9),
    activeClients: c.activeClients,
  });
}

const ms = (us: number): string => `${(us / 1000).toFixed(2)}ms`;

/** One line for a console, as the seed's `--nocapture` runs print it. */
export function formatSummary(label: string, s: MetricsSummary): string {
  return (
    `${label}: ${s.successfulRequests}/${s.totalRequests} ok (${(s.successRate * 100).toFixed(1)}%), ` +
    `${s.failedRequests} failed | latency min ${ms(s.minLatencyUs)} avg ${ms(s.avgLatencyUs)} ` +
    `p50 ${ms(s.p50LatencyUs)} p99 ${ms(s.p99LatencyUs)} max ${ms(s.maxLatencyUs)}`
  );
}
