import { availableParallelism, cpus } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import * as grpc from '@grpc/grpc-js';
import fc from 'fast-check';
import { checkParallelProperty } from '../../properties/parallel/parallel-property.js';
import { checkPoolProperty } from '../../properties/pool-property.js';
import { checkOnWorkers, defaultWorkers, PropertyWorkers } from '../../properties/workers/worker-pool.js';
import { PoolClient } from '../client/pool-client.js';
import { CHART_PERCENTILES, percentileChartSvg } from '../harness/latency-chart.js';
import { timeEtcdHistories } from '../harness/linearizability/time-etcd-histories.js';
import {
  type KvTiming,
  kvTimingLines,
  porcupineKvSource,
  readPorcupineKvTimes,
  timeKvHistories,
} from '../harness/linearizability/time-kv-histories.js';
import { checkOutputFile, OutputPathError, writeFileAtomic } from '../harness/reports.js';
import { type ServerProcess, startServerProcess } from '../harness/server-process.js';
import { startTsWorker } from '../harness/ts-worker.js';
import { runFixedRate } from '../load/fixed-rate.js';
import { createLatencyHistogram, type LatencyHistogram } from '../metrics/latency-histogram.js';
import { LoadTestMetrics } from '../metrics/load-test-metrics.js';
import { ConnectionPool } from '../pool/connection-pool.js';
import { type LoadTestClient, loadTestProto } from '../proto/load-test-proto.js';
import { EnvironmentError } from './cli-errors.js';
import { exitCodesHelp } from './exit-codes.js';
import { parseOptions } from './parse-options.js';
import { runMain } from './run-main.js';
import { STOPPED, type StopSignal } from './stop-signal.js';

const HELP = `Usage: npm run bench -- [--quick] [--json FILE]

Starts a test server in its own process and measures, side by side in one run:
  - closed loop at 1, 10 and 100 calls in flight: a bare grpc-js client against our client
    through the pool, in alternating A/B rounds (calls/s, latency percentiles, pooled/bare ratio);
  - open loop at 50% and 80% of the closed-loop maximum: achieved rate from real send times, p99
    latency from each request's intended start (as wrk2), the service time alone, the sender's
    lateness and any requests not sent (the sender never waits for replies, so no coordinated-
    omission back-fill is applied: it would count stalls twice);
  - the cost of recording one call in LoadTestMetrics (1 thread, and 4 worker_threads sharing it);
  - commands/s and runs/s of each property on each layer at a fixed seed, as one stream in this
    process and spread over worker processes (as properties and fuzz run them), beside the same
    fast-check runner over a trivial in-memory pool on one thread (the harness ceiling);
  - the linearizability checker on the 102 Jepsen etcd histories of test-data/porcupine-etcd, and
    on Porcupine's six key-value histories of test-data/porcupine-kv (median of runs, per file,
    beside Porcupine's own median for the same file, read from porcupine-times.json there, which
    was measured once with the Go harness in porcupine-bench/, not in this run).

  --quick       short rounds (under a minute)
  --json FILE   the figures as JSON, and an SVG chart of the latency distribution (pooled vs
                bare) next to it (default bench-out/bench.json)
  -h, --help    this text

On SIGINT/SIGTERM (or output closed, as when piped into head) the bench stops its server process
and exits 130/143 (141); with --json given, the figures measured so far are written, marked
"interrupted". The server process also exits if the bench is killed outright.

${exitCodesHelp('a measurement failed (a call failed, or shared metrics lost records)')}`;

const WORKER = new URL('./bench-metrics-worker.ts', import.meta.url);
type Call = () => Promise<unknown>;

interface RoundFigures {
  readonly callsPerSec: number;
  readonly histogram: LatencyHistogram;
}

/** Runs `inFlight` closed-loop callers for `ms`; returns calls/s and the latency histogram (µs). */
async function closedLoopRound(call: Call, inFlight: number, ms: number): Promise<RoundFigures> {
  const histogram = createLatencyHistogram();
  const endAt = performance.now() + ms;
  let calls = 0;
  const started = performance.now();
  await Promise.all(
    Array.from({ length: inFlight }, async () => {
      while (performance.now() < endAt) {
        const t0 = performance.now();
        await call();
        histogram.recordValue(Math.max(1, Math.round((performance.now() - t0) * 1000)));
        calls++;
      }
    }),
  );
  return { callsPerSec: (calls / (performance.now() - started)) * 1000, histogram };
}

const pct = (h: LatencyHistogram, p: number) => h.getValueAtPercentile(p) / 1000;
const median = (xs: number[]) => {
  const s = [...xs].sort((a, b) => a - b);
  const m = Math.floor(s.length / 2);
  return s.length % 2 ? (s[m] as number) : ((s[m - 1] as number) + (s[m] as number)) / 2;
};

function bareCaller(address: string): { call: Call; close(): void } {
  const { Client } = loadTestProto();
  const client: LoadTestClient = new Client(address, grpc.credentials.createInsecure(), { 'grpc.use_local_subchannel_pool': 1 });
  let n = 0;
  const call: Call = () =>
    new Promise((resolve, reject) =>
      client.Call(
        { requestId: `bare-${n++}`, payload: Buffer.alloc(0) },
        new grpc.Metadata(),
        { deadline: Date.now() + 10_000 },
        (e, r) => (e ? reject(e) : resolve(r)),
      ),
    );
  return { call, close: () => client.close() };
}

function pooledCaller(address: string): { call: Call; close(): Promise<void> } {
  const pool = new ConnectionPool({ name: 'bench' });
  const client = new PoolClient(address, { pool, deadlineMs: 10_000 });
  let n = 0;
  return { call: () => client.call({ requestId: `pooled-${n++}` }), close: () => pool.close() };
}

async function recordCost(): Promise<{ singleThreadNs: number; fourWorkersNsPerRecord: number }> {
  const metrics = new LoadTestMetrics();
  const n = 2_000_000;
  for (let i = 0; i < 200_000; i++) metrics.recordSuccess(100 + (i & 1023)); // warm-up
  const t0 = performance.now();
  for (let i = 0; i < n; i++) metrics.recordSuccess(100 + (i & 1023));
  const singleThreadNs = ((performance.now() - t0) * 1e6) / n;
  const shared = new LoadTestMetrics();
  const perWorker = 1_000_000;
  const t1 = performance.now();
  await Promise.all(
    [0, 1, 2, 3].map(
      () =>
        new Promise<number>((resolve, reject) => {
          const w = startTsWorker(WORKER, { workerData: { buffer: shared.buffer, count: perWorker } });
          w.once('message', resolve);
          w.once('error', reject);
        }),
    ),
  );
  const wall = performance.now() - t1;
  if (shared.counts().totalRequests !== 4 * perWorker) throw new Error('shared metrics lost records');
  // Wall time includes starting the workers; the figure is an upper bound per record.
  return { singleThreadNs, fourWorkersNsPerRecord: (wall * 1e6) / (4 * perWorker) };
}

runMain(
  async (stop) => {
    const { values } = parseOptions(
      process.argv.slice(2),
      {
        quick: { type: 'boolean', default: false },
        json: { type: 'string' },
        help: { type: 'boolean', default: false },
      },
      { help: HELP },
    );
    if (values.help) {
      console.log(HELP);
      return 0;
    }
    const quick = values.quick;
    const roundMs = quick ? 700 : 2_000;
    const rounds = quick ? 2 : 5;
    const jsonFile = values.json ?? path.join('bench-out', 'bench.json');
    const svgFile = path.join(path.dirname(jsonFile), 'bench-latency.svg');
    for (const file of [jsonFile, svgFile]) {
      await checkOutputFile(file).catch((error: unknown) => {
        throw error instanceof OutputPathError ? new EnvironmentError(`--json ${error.message}`) : error;
      });
    }
    const server: ServerProcess = await startServerProcess();
    // Whatever ends the bench (a signal, a closed pipe, an error), the server process goes with it.
    stop.onCleanup(() => server.stop());
    console.log(
      `bench: server ${server.address} (own process), ${quick ? 'quick' : 'full'} run, ${rounds} A/B rounds of ${roundMs} ms`,
    );
    const bare = bareCaller(server.address);
    const pooled = pooledCaller(server.address);
    stop.onCleanup(() => pooled.close());
    stop.onCleanup(() => bare.close());
    const figures: BenchFigures = { machine: machine(), quick, rounds, roundMs, closedLoop: [], openLoop: [] };
    const measured = await stop.race(measure(figures, bare, pooled, stop));
    if (measured === STOPPED) {
      console.log(`bench interrupted by ${stop.reason}: server stopped`);
      if (values.json !== undefined) {
        await writeFileAtomic(jsonFile, `${JSON.stringify({ ...figures, interrupted: stop.reason }, null, 2)}\n`);
        console.log(`partial figures: ${jsonFile}`);
      }
      return 0;
    }
    const { chartHistograms, ...json } = measured;
    printTables(json);
    await writeFileAtomic(jsonFile, `${JSON.stringify(json, null, 2)}\n`);
    const series = (label: string, color: string, h: LatencyHistogram) => ({
      label,
      color,
      points: CHART_PERCENTILES.map((p) => ({ percentile: p, latencyMs: pct(h, p) })),
    });
    await writeFileAtomic(
      svgFile,
      percentileChartSvg('Latency by percentile, 10 calls in flight (closed loop)', [
        series('bare grpc-js', '#1f77b4', chartHistograms.bare),
        series('pooled client', '#d62728', chartHistograms.pooled),
      ]),
    );
    console.log(`\nfigures: ${jsonFile}\nchart:   ${svgFile}`);
    return 0;
  },
  { stoppable: true },
);

interface BenchFigures {
  machine: ReturnType<typeof machine>;
  quick: boolean;
  rounds: number;
  roundMs: number;
  closedLoop: Array<Record<string, number | number[]>>;
  openLoop: Array<Record<string, number>>;
  metricsCost?: { singleThreadNs: number; fourWorkersNsPerRecord: number };
  propertyLayers?: Array<{
    property: string;
    layer: string;
    seed: number;
    runs: number;
    runsPerSec: number;
    commandsPerSec: number;
    meanCommands: number;
    passed: boolean;
    /** Worker processes the runs were spread over; 1: one stream in the bench's own process. */
    workers: number;
  }>;
  checker?: { files: number; agree: number; totalMs: number } | { error: string };
  kvChecker?: { histories: KvTiming[]; porcupine: string } | { error: string };
}

/**
 * The harness ceiling: the same fast-check runner (asyncModelRun with a scheduler, commands of the
 * same count) over a trivial in-memory pool, so that "our simulated layer / ceiling" says how much
 * of the time goes to the system under test and our checks rather than to fast-check.
 */
async function trivialCeiling(runs: number, seed: number): Promise<NonNullable<BenchFigures['propertyLayers']>[number]> {
  type M = { keys: Set<number> };
  type R = { keys: Set<number>; s: fc.Scheduler };
  class Put implements fc.AsyncCommand<M, R> {
    constructor(readonly k: number) {}
    check = () => true;
    async run(m: M, r: R) {
      // Released by the scheduler, as the properties' connector results are (waitFor drives it).
      await r.s.waitFor(r.s.schedule(Promise.resolve(), 'put'));
      r.keys.add(this.k);
      m.keys.add(this.k);
      if (r.keys.size !== m.keys.size) throw new Error('diverged');
    }
    toString = () => `put(${this.k})`;
  }
  let total = 0;
  const started = performance.now();
  const details = await fc.check(
    fc.asyncProperty(
      fc.scheduler(),
      fc.commands([fc.integer({ min: 0, max: 3 }).map((k) => new Put(k))], { maxCommands: 12, size: 'max' }),
      async (s, cmds) => {
        total += [...cmds].length;
        await fc.asyncModelRun(() => ({ model: { keys: new Set<number>() }, real: { keys: new Set<number>(), s } }), cmds);
      },
    ),
    { numRuns: runs, seed },
  );
  const ms = performance.now() - started;
  return {
    property: 'trivial in-memory pool (harness ceiling)',
    layer: 'simulated',
    seed,
    runs: details.numRuns,
    runsPerSec: (details.numRuns / ms) * 1000,
    commandsPerSec: (total / ms) * 1000,
    meanCommands: total / Math.max(1, details.numRuns),
    passed: !details.failed,
    workers: 1,
  };
}

/** Runs every measurement, filling `figures` as it goes (so an interrupted bench can write what it has). */
async function measure(
  figures: BenchFigures,
  bare: { call: Call },
  pooled: { call: Call },
  stop: StopSignal,
): Promise<Required<BenchFigures> & { chartHistograms: { bare: LatencyHistogram; pooled: LatencyHistogram } }> {
  const { quick, rounds, roundMs, closedLoop, openLoop } = figures;
  const chartHistograms: { bare: LatencyHistogram; pooled: LatencyHistogram } = {
    bare: createLatencyHistogram(),
    pooled: createLatencyHistogram(),
  };
  let maxCallsPerSec = 0;
  for (const c of [bare.call, pooled.call]) await closedLoopRound(c, 10, quick ? 300 : 1_000); // warm-up both
  for (const inFlight of [1, 10, 100]) {
    console.log(`closed loop, ${inFlight} in flight ...`);
    const ratios: number[] = [];
    const bareRates: number[] = [];
    const pooledRates: number[] = [];
    const bareH = createLatencyHistogram();
    const pooledH = createLatencyHistogram();
    for (let r = 0; r < rounds; r++) {
      // Alternate which goes first, so drift on a noisy machine does not favour one side.
      const order = r % 2 === 0 ? ['bare', 'pooled'] : ['pooled', 'bare'];
      const got: Record<string, RoundFigures> = {};
      for (const side of order) got[side] = await closedLoopRound(side === 'bare' ? bare.call : pooled.call, inFlight, roundMs);
      const b = got.bare as RoundFigures;
      const p = got.pooled as RoundFigures;
      bareRates.push(b.callsPerSec);
      pooledRates.push(p.callsPerSec);
      ratios.push(p.callsPerSec / b.callsPerSec);
      bareH.add(b.histogram);
      pooledH.add(p.histogram);
    }
    if (inFlight === 10) {
      chartHistograms.bare.add(bareH);
      chartHistograms.pooled.add(pooledH);
    }
    maxCallsPerSec = Math.max(maxCallsPerSec, median(pooledRates));
    closedLoop.push({
      inFlight,
      bareCallsPerSec: median(bareRates),
      pooledCallsPerSec: median(pooledRates),
      ratio: median(ratios),
      ratioMin: Math.min(...ratios),
      ratioMax: Math.max(...ratios),
      bareP50Ms: pct(bareH, 50),
      bareP90Ms: pct(bareH, 90),
      bareP99Ms: pct(bareH, 99),
      bareP999Ms: pct(bareH, 99.9),
      pooledP50Ms: pct(pooledH, 50),
      pooledP90Ms: pct(pooledH, 90),
      pooledP99Ms: pct(pooledH, 99),
      pooledP999Ms: pct(pooledH, 99.9),
    });
  }

  for (const load of [0.5, 0.8]) {
    console.log(`open loop at ${load * 100}% of ${maxCallsPerSec.toFixed(0)} calls/s ...`);
    const requestedRate = Math.round(maxCallsPerSec * load);
    // Open loop: the sender keeps its schedule whatever the replies do, so latency measured from
    // each request's intended start already holds any stall; no back-fill on top of it.
    const r = await runFixedRate({ ratePerSec: requestedRate, durationMs: quick ? 1_500 : 5_000, maxInFlight: 10_000 }, () =>
      pooled.call(),
    );
    if (r.notSentSaturated > 0) console.log(`  WARNING: ${r.notSentSaturated} requests not sent (the sender saturated)`);
    openLoop.push({
      load,
      requestedRate,
      achievedRate: r.achievedRatePerSec,
      achievedOverRequested: r.achievedRatePerSec / requestedRate,
      failed: r.failed,
      p50ServiceMs: pct(r.serviceTimeUs, 50),
      p99ServiceMs: pct(r.serviceTimeUs, 99),
      p99FromIntendedStartMs: pct(r.fromIntendedStartUs, 99),
      maxLatenessMs: r.maxLatenessMs,
      p99LatenessMs: pct(r.latenessUs, 99),
      notSent: r.notSentSaturated,
    });
  }

  console.log('LoadTestMetrics record cost ...');
  const metricsCost = await recordCost();
  figures.metricsCost = metricsCost;
  console.log('property layers ...');
  const seed = 4_242;
  const propertyLayers: NonNullable<BenchFigures['propertyLayers']> = [];
  const ceiling = await trivialCeiling(quick ? 2_000 : 10_000, seed);
  propertyLayers.push(ceiling);
  // Each property and layer twice, side by side: one stream here, then spread over worker processes
  // as `npm run properties` and `npm run fuzz` run it. Both are first warmed up, untimed, with as
  // many runs at another seed (modules loaded, hot code optimised: a worker process needs a few
  // thousand simulated runs for that): the figures are what a long run (fuzz, the nightly job)
  // sees, not a cold start.
  const workers = PropertyWorkers.start(Math.max(defaultWorkers('simulated'), defaultWorkers('live')));
  const forgetWorkers = stop.onCleanup(() => workers.close());
  try {
    for (const [name, check] of [
      ['pool-matches-model', checkPoolProperty],
      ['pool-linearizable', checkParallelProperty],
    ] as const) {
      for (const layer of ['simulated', 'live'] as const) {
        const runs = layer === 'simulated' ? (quick ? 1_000 : 10_000) : quick ? 40 : 200;
        const warmUp = { layer, runs, seed: seed + 1 };
        await check(warmUp);
        await checkOnWorkers(workers, name, warmUp, defaultWorkers(layer));
        for (const spread of [1, defaultWorkers(layer)]) {
          const r =
            spread === 1
              ? await check({ layer, runs, seed })
              : await checkOnWorkers(workers, name, { layer, runs, seed }, spread);
          const commands = r.runLengths?.total ?? 0;
          propertyLayers.push({
            property: name,
            layer: r.layer,
            seed,
            runs: r.runs,
            runsPerSec: (r.runs / r.wallMs) * 1000,
            commandsPerSec: (commands / r.wallMs) * 1000,
            meanCommands: r.runLengths?.mean ?? 0,
            passed: r.passed,
            workers: r.workers ?? 1,
          });
        }
      }
    }
  } finally {
    forgetWorkers();
    await workers.close();
  }
  figures.propertyLayers = propertyLayers;
  console.log('linearizability checker on the 102 Jepsen etcd histories ...');
  const etcd = await timeEtcdHistories(fileURLToPath(new URL('../../test-data/porcupine-etcd', import.meta.url))).catch(
    (error: unknown) => ({ error: String(error) }),
  );
  figures.checker = 'error' in etcd ? { error: etcd.error } : { files: etcd.files, agree: etcd.agree, totalMs: etcd.totalMs };
  console.log("linearizability checker on Porcupine's six key-value histories ...");
  figures.kvChecker = await kvCheckerFigures(quick ? 3 : 10);

  return { ...figures, metricsCost, propertyLayers, checker: figures.checker, kvChecker: figures.kvChecker, chartHistograms };
}

/**
 * The checker on test-data/porcupine-kv, each file `runs` times at default options, beside Porcupine's
 * recorded times (porcupine-times.json; `porcupine` says where they come from).
 */
async function kvCheckerFigures(runs: number): Promise<NonNullable<BenchFigures['kvChecker']>> {
  const dir = fileURLToPath(new URL('../../test-data/porcupine-kv', import.meta.url));
  return Promise.all([timeKvHistories(dir, runs), readPorcupineKvTimes(dir)]).then(
    ([histories, recorded]) => ({ histories, porcupine: porcupineKvSource(recorded) }),
    (error: unknown) => ({ error: String(error) }),
  );
}

function machine() {
  return { node: process.version, cores: availableParallelism(), cpu: cpus()[0]?.model ?? 'unknown' };
}

function printTables(f: Required<BenchFigures>): void {
  const n = (x: unknown, d = 0) => (typeof x === 'number' ? x.toFixed(d) : String(x));
  console.log('\nclosed loop (median of rounds; ratio = pooled/bare, min..max)');
  console.log(
    'in flight | bare calls/s | pooled calls/s | ratio (min..max)   | p50 bare/pooled ms | p99 bare/pooled ms | p99.9 bare/pooled ms',
  );
  for (const r of f.closedLoop) {
    console.log(
      `${n(r.inFlight).padStart(9)} | ${n(r.bareCallsPerSec).padStart(12)} | ${n(r.pooledCallsPerSec).padStart(14)} | ${n(r.ratio, 3)} (${n(r.ratioMin, 3)}..${n(r.ratioMax, 3)}) | ${n(r.bareP50Ms, 2)} / ${n(r.pooledP50Ms, 2)} | ${n(r.bareP99Ms, 2)} / ${n(r.pooledP99Ms, 2)} | ${n(r.bareP999Ms, 2)} / ${n(r.pooledP999Ms, 2)}`,
    );
  }
  console.log('\nopen loop (pooled client; achieved from real send times; latency from intended start, as wrk2)');
  console.log(
    'load | requested/s | achieved/s | achieved/requested | p50 / p99 service ms | p99 from intended start ms | lateness max / p99 ms | not sent',
  );
  for (const r of f.openLoop) {
    console.log(
      `${n((r.load ?? 0) * 100)}% | ${n(r.requestedRate).padStart(11)} | ${n(r.achievedRate, 1).padStart(10)} | ${n(r.achievedOverRequested, 4).padStart(18)} | ${n(r.p50ServiceMs, 2)} / ${n(r.p99ServiceMs, 2)} | ${n(r.p99FromIntendedStartMs, 2)} | ${n(r.maxLatenessMs, 1)} / ${n(r.p99LatenessMs, 1)} | ${n(r.notSent)}`,
    );
  }
  console.log(
    `\nLoadTestMetrics record: ${n(f.metricsCost.singleThreadNs, 1)} ns single-threaded; ${n(f.metricsCost.fourWorkersNsPerRecord, 1)} ns per record with 4 worker_threads sharing (wall, incl. worker start)`,
  );
  console.log(
    '\nproperty layers (fixed seed; commands/s is the unit that counts: runs grow with --max-commands;\n' +
      '"of ceiling" compares one stream with the trivial pool on one thread; "x one stream" is the gain of the worker processes)',
  );
  const ceiling = f.propertyLayers[0]?.commandsPerSec ?? 0;
  const oneStream = new Map(
    f.propertyLayers.filter((p) => p.workers === 1).map((p) => [`${p.property}|${p.layer}`, p.commandsPerSec]),
  );
  for (const p of f.propertyLayers) {
    const single = oneStream.get(`${p.property}|${p.layer}`) ?? 0;
    const relative =
      p.workers === 1
        ? ceiling
          ? `${n(p.commandsPerSec / ceiling, 3)} of ceiling`
          : ''
        : single
          ? `x${n(p.commandsPerSec / single, 2)} one stream`
          : '';
    console.log(
      `${p.property.padEnd(42)} ${p.layer.padEnd(10)} ${(p.workers === 1 ? '1 stream' : `${p.workers} workers`).padEnd(10)} ${n(p.runs).padStart(6)} runs  ${n(p.runsPerSec, 1).padStart(8)} runs/s  ${n(p.commandsPerSec).padStart(8)} cmds/s (mean ${n(p.meanCommands, 1)})  ${relative}  ${p.passed ? 'pass' : 'FAIL'}`,
    );
  }
  const c = f.checker;
  console.log(
    'error' in c
      ? `\nlinearizability checker on Jepsen etcd histories: not measured (${c.error})`
      : `\nlinearizability checker: ${c.files} Jepsen etcd histories in ${n(c.totalMs, 0)} ms, ${c.agree}/${c.files} verdicts agree (Porcupine, Go: about 320 ms on a like machine)`,
  );
  const kv = f.kvChecker;
  if ('error' in kv) console.log(`\nlinearizability checker on Porcupine's key-value histories: not measured (${kv.error})`);
  else console.log(`\n${kvTimingLines(kv.histories, kv.porcupine).join('\n')}`);
}
