/**
 * Leaks other than sockets (issue 19): after a run, and after its teardown, the process must hold
 * no more timers, handles and grpc-js channels than it held before the run.
 *
 * What it counts:
 * - `process.getActiveResourcesInfo()`, by type: `Timeout`, `Immediate`, `TCPSocketWrap`,
 *   `TCPServerWrap`, `FSReqCallback`, `GetAddrInfoReqWrap`, ... Node lists only what keeps the event
 *   loop alive: a timer or handle that was `unref()`'d is not listed (measured on Node 20: a
 *   `setTimeout(...).unref()` leaves the `Timeout` count unchanged, an unref'd socket or server
 *   leaves its count unchanged). grpc-js unrefs its long-lived timers (keepalive, idle, backoff,
 *   resolver) and, while no call is in flight, its client sockets; only a call's deadline timer and
 *   a connectivity watch's timer are ref'd, for as long as the call or the watch lasts. A leak of
 *   unref'd things is only seen through what else it holds (the connector's own handshake watchdog
 *   is unref'd too: a close that forgot it would go unseen here).
 * - `GrpcJsChannel`: grpc-js channels not yet closed, read from the channelz registry of the release
 *   the client stack runs on (`getChannelzHandlers().GetTopChannels`, a public API; a channel is
 *   registered when made and taken out when closed). This is how a channel that was never closed is
 *   seen once the servers are gone: its socket is then closed by the peer, its timers are unref'd,
 *   and only the registry, which holds it for the life of the process, still has it. A channel made
 *   with `grpc.enable_channelz: 0` is never registered and is not counted.
 *
 * What a clean run leaves (measured, see properties/leak-check.test.ts):
 * - simulated layer (in-memory, no sockets): nothing at all, no `Timeout` in particular, as soon as
 *   the pool is closed and the backend disposed.
 * - live layer (grpc-js 1.14 over real test servers): once the pool is closed, for a few event-loop
 *   turns, the servers' side of each connection (`TCPSocketWrap`), a `SimpleShutdownWrap` and an
 *   `Immediate`; once the backend is disposed, its listeners and the proxies' sockets for a turn or
 *   two. grpc-js itself keeps no timer after its channels are closed, not even an unref'd one; Node's
 *   http2 keeps an unref'd date-cache timer for up to 1 s (invisible here). Targets are IP
 *   addresses, so no DNS request is ever pending. All of it goes by itself: a settle, not an
 *   allowance, absorbs it; nothing is allowed beyond the baseline.
 * - live layer on grpc-js 1.8.0 to 1.8.4: besides, one ref'd `Timeout` per call, its deadline timer,
 *   until the deadline passes (see `lingeringDeadlineTimers`; `liveSettleBoundMs` waits them out).
 */
import { grpcJs, grpcJsRelease } from '../src/pool/grpc-js-release.js';
import { CALL_DEADLINE_MS, SETTLE_TOLERANCE_MS } from './backend.js';

/** The pseudo resource type under which grpc-js channels not yet closed are counted. */
export const GRPC_CHANNEL = 'GrpcJsChannel';

/** Counts by resource type at one instant. */
export interface ResourceSnapshot {
  /** How many of each type: Node's names (`getActiveResourcesInfo`) and `GrpcJsChannel`. */
  readonly counts: Readonly<Record<string, number>>;
  /** `performance.now()` when it was taken. */
  readonly takenAt: number;
}

/** How many of a type may be left beyond the baseline (default 0 for every type). */
export type LeakAllowance = Readonly<Record<string, number>>;

export interface SnapshotOptions {
  /**
   * Whether to count grpc-js channels (default true). Loads the client stack's grpc-js on first use
   * (it loads nothing that holds a handle).
   */
  readonly grpcChannels?: boolean;
}

/**
 * How long `settleLeaks` waits, per layer, for what a clean run leaves to go. Simulated: a clean run
 * leaves nothing to wait for; the bound only lets the harness's own watches finish and a test
 * runner's timer armed during the run (vitest's is 100 ms) fire. Live: a clean run's leftovers go
 * within at most 6 looks (median under 0.5 ms; the worst of some 300 runs, idle or with both cores
 * kept busy by two other processes, 40 ms); the bound is 25 times that. A timer shorter than the bound
 * that is still pending at the check goes unseen: it ends by itself before the bound passes.
 */
export const SETTLE_BOUND_MS = { simulated: 250, live: 1_000 } as const;

/**
 * Whether the client stack's grpc-js release leaves each call's deadline timer ref'd and pending
 * after the call has ended, until its deadline passes: 1.8.0 to 1.8.4 (grpc/grpc-node#2332, fixed
 * in 1.8.5 by #2335). Measured here on 1.8.0: a clean run leaves one `Timeout` per call made in
 * the last `CALL_DEADLINE_MS`; 1.8.13 and later leave none.
 */
export function lingeringDeadlineTimers(release: string = grpcJsRelease()): boolean {
  const [major, minor, patch] = release.split('.').map((n) => Number.parseInt(n, 10));
  return major === 1 && minor === 8 && (patch ?? 0) < 5;
}

/**
 * The live layer's settle bound for the client stack's release: `SETTLE_BOUND_MS.live`, or, where
 * deadline timers linger, long enough for them to run out (a call's deadline plus the settle
 * tolerance). There, a clean run's check waits up to a deadline, and a leaked timer shorter than
 * that goes unseen.
 */
export function liveSettleBoundMs(release: string = grpcJsRelease()): number {
  return lingeringDeadlineTimers(release) ? CALL_DEADLINE_MS + SETTLE_TOLERANCE_MS : SETTLE_BOUND_MS.live;
}

/** Turns polled with `setImmediate` before the wait backs off onto short timers (a loaded machine). */
const IMMEDIATE_TURNS = 64;
/** Longest pause between two looks once the wait has backed off. */
const MAX_PAUSE_MS = 16;

/** What each type left behind usually means. */
const HINTS: Readonly<Record<string, string>> = {
  Timeout:
    "ref'd timers still pending: a setInterval not cleared on close, or a deadline/retry setTimeout not cleared when its call ended",
  Immediate: 'setImmediate callbacks still queued: something reschedules itself turn after turn',
  TCPSocketWrap:
    "TCP sockets still open: a connection or channel never closed (on the live layer the server's side of a client connection is counted too)",
  TCPServerWrap: 'listening servers still open: a backend, server or proxy not disposed',
  TCPWrap: 'TCP handles still open',
  PipeWrap: 'pipes still open: a child process or stream not closed',
  ProcessWrap: 'child processes still running',
  FSReqCallback: 'file-system requests still pending',
  FSReqPromise: 'file-system requests still pending',
  GetAddrInfoReqWrap: 'DNS lookups still pending',
  ConnectWrap: 'TCP connects still pending',
  SimpleShutdownWrap: 'socket shutdowns still pending',
  [GRPC_CHANNEL]:
    'grpc-js channels never closed (channelz still lists them): a connection the pool or a client did not close; grpc-js holds it, its subchannels and timers for the life of the process',
};

/** Live grpc-js channels in the channelz registry of the client stack's release. */
function openGrpcChannels(): number {
  let count = 0;
  const handlers = grpcJs().getChannelzHandlers();
  // A unary handler called in-process: it answers synchronously. One page, whatever its size.
  const call = { request: { start_channel_id: '0', max_results: String(Number.MAX_SAFE_INTEGER) } };
  handlers.GetTopChannels(call as unknown as Parameters<typeof handlers.GetTopChannels>[0], (error, value) => {
    if (error) throw new Error(`channelz GetTopChannels failed: ${error.details ?? String(error.code)}`);
    count = value?.channel?.length ?? 0;
  });
  return count;
}

/** The resources this process holds now, by type. Costs a few microseconds (see the test file). */
export function takeResourceSnapshot(options: SnapshotOptions = {}): ResourceSnapshot {
  const counts: Record<string, number> = {};
  for (const type of process.getActiveResourcesInfo()) counts[type] = (counts[type] ?? 0) + 1;
  if (options.grpcChannels ?? true) counts[GRPC_CHANNEL] = openGrpcChannels();
  return { counts, takenAt: performance.now() };
}

/**
 * A baseline taken once no ref'd `Timeout` or `Immediate` is pending (looking every turn, then at
 * short growing intervals, for at most `timeoutMs`; at the bound, whatever is there). Counts are
 * compared by type, net: a timer pending at the baseline that ends during the run hides one new
 * timer of the run. Vitest's runner, for one, arms a 100 ms timer at the start of every test. A
 * quiet baseline has no such timer to lose. In a process that always has a timer pending (a
 * progress bar redrawing), it waits the whole bound: there, take a plain snapshot (a steady
 * background is counted the same before and after).
 */
export async function takeQuietSnapshot(
  timeoutMs: number = SETTLE_BOUND_MS.live,
  options: SnapshotOptions = {},
): Promise<ResourceSnapshot> {
  const started = performance.now();
  const wait = pacer();
  for (;;) {
    const snapshot = takeResourceSnapshot(options);
    const quiet = (snapshot.counts.Timeout ?? 0) === 0 && (snapshot.counts.Immediate ?? 0) === 0;
    if (quiet || snapshot.takenAt - started >= timeoutMs) return snapshot;
    await wait(timeoutMs - (snapshot.takenAt - started));
  }
}

/**
 * The pause between two looks of a bounded wait: the next event-loop turn for the first 64 looks,
 * then short timers growing from 1 ms to 16 ms (never past `leftMs`), so that a long wait does not
 * keep a loaded core busy. Each look is taken after the pause's own timer has fired: it is never
 * counted.
 */
function pacer(): (leftMs: number) => Promise<void> {
  let looks = 0;
  let pauseMs = 1;
  return (leftMs) => {
    looks += 1;
    if (looks <= IMMEDIATE_TURNS) return new Promise<void>((resolve) => setImmediate(resolve));
    const pause = Math.min(pauseMs, Math.max(1, leftMs));
    pauseMs = Math.min(MAX_PAUSE_MS, pauseMs * 2);
    return new Promise<void>((resolve) => setTimeout(resolve, pause));
  };
}

/**
 * The leaks `after` shows against `before`: one line per type held more often than before (beyond
 * its allowance), e.g. `Timeout: 3 now, 1 before (+2): ref'd timers still pending: ...`. Empty when
 * fine. Fewer than before is not a leak (something that was pending at the baseline has ended).
 */
export function checkNoLeaks(before: ResourceSnapshot, after: ResourceSnapshot, allowance: LeakAllowance = {}): string[] {
  const problems: string[] = [];
  for (const [type, now] of Object.entries(after.counts)) {
    const was = before.counts[type] ?? 0;
    const extra = now - was;
    const allowed = allowance[type] ?? 0;
    if (extra <= allowed) continue;
    const allowedText = allowed > 0 ? `, ${allowed} allowed` : '';
    problems.push(`${type}: ${now} now, ${was} before (+${extra}${allowedText}): ${HINTS[type] ?? 'still active'}`);
  }
  return problems.sort();
}

/** What `settleLeaks` found once the counts came back to the baseline, or the bound passed. */
export interface LeakReport {
  /** As `checkNoLeaks` words them; empty when everything came back to the baseline. */
  readonly problems: string[];
  /** How long the settle waited. */
  readonly waitedMs: number;
  /** How many looks it took. */
  readonly looks: number;
  /** The last snapshot taken. */
  readonly after: ResourceSnapshot;
}

/**
 * Waits until every count is back to `before` (beyond `allowance`) or `timeoutMs` has passed, and
 * reports what is left. Looks again every event-loop turn (setImmediate), then, after 64 turns, at
 * short growing intervals (1 ms to 16 ms) so that a long wait does not keep a loaded core busy. A
 * clean run returns within a few turns: its cost is then one snapshot per turn. A leak costs the
 * whole bound.
 */
export async function settleLeaks(
  before: ResourceSnapshot,
  timeoutMs: number = SETTLE_BOUND_MS.live,
  allowance: LeakAllowance = {},
  options: SnapshotOptions = {},
): Promise<LeakReport> {
  const started = performance.now();
  const wait = pacer();
  for (let looks = 1; ; looks++) {
    const after = takeResourceSnapshot(options);
    const problems = checkNoLeaks(before, after, allowance);
    const waitedMs = after.takenAt - started;
    if (problems.length === 0 || waitedMs >= timeoutMs) return { problems, waitedMs, looks, after };
    await wait(timeoutMs - waitedMs);
  }
}

/** A run left resources behind. */
export class ResourceLeakError extends Error {
  readonly code = 'ERR_RESOURCE_LEAK';
  constructor(
    message: string,
    readonly report: LeakReport,
  ) {
    super(message);
    this.name = 'ResourceLeakError';
  }
}

export interface AssertNoLeaksOptions {
  /** Picks the settle bound: `SETTLE_BOUND_MS.simulated`, or `liveSettleBoundMs()` (the default). */
  readonly layer?: keyof typeof SETTLE_BOUND_MS;
  /** Overrides the layer's bound. */
  readonly timeoutMs?: number;
  readonly allowance?: LeakAllowance;
  /** Where in the run the check is made, for the message (e.g. `after teardown`). */
  readonly when?: string;
  readonly grpcChannels?: boolean;
}

/**
 * `settleLeaks`, throwing a `ResourceLeakError` that names what is left when something is. What a
 * property calls after a run's teardown, against a snapshot taken before its backend started.
 */
export async function assertNoLeaks(before: ResourceSnapshot, options: AssertNoLeaksOptions = {}): Promise<LeakReport> {
  const timeoutMs = options.timeoutMs ?? (options.layer === 'simulated' ? SETTLE_BOUND_MS.simulated : liveSettleBoundMs());
  const report = await settleLeaks(before, timeoutMs, options.allowance, { grpcChannels: options.grpcChannels ?? true });
  if (report.problems.length > 0) {
    throw new ResourceLeakError(
      `resources left ${options.when ?? 'after the run'} (still there ${Math.round(report.waitedMs)} ms later): ${report.problems.join('; ')}`,
      report,
    );
  }
  return report;
}
