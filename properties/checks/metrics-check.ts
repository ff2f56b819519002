import { MAX_TRACKED_LATENCY_US } from '../../src/metrics/latency-histogram.js';
import type { LoadTestMetrics, MetricsCounts } from '../../src/metrics/load-test-metrics.js';
import { type MetricsSummary, summarize } from '../../src/metrics/metrics-summary.js';

/**
 * One call as the history saw it. Every time is in ms on one thread's `performance.now()` clock
 * (the thread that made the calls: a worker's clock has another origin).
 */
export interface RecordedCall {
  /** The caller invoked it (`OpRecord.call`). */
  readonly start: number;
  /** It returned or threw at the caller (`OpRecord.ret`). */
  readonly end: number;
  /** The caller got a reply (`outcome === 'ok'`); anything else is a failure. */
  readonly ok: boolean;
  /**
   * The metrics client that made it: calls with the same `client` count once in `activeClients`
   * while any of them is in flight (the own adapter has one `PoolClient` per address: the address
   * index). Undefined: unknown, so each such call is taken as a client of its own for the upper bound.
   */
  readonly client?: string;
  /** The first connection the pool made on this call's behalf was asked of the connector (a `ConnectRecord.call`). */
  readonly connectAt?: number;
  /** The pool handed the call to the connector (`OpRecord.acquiredAt`). */
  readonly acquiredAt?: number;
  /** The connector's result reached the pool (`OpRecord.rpcDoneAt`). */
  readonly rpcDoneAt?: number;
}

/** `activeClients` read right after one change (see `traceActiveClients`). */
export interface ActiveClientsSample {
  readonly at: number;
  readonly active: number;
}

/** What a run's history says about the calls recorded in a LoadTestMetrics. */
export interface MetricsRecord {
  readonly calls: readonly RecordedCall[];
  /**
   * Every change of `activeClients` during the run, in order (`traceActiveClients`); without it
   * only the final value (0) is checked.
   */
  readonly activeClients?: readonly ActiveClientsSample[];
  /**
   * Calls recorded into the same metrics by other threads during the run (worker_threads attached
   * to its buffer, `recordFromWorkers`), their latencies known exactly. They count like the calls
   * of the history; they do not touch `activeClients`.
   */
  readonly otherThreads?: readonly { readonly latencyUs: number; readonly ok: boolean }[];
}

/** What is compared: the counters, the summary, and how many latencies the histogram holds. */
export interface MetricsSnapshot {
  readonly counts: MetricsCounts;
  readonly summary: MetricsSummary;
  readonly histogramCount: number;
}

/**
 * Tolerance per recorded latency, µs. The client's clock runs inside the caller's (it starts after
 * the caller's `start` and stops before its `end`) and outside the seam's (it starts before the
 * pool asks the connector for anything and stops after the result is back), all on the same
 * monotonic `performance.now()` of one thread, which Node does not coarsen. The only slack is
 * LoadTestMetrics rounding each latency to a whole µs (at most 0.5 µs) and the ms→µs conversion of
 * two doubles (under 1e-8 µs at the clock values of a run): 1 µs per record covers both. No
 * allowance for a stalled machine is needed: a stall between two clocks only moves the client's
 * clock further inside the caller's, and the seam's interval is inside the client's whatever the load.
 */
export const ROUNDING_US = 1;

/**
 * LoadTestMetrics' histogram keeps 3 significant digits (`latency-histogram.ts`): a percentile it
 * reports is within 1/1000 of a latency recorded, and exact below 1000 µs.
 */
export const HISTOGRAM_PRECISION = 1e-3;

/** Where one recorded latency must lie, in whole µs, and from what. */
export interface LatencyBounds {
  readonly lowUs: number;
  readonly highUs: number;
  /** The low bound comes from the seam (else it is 0: the caller's side alone bounds nothing below). */
  readonly fromSeam: boolean;
}

/**
 * The interval the pool is known to have worked on the call, inside the client's clock: from the
 * first thing it asked of the connector for it (a connection, or the call itself) to the call's
 * result coming back. Undefined when not known, or not nested in the caller's interval (a pool that
 * returned before its connector answered: then nothing is known below).
 */
export function seamInterval(c: RecordedCall): { from: number; to: number } | undefined {
  if (c.rpcDoneAt === undefined || (c.acquiredAt === undefined && c.connectAt === undefined)) return undefined;
  const from = Math.min(c.acquiredAt ?? Number.POSITIVE_INFINITY, c.connectAt ?? Number.POSITIVE_INFINITY);
  const to = c.rpcDoneAt;
  return c.start <= from && from <= to && to <= c.end ? { from, to } : undefined;
}

/** Bounds of one call's recorded latency: at least its seam interval, at most its caller interval, ±1 µs of rounding. */
export function latencyBounds(c: RecordedCall): LatencyBounds {
  const seam = seamInterval(c);
  const clamp = (us: number) => Math.min(Math.max(us, 0), MAX_TRACKED_LATENCY_US);
  const highUs = clamp(Math.floor((c.end - c.start) * 1000 + ROUNDING_US));
  const lowUs = seam ? clamp(Math.ceil((seam.to - seam.from) * 1000 - ROUNDING_US)) : 0;
  return { lowUs, highUs, fromSeam: seam !== undefined };
}

/**
 * Wraps `metrics.clientStarted`/`clientFinished` on this instance so that each change is followed
 * by a read of `activeClients`, stamped with `now()`: the whole step function of `activeClients`
 * over the run, exact where one thread makes the calls. The returned array fills as the run goes.
 */
export function traceActiveClients(metrics: LoadTestMetrics, now: () => number = () => performance.now()): ActiveClientsSample[] {
  const samples: ActiveClientsSample[] = [];
  const started = metrics.clientStarted.bind(metrics);
  const finished = metrics.clientFinished.bind(metrics);
  const sample = () => samples.push({ at: now(), active: metrics.counts().activeClients });
  metrics.clientStarted = () => {
    started();
    sample();
  };
  metrics.clientFinished = () => {
    finished();
    sample();
  };
  return samples;
}

/** Reads what the check compares from a LoadTestMetrics (one thread recording; nothing in flight). */
export function snapshotOf(metrics: LoadTestMetrics): MetricsSnapshot {
  return { counts: metrics.counts(), summary: summarize(metrics), histogramCount: metrics.histogram.totalCount };
}

/** LoadTestMetrics against the history of the calls recorded in it: the problems found, empty when none. */
export function checkMetricsAgainstRecord(record: MetricsRecord, metrics: LoadTestMetrics): string[] {
  return checkSnapshotAgainstRecord(record, snapshotOf(metrics));
}

/** The percentiles a summary reports, from its field names: `p50LatencyUs` is 50, `p999LatencyUs` 99.9. */
export function reportedPercentiles(summary: MetricsSummary): { key: keyof MetricsSummary; percentile: number }[] {
  return Object.keys(summary).flatMap((key) => {
    const m = /^p(\d+)LatencyUs$/.exec(key);
    if (!m) return [];
    const digits = m[1] as string;
    const percentile = Number(digits.length <= 2 ? digits : `${digits.slice(0, 2)}.${digits.slice(2)}`);
    return [{ key: key as keyof MetricsSummary, percentile }];
  });
}

/**
 * The nearest rank of a percentile among `n` values (1-based): the smallest k with k/n >= p/100,
 * at least 1 (HdrHistogram's definition), computed in integers so that no float rounding moves it.
 */
export function nearestRank(percentile: number, n: number): number {
  const perMillion = Math.round(percentile * 10_000);
  return Math.max(1, Math.floor((perMillion * n + 999_999) / 1_000_000));
}

const us = (v: number) => `${Math.round(v)} us`;
const at = (t: number) => `${t.toFixed(3)} ms`;

/** The snapshot against the record; see `checkMetricsAgainstRecord`. */
export function checkSnapshotAgainstRecord(record: MetricsRecord, snap: MetricsSnapshot): string[] {
  const problems: string[] = [];
  const { counts: c, summary: s } = snap;
  const calls = record.calls;
  const others = record.otherThreads ?? [];
  const n = calls.length + others.length;
  const ok = calls.filter((x) => x.ok).length + others.filter((x) => x.ok).length;
  const what = others.length === 0 ? '' : ` (${calls.length} in the history, ${others.length} from other threads)`;

  for (const [i, x] of calls.entries()) {
    if (!(x.start <= x.end)) problems.push(`record: call ${i} ends (${at(x.end)}) before it starts (${at(x.start)})`);
  }

  // Exact: every call of the history is recorded once, as what the caller got.
  if (c.totalRequests !== n || c.successfulRequests !== ok || c.failedRequests !== n - ok) {
    problems.push(
      `counts total/ok/failed ${c.totalRequests}/${c.successfulRequests}/${c.failedRequests}, the history has ${n}/${ok}/${n - ok}${what}`,
    );
  }
  if (snap.histogramCount !== n)
    problems.push(`histogram holds ${snap.histogramCount} latencies, the history has ${n} calls${what}`);
  // Exact: every call has ended, so no client has one in flight.
  if (c.activeClients !== 0) problems.push(`activeClients is ${c.activeClients} once every call has ended, not 0`);

  // The summary is the counters, read again.
  for (const key of [
    'totalRequests',
    'successfulRequests',
    'failedRequests',
    'minLatencyUs',
    'maxLatencyUs',
    'activeClients',
  ] as const) {
    if (s[key] !== c[key]) problems.push(`summary ${key} ${s[key]}, counts say ${c[key]}`);
  }
  const rate = n === 0 ? 0 : ok / n;
  if (s.successRate !== rate) problems.push(`summary successRate ${s.successRate}, the history has ${ok}/${n} = ${rate}`);
  const avg = c.totalRequests === 0 ? 0 : c.totalLatencyUs / c.totalRequests;
  if (s.avgLatencyUs !== avg) problems.push(`summary avgLatencyUs ${s.avgLatencyUs}, counts say ${avg}`);

  // Latencies: each lies in [its seam interval, its caller interval] ± ROUNDING_US (another
  // thread's is known: LoadTestMetrics only rounds and clamps it). Min, max, sum and every order
  // statistic follow from those per-call bounds: the k-th smallest latency lies between the k-th
  // smallest low bound and the k-th smallest high bound.
  const callBounds = calls.map(latencyBounds);
  const exact = (v: number) => Math.min(Math.round(v), MAX_TRACKED_LATENCY_US);
  const lows = [...callBounds.map((b) => b.lowUs), ...others.map((o) => exact(o.latencyUs))].sort((a, b) => a - b);
  const highs = [...callBounds.map((b) => b.highUs), ...others.map((o) => exact(o.latencyUs))].sort((a, b) => a - b);
  const seams = callBounds.filter((b) => b.fromSeam).length;
  const within = (name: string, got: number, lo: number, hi: number, why: string) => {
    if (!(got >= lo && got <= hi)) problems.push(`${name} ${us(got)}, the history allows ${Math.round(lo)}..${us(hi)} (${why})`);
  };
  const seamNote = `${seams} of ${calls.length} calls with a seam interval${others.length ? `, ${others.length} exact from other threads` : ''}`;
  if (n === 0) {
    for (const key of ['minLatencyUs', 'maxLatencyUs'] as const) if (c[key] !== 0) problems.push(`${key} ${c[key]} with no call`);
    if (c.totalLatencyUs !== 0) problems.push(`totalLatencyUs ${c.totalLatencyUs} with no call`);
  } else {
    within(
      'minLatencyUs',
      c.minLatencyUs,
      lows[0] as number,
      highs[0] as number,
      `smallest seam and caller durations; ${seamNote}`,
    );
    within(
      'maxLatencyUs',
      c.maxLatencyUs,
      lows[n - 1] as number,
      highs[n - 1] as number,
      `largest seam and caller durations; ${seamNote}`,
    );
    within(
      'totalLatencyUs',
      c.totalLatencyUs,
      lows.reduce((a, b) => a + b, 0),
      highs.reduce((a, b) => a + b, 0),
      `sums of seam and caller durations; ${seamNote}`,
    );
  }
  for (const { key, percentile } of reportedPercentiles(s)) {
    const got = s[key] as number;
    if (n === 0) {
      if (got !== 0) problems.push(`summary ${key} ${got} with no call`);
      continue;
    }
    const k = nearestRank(percentile, n);
    // The histogram records max(latency, 1): a 0 µs call is in its first bucket.
    const lo = Math.max(1, lows[k - 1] as number);
    const hi = Math.max(1, highs[k - 1] as number);
    within(
      `summary ${key}`,
      got,
      lo - Math.floor(lo * HISTOGRAM_PRECISION),
      hi + Math.floor(hi * HISTOGRAM_PRECISION),
      `rank ${k} of ${n} among seam and caller durations, widened by the histogram's 3 significant digits (0.1%)`,
    );
  }

  if (record.activeClients) problems.push(...checkActiveClients(calls, record.activeClients));
  return problems;
}

/**
 * `activeClients` over time against the calls in flight. At any instant t it counts the clients with
 * a call in flight: at most the clients with a call whose caller interval contains t (a client
 * counts itself after its caller invoked it and leaves before it returns), at least the clients with
 * a call whose seam interval strictly contains t (it counts itself before the pool asks the
 * connector, and leaves after the result is back). Checked at every change (the value holds until
 * the next) and at the middle of every seam interval. With the clients known the two bounds differ
 * only around each call's start and end (the caller's side of the seam), so a count per call, a
 * client left early or never counted shows; the peak is at most the most clients, so calls, in
 * flight at once.
 */
function checkActiveClients(calls: readonly RecordedCall[], samples: readonly ActiveClientsSample[]): string[] {
  const idOf = (x: RecordedCall, i: number) => x.client ?? `#call${i}`;
  const inFlight = (t: number) => new Set(calls.flatMap((x, i) => (x.start <= t && t <= x.end ? [idOf(x, i)] : []))).size;
  const seams = calls.map(seamInterval);
  const working = (t: number) => {
    let unknown = false;
    const known = new Set<string>();
    calls.forEach((x, i) => {
      const s = seams[i];
      if (!s || !(s.from < t && t < s.to)) return;
      if (x.client === undefined) unknown = true;
      else known.add(x.client);
    });
    return Math.max(known.size, unknown ? 1 : 0);
  };
  const sorted = [...samples].sort((a, b) => a.at - b.at);
  const valueAt = (t: number) => {
    let v = 0;
    for (const p of sorted) {
      if (p.at > t) break;
      v = p.active;
    }
    return v;
  };
  const probes = [
    ...sorted.map((p) => ({ t: p.at, v: p.active, what: 'after a change' })),
    ...seams.flatMap((s) =>
      s ? [{ t: (s.from + s.to) / 2, v: valueAt((s.from + s.to) / 2), what: 'in the middle of a seam interval' }] : [],
    ),
  ];
  const over: string[] = [];
  const under: string[] = [];
  for (const p of probes) {
    const hi = inFlight(p.t);
    const lo = working(p.t);
    if (p.v > hi) over.push(`${p.v} at ${at(p.t)} (${p.what}), but only ${hi} client(s) had a call in flight`);
    if (p.v < lo) under.push(`${p.v} at ${at(p.t)} (${p.what}), but ${lo} client(s) had a call at the connector`);
  }
  const problems: string[] = [];
  const peak = Math.max(0, ...sorted.map((p) => p.active));
  const mostClients = Math.max(0, ...calls.flatMap((x) => [inFlight(x.start)]));
  if (over[0])
    problems.push(`activeClients ${over[0]}${more(over)}; peak ${peak}, most clients in flight at once ${mostClients}`);
  if (under[0]) problems.push(`activeClients ${under[0]}${more(under)}`);
  return problems;
}

const more = (list: readonly string[]) => (list.length > 1 ? ` (and ${list.length - 1} more)` : '');
