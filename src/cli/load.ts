import { randomUUID } from 'node:crypto';
import { SingleBar } from 'cli-progress';
import { PoolClient } from '../client/pool-client.js';
import { type ServerProcess, startServerProcess } from '../harness/server-process.js';
import { runClosedLoop } from '../load/closed-loop.js';
import { DEFAULT_MAX_IN_FLIGHT, FixedRateRun } from '../load/fixed-rate.js';
import { readServerLedger } from '../load/ledger-probe.js';
import { describeFailureKey, failureKey, type RequestContext } from '../load/load-result.js';
import { reconcileIds } from '../load/reconcile-ids.js';
import { runBursts, runSpike } from '../load/shapes.js';
import { LoadTestMetrics } from '../metrics/load-test-metrics.js';
import { formatSummary, summarize } from '../metrics/metrics-summary.js';
import { ConnectionPool } from '../pool/connection-pool.js';
import { normaliseAddress } from '../pool/pool-key.js';
import { UsageError } from './cli-errors.js';
import { EXIT } from './exit-codes.js';
import { parseDuration, parseInteger, parseOptions } from './parse-options.js';
import { runMain } from './run-main.js';
import { STOPPED } from './stop-signal.js';

const PATTERNS = ['sustained', 'burst', 'ramp', 'spike'] as const;
type Pattern = (typeof PATTERNS)[number];

/** The run stops early when this many requests have settled and every one of them failed. */
const ALL_FAILED_AFTER = 20;
/** After SIGINT/SIGTERM, how long requests in flight get to settle before the partial summary. */
const STOP_SETTLE_MS = 1_000;

const HELP = `Usage: npm run load -- [--pattern P] [--rate R] [--duration D] [--clients N] [--max-in-flight M] [--target host:port]

Pushes one of the seed's load patterns through the pooled client, with a progress bar, and prints
what really happened: requests sent (and not sent), completed, failed by gRPC status name, the rate
achieved from the actual send times, how late the sender was, what the server saw (its ledger, when
it serves GetLedger), and a MetricsSummary. Without --target it starts the test server in its own
process, and stops it at the end.

  --pattern sustained  open loop: R requests/s for D, each sent at its scheduled time (default)
            burst      R requests at once, again as soon as they end, until D has passed
            ramp       closed loop, R/4 -> R/2 -> 3R/4 -> R clients, a quarter of D each
            spike      R requests at once, then one client sending one request after another
                       until D has passed since the spike
  --rate R             see above (default 100)
  --duration D         30s, 2m, 500ms, ... (default 10s)
  --clients N          client objects sharing the pool (default 10)
  --max-in-flight M    most requests in flight at once (default ${DEFAULT_MAX_IN_FLIGHT}). sustained: a request whose
                       time comes while M are in flight is not sent; it is counted as "not sent:
                       generator saturated" instead of piling up, and the run says it could not keep
                       up. burst, ramp and spike need R <= M.
  --target H:P         a server that implements proto/loadtest.proto
  -h, --help           this text

Every request failing: once ${ALL_FAILED_AFTER} requests have settled and none succeeded, the run stops
early ("every request failed", with the gRPC statuses) instead of running its full duration.
SIGINT/SIGTERM: stops sending at once, gives requests in flight ${STOP_SETTLE_MS / 1000} s, prints the partial
summary and stops the embedded server; a second signal exits at once.

Exit codes:
  0        every scheduled request was sent and succeeded
  1        some or all requests failed, or the generator could not send every scheduled request
  2        bad usage
  3        I/O or environment error (the embedded server could not start)
  130/143  interrupted by SIGINT/SIGTERM (partial summary printed)
  141      output closed early (EPIPE, e.g. piped into head)`;

/** What the CLI itself saw of every request it handed to a client (apart from any pattern's counts). */
class SendLog {
  readonly ids: string[] = [];
  ok = 0;
  failed = 0;
  readonly failures: Record<string, number> = {};
  firstSendMs: number | undefined;
  lastSendMs: number | undefined;

  get inFlight(): number {
    return this.ids.length - this.ok - this.failed;
  }

  sent(id: string): void {
    const now = performance.now();
    this.ids.push(id);
    this.firstSendMs ??= now;
    this.lastSendMs = now;
  }

  failure(error: unknown): void {
    this.failed += 1;
    const key = failureKey(error);
    this.failures[key] = (this.failures[key] ?? 0) + 1;
  }

  /** `UNAVAILABLE(14) 40, DEADLINE_EXCEEDED(4) 2`, most frequent first. */
  describeFailures(): string {
    return Object.entries(this.failures)
      .sort((a, b) => b[1] - a[1])
      .map(([k, n]) => `${describeFailureKey(k)} ${n}`)
      .join(', ');
  }

  /** From the actual send times: (sent - 1) / (last - first); 0 with fewer than 2 sends. */
  get sendRatePerSec(): number {
    const span = (this.lastSendMs ?? 0) - (this.firstSendMs ?? 0);
    return this.ids.length >= 2 && span > 0 ? ((this.ids.length - 1) / span) * 1000 : 0;
  }
}

const delay = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms).unref());
const fmtMs = (us: number) => (us / 1000).toFixed(1);

runMain(
  async (stop) => {
    const { values } = parseOptions(
      process.argv.slice(2),
      {
        pattern: { type: 'string', default: 'sustained' },
        rate: { type: 'string', default: '100' },
        duration: { type: 'string', default: '10s' },
        clients: { type: 'string', default: '10' },
        'max-in-flight': { type: 'string', default: String(DEFAULT_MAX_IN_FLIGHT) },
        target: { type: 'string' },
        help: { type: 'boolean', default: false },
      },
      { help: HELP },
    );
    if (values.help) {
      console.log(HELP);
      return EXIT.passed;
    }
    if (!PATTERNS.includes(values.pattern as Pattern)) {
      throw new UsageError(`--pattern takes ${PATTERNS.join(', ')}; got "${values.pattern}"`);
    }
    const pattern = values.pattern as Pattern;
    const rate = parseInteger(values.rate, '--rate', 1, 1_000_000);
    const durationMs = parseDuration(values.duration, '--duration');
    const clientCount = parseInteger(values.clients, '--clients', 1, 10_000);
    const maxInFlight = parseInteger(values['max-in-flight'], '--max-in-flight', 1, 1_000_000);
    if (pattern !== 'sustained' && rate > maxInFlight) {
      throw new UsageError(
        `--rate ${rate} is the number of requests at once for ${pattern}: it must be <= --max-in-flight (${maxInFlight})`,
      );
    }
    let target: string | undefined;
    if (values.target !== undefined) {
      try {
        target = normaliseAddress(values.target);
      } catch (error) {
        throw new UsageError(`--target: ${(error as Error).message}`);
      }
    }

    const server: ServerProcess | undefined = target ? undefined : await startServerProcess();
    if (server) stop.onCleanup(() => server.stop());
    const address = target ?? (server as ServerProcess).address;
    const metrics = new LoadTestMetrics();
    const pool = new ConnectionPool({ name: 'load' });
    const clients = Array.from({ length: clientCount }, () => new PoolClient(address, { pool, metrics }));
    const runId = `load-${randomUUID().slice(0, 8)}`;
    const log = new SendLog();
    const controller = new AbortController();
    let stoppedBecause: string | undefined;
    const abort = (why: string): void => {
      if (controller.signal.aborted) return;
      stoppedBecause = why;
      controller.abort();
    };
    void stop.promise.then((reason) => abort(`stopped by ${reason}`));
    const send = async (ctx: RequestContext): Promise<void> => {
      const requestId = `${runId}-${log.ids.length}`;
      log.sent(requestId);
      try {
        await (clients[ctx.worker % clients.length] as PoolClient).call({ requestId });
        log.ok += 1;
      } catch (error) {
        log.failure(error);
        if (log.ok === 0 && log.failed >= ALL_FAILED_AFTER) {
          abort(`every request failed: the first ${log.failed} to settle all failed`);
        }
        throw error;
      }
    };
    const what =
      pattern === 'sustained'
        ? `sustained at ${rate} req/s for ${durationMs / 1000} s`
        : pattern === 'spike'
          ? `spike of ${rate} at once, then one client sending until ${durationMs / 1000} s have passed`
          : `${pattern} of ${rate} at once for ${durationMs / 1000} s`;
    console.log(
      `load: ${what} against ${address}${server ? ` (embedded, own process, pid ${server.pid})` : ''}; at most ${maxInFlight} in flight`,
    );

    const bar = process.stdout.isTTY
      ? new SingleBar({ format: 'load [{bar}] {percentage}% | {requests} requests, {failed} failed' })
      : undefined;
    bar?.start(100, 0, { requests: 0, failed: 0 });
    const started = performance.now();
    const ticker = setInterval(
      () => {
        const done = Math.min(100, ((performance.now() - started) / durationMs) * 100);
        if (bar) bar.update(done, { requests: log.ids.length, failed: log.failed });
        else
          console.log(
            `load ${((performance.now() - started) / 1000).toFixed(0)} s: ${log.ids.length} requests, ${log.failed} failed`,
          );
      },
      bar ? 200 : 5_000,
    );

    const signal = controller.signal;
    const fixed =
      pattern === 'sustained'
        ? new FixedRateRun({ ratePerSec: rate, durationMs, workers: clientCount, maxInFlight, signal }, send)
        : undefined;
    const run = (async (): Promise<void> => {
      if (fixed) {
        await fixed.run();
      } else if (pattern === 'burst') {
        const endAt = started + durationMs;
        while (performance.now() < endAt && !signal.aborted) await runBursts({ bursts: 1, size: rate, signal }, send);
      } else if (pattern === 'ramp') {
        for (const fraction of [0.25, 0.5, 0.75, 1]) {
          if (signal.aborted) break;
          await runClosedLoop({ workers: Math.max(1, Math.round(rate * fraction)), durationMs: durationMs / 4, signal }, send);
        }
      } else {
        await runSpike({ spikeClients: rate, durationMs, signal }, send);
      }
    })();
    let interrupted = false;
    try {
      if ((await stop.race(run)) === STOPPED) {
        interrupted = true;
        // Sending stopped at once (the abort above); what is in flight gets a moment to settle.
        await Promise.race([run, delay(STOP_SETTLE_MS)]);
      }
    } finally {
      clearInterval(ticker);
      bar?.update(Math.min(100, ((performance.now() - started) / durationMs) * 100), {
        requests: log.ids.length,
        failed: log.failed,
      });
      bar?.stop();
    }
    const wallMs = performance.now() - started;

    // What really went out.
    const sent = log.ids.length;
    if (fixed) {
      const r = fixed.snapshot();
      console.log(
        `sent ${sent} of ${r.scheduled} scheduled` +
          (r.notSentSaturated > 0
            ? `; NOT SENT: ${r.notSentSaturated} (generator saturated: ${maxInFlight} requests in flight)`
            : ''),
      );
      console.log(
        `requested ${rate} req/s, achieved ${r.achievedRatePerSec.toFixed(1)} req/s (from actual send times); ` +
          `sender lateness max ${r.maxLatenessMs.toFixed(1)} ms, p99 ${fmtMs(r.latenessUs.getValueAtPercentile(99))} ms; ` +
          `latency from intended start p50 ${fmtMs(r.fromIntendedStartUs.getValueAtPercentile(50))} ms, ` +
          `p99 ${fmtMs(r.fromIntendedStartUs.getValueAtPercentile(99))} ms`,
      );
    } else {
      console.log(`sent ${sent}, at ${log.sendRatePerSec.toFixed(1)} req/s (from actual send times)`);
    }
    console.log(
      `completed ${log.ok + log.failed}: ${log.ok} ok, ${log.failed} failed` +
        (log.inFlight > 0 ? `; ${log.inFlight} still in flight when the summary was taken` : ''),
    );
    if (log.failed > 0) {
      const all = log.ok === 0 ? 'EVERY REQUEST FAILED' : 'FAILED';
      console.log(`${all}: ${log.failed} of ${log.ok + log.failed} settled requests failed: ${log.describeFailures()}`);
    }
    if (!interrupted) {
      try {
        const seen = await readServerLedger(address, `${runId}-`, 5_000);
        const check = reconcileIds(log.ids, seen);
        const problems = [
          check.missing.length > 0 ? `${check.missing.length} sent but never seen` : '',
          check.duplicated.length > 0 ? `${check.duplicated.length} seen more than once` : '',
          check.unexpected.length > 0 ? `${check.unexpected.length} seen but never sent` : '',
        ].filter(Boolean);
        console.log(
          `server saw ${check.seen} of the ${sent} request ids sent${problems.length > 0 ? ` (${problems.join(', ')})` : ', each once'}`,
        );
      } catch (error) {
        console.log(`server ledger not read: ${(error as Error).message.split('\n')[0]}`);
      }
    }
    console.log(formatSummary(`load ${pattern}`, summarize(metrics)));
    console.log(`wall ${(wallMs / 1000).toFixed(2)} s for a ${durationMs / 1000} s run`);
    const notSent = fixed?.snapshot().notSentSaturated ?? 0;
    if (notSent > 0) {
      console.log(
        `WARNING: the generator could not keep up: ${notSent} of ${fixed?.snapshot().scheduled} scheduled requests were not sent ` +
          `(${maxInFlight} in flight); the rate above is what really went out. Lower --rate or raise --max-in-flight.`,
      );
    }
    if (stoppedBecause) console.log(`stopped early: ${stoppedBecause} after ${(wallMs / 1000).toFixed(2)} s`);

    // Close what this run opened; bounded when interrupted (the calls still in flight are abandoned).
    const closing = pool.close();
    if (interrupted) await Promise.race([closing, delay(STOP_SETTLE_MS)]);
    else await closing;
    await server?.stop();
    return log.failed > 0 || notSent > 0 ? EXIT.failed : EXIT.passed;
  },
  { stoppable: true },
);
