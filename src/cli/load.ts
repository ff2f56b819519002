import { SingleBar } from 'cli-progress';
import { PoolClient } from '../client/pool-client.js';
import { type ServerProcess, startServerProcess } from '../harness/server-process.js';
import { runClosedLoop } from '../load/closed-loop.js';
import { runFixedRate } from '../load/fixed-rate.js';
import type { LoadResult, RequestContext } from '../load/load-result.js';
import { runBursts, runSpike } from '../load/shapes.js';
import { LoadTestMetrics } from '../metrics/load-test-metrics.js';
import { formatSummary, summarize } from '../metrics/metrics-summary.js';
import { ConnectionPool } from '../pool/connection-pool.js';
import { normaliseAddress } from '../pool/pool-key.js';
import { parseDuration, parseInteger, parseOptions } from './parse-options.js';
import { runMain, UsageError } from './usage-error.js';

const PATTERNS = ['sustained', 'burst', 'ramp', 'spike'] as const;
type Pattern = (typeof PATTERNS)[number];

const HELP = `Usage: npm run load -- [--pattern P] [--rate R] [--duration D] [--clients N] [--target host:port]

Pushes one of the seed's load patterns through the pooled client, with a progress bar, and prints
a MetricsSummary at the end. Without --target it starts the test server in its own process.

  --pattern sustained  open loop at R requests/s for D (default)
            burst      R requests at once, again as soon as they end, for D
            ramp       closed loop, R/4 -> R/2 -> 3R/4 -> R clients, a quarter of D each
            spike      R requests at once, then 10 sequential cool-down requests
  --rate R             see above (default 100)
  --duration D         30s, 2m, ... (default 10s)
  --clients N          client objects sharing the pool (default 10)
  --target H:P         a server that implements proto/loadtest.proto

Exit: 0 every request succeeded, 1 some failed (they are counted, never dropped), 2 bad usage.`;

runMain(async () => {
  const { values } = parseOptions(process.argv.slice(2), {
    pattern: { type: 'string', default: 'sustained' },
    rate: { type: 'string', default: '100' },
    duration: { type: 'string', default: '10s' },
    clients: { type: 'string', default: '10' },
    target: { type: 'string' },
    help: { type: 'boolean', default: false },
  });
  if (values.help) {
    console.log(HELP);
    return 0;
  }
  if (!PATTERNS.includes(values.pattern as Pattern)) {
    throw new UsageError(`--pattern takes ${PATTERNS.join(', ')}; got "${values.pattern}"`);
  }
  const pattern = values.pattern as Pattern;
  const rate = parseInteger(values.rate, '--rate', 1, 1_000_000);
  const durationMs = parseDuration(values.duration, '--duration');
  const clientCount = parseInteger(values.clients, '--clients', 1, 10_000);
  let target: string | undefined;
  if (values.target !== undefined) {
    try {
      target = normaliseAddress(values.target);
    } catch (error) {
      throw new UsageError(`--target: ${(error as Error).message}`);
    }
  }

  const server: ServerProcess | undefined = target ? undefined : await startServerProcess();
  const address = target ?? (server as ServerProcess).address;
  const metrics = new LoadTestMetrics();
  const pool = new ConnectionPool({ name: 'load' });
  const clients = Array.from({ length: clientCount }, () => new PoolClient(address, { pool, metrics }));
  const send = (ctx: RequestContext) => (clients[ctx.worker % clients.length] as PoolClient).call();
  console.log(
    `load: ${pattern} at ${rate}${pattern === 'sustained' ? ' req/s' : ''} for ${durationMs / 1000} s against ${address}${server ? ' (embedded, own process)' : ''}`,
  );

  const bar = process.stdout.isTTY
    ? new SingleBar({ format: 'load [{bar}] {percentage}% | {requests} requests, {failed} failed' })
    : undefined;
  bar?.start(100, 0, { requests: 0, failed: 0 });
  const started = performance.now();
  const ticker = setInterval(
    () => {
      const c = metrics.counts();
      const done = Math.min(100, ((performance.now() - started) / durationMs) * 100);
      if (bar) bar.update(done, { requests: c.totalRequests, failed: c.failedRequests });
      else
        console.log(
          `load ${((performance.now() - started) / 1000).toFixed(0)} s: ${c.totalRequests} requests, ${c.failedRequests} failed`,
        );
    },
    bar ? 200 : 5_000,
  );

  let results: LoadResult[] = [];
  try {
    if (pattern === 'sustained') {
      const r = await runFixedRate({ ratePerSec: rate, durationMs, workers: clientCount }, send);
      results = [r];
      console.log(
        `\nrequested ${rate} req/s, achieved ${r.achievedRatePerSec.toFixed(1)} req/s, max lateness ${r.maxLatenessMs.toFixed(1)} ms`,
      );
    } else if (pattern === 'burst') {
      const endAt = performance.now() + durationMs;
      while (performance.now() < endAt) results.push(await runBursts({ bursts: 1, size: rate }, send));
    } else if (pattern === 'ramp') {
      for (const fraction of [0.25, 0.5, 0.75, 1]) {
        results.push(
          await runClosedLoop({ workers: Math.max(1, Math.round(rate * fraction)), durationMs: durationMs / 4 }, send),
        );
      }
    } else {
      const { spike, cooldown } = await runSpike({ spikeClients: rate, cooldownRequests: 10 }, send);
      results = [spike, cooldown];
    }
  } finally {
    clearInterval(ticker);
    bar?.update(100, { requests: metrics.counts().totalRequests, failed: metrics.counts().failedRequests });
    bar?.stop();
    await pool.close();
    await server?.stop();
  }
  const failures: Record<string, number> = {};
  for (const r of results) for (const [k, v] of Object.entries(r.failures)) failures[k] = (failures[k] ?? 0) + v;
  console.log(formatSummary(`load ${pattern}`, summarize(metrics)));
  if (Object.keys(failures).length > 0) console.log(`failures by code: ${JSON.stringify(failures)}`);
  return metrics.counts().failedRequests > 0 ? 1 : 0;
});
