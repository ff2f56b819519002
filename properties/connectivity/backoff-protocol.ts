/**
 * The connection backoff protocol as gRPC writes it down (grpc/grpc doc/connection-backoff.md,
 * "Proposed Backoff Algorithm"), as checks over the times at which a server saw a client's
 * connection attempts. Pure: the attempt times come in, a list of violations goes out.
 *
 * In the document's words, paraphrased: the first retry waits INITIAL_BACKOFF; every later wait is
 * the previous un-jittered wait times MULTIPLIER, capped at MAX_BACKOFF, then moved by a uniform
 * random amount of up to +/- JITTER of itself. The document gives MULTIPLIER 1.6 and JITTER 0.2,
 * lets implementations choose other jitter logic, and asks of any alternative that backoffs
 * started together disperse and that it never try "substantially more often" than this algorithm.
 */

/** MULTIPLIER of connection-backoff.md (grpc-js uses it and exposes no option for it). */
export const SPEC_MULTIPLIER = 1.6;
/** JITTER of connection-backoff.md (grpc-js likewise). */
export const SPEC_JITTER = 0.2;

/** Float slack on every bound (ms): a wait computed as exactly the bound must not fail it by rounding. */
const ROUNDING_MS = 1e-6;

/** The protocol's parameters; INITIAL_BACKOFF and MAX_BACKOFF are the channel's options. */
export interface BackoffParams {
  /** `grpc.initial_reconnect_backoff_ms`. */
  readonly initialMs: number;
  /** `grpc.max_reconnect_backoff_ms`. */
  readonly maxMs: number;
  readonly multiplier?: number;
  readonly jitter?: number;
}

/**
 * Where the protocol bounds the wait after attempt k, k >= 1, given the wait the server saw after
 * attempt k - 1. Under the written algorithm a wait is b_k(1 + u) with b_k = min(M b_(k-1), MAX) and
 * |u| <= J, so the ratio of a wait to min(M x previous wait, MAX) lies in [(1-J)/(1+J), (1+J)/(1-J)]
 * (2/3 .. 3/2 for J = 0.2). An implementation that multiplies the jittered wait instead (grpc-js's
 * BackoffTimeout does) lies in [1-J, 1+J], inside it. A check on one step, unlike one on the
 * cumulative schedule, holds for both.
 */
export function nextWaitBounds(previousWaitMs: number, p: BackoffParams): { lo: number; hi: number } {
  const m = p.multiplier ?? SPEC_MULTIPLIER;
  const j = p.jitter ?? SPEC_JITTER;
  const nominal = Math.min(m * previousWaitMs, p.maxMs);
  return { lo: (nominal * (1 - j)) / (1 + j), hi: (nominal * (1 + j)) / (1 - j) };
}

/**
 * Violations of the protocol by `attemptsMs` (ascending times at which the server accepted each
 * attempt of one channel, while every attempt failed). `toleranceMs` absorbs what the observer adds:
 * timers firing late and the accept callback running late on a busy event loop (the caller measures
 * it in the same run). Checked:
 * - spacing: the first retry waits INITIAL_BACKOFF (give or take the jitter an alternative may add);
 * - growth: each later wait is the previous one times MULTIPLIER, capped, within the jitter
 *   (`nextWaitBounds`), so retries neither stay flat nor run ahead;
 * - cap: no wait exceeds MAX_BACKOFF plus its jitter, so a returning server is tried again in time.
 */
export function backoffViolations(attemptsMs: readonly number[], p: BackoffParams, toleranceMs: number): string[] {
  const j = p.jitter ?? SPEC_JITTER;
  const m = p.multiplier ?? SPEC_MULTIPLIER;
  const waits = attemptsMs.slice(1).map((t, k) => t - (attemptsMs[k] as number));
  const out: string[] = [];
  const ms = (x: number) => `${Math.round(x)} ms`;
  const first = waits[0];
  if (first !== undefined) {
    const lo = p.initialMs * (1 - j) - toleranceMs - ROUNDING_MS;
    const hi = p.initialMs * (1 + j) + toleranceMs + ROUNDING_MS;
    if (first < lo || first > hi) {
      out.push(`first retry after ${ms(first)}; INITIAL_BACKOFF ${ms(p.initialMs)} allows ${ms(lo)}..${ms(hi)}`);
    }
  }
  // Noise in the previous wait moves the bounds by up to M (1+J)/(1-J) times it.
  const stepTolerance = toleranceMs * (1 + (m * (1 + j)) / (1 - j)) + ROUNDING_MS;
  for (let k = 1; k < waits.length; k++) {
    const wait = waits[k] as number;
    const { lo, hi } = nextWaitBounds(waits[k - 1] as number, p);
    if (wait < lo - stepTolerance || wait > hi + stepTolerance) {
      out.push(
        `retry ${k + 1} after ${ms(wait)}, the one before after ${ms(waits[k - 1] as number)}: the protocol allows ${ms(lo - stepTolerance)}..${ms(hi + stepTolerance)}`,
      );
    }
  }
  const cap = p.maxMs * (1 + j) + toleranceMs + ROUNDING_MS;
  waits.forEach((wait, k) => {
    if (wait > cap) out.push(`retry ${k + 1} after ${ms(wait)}: MAX_BACKOFF ${ms(p.maxMs)} with its jitter allows ${ms(cap)}`);
  });
  return out;
}

/**
 * connection-backoff.md asks that backoffs started at the same time disperse. Two channels that
 * started retrying together (each against its own refusing server) must not retry in lockstep: from
 * the second retry on (the first waits INITIAL_BACKOFF, un-jittered, in the written algorithm), the
 * offsets of their attempts from their own first attempt must differ somewhere by more than
 * `lockstepMs`. With jitter J the chance that 4 independent retries all land within 2 ms of another
 * channel's is below 1e-5 for the waits this suite generates; noise only adds differences.
 * Returns null when dispersed (or when either channel has too few attempts to tell).
 */
export function lockstepViolation(
  a: readonly number[],
  b: readonly number[],
  lockstepMs: number,
  minAttempts = 6,
): string | null {
  const n = Math.min(a.length, b.length);
  if (n < minAttempts) return null;
  const a0 = a[0] as number;
  const b0 = b[0] as number;
  let widest = 0;
  for (let k = 2; k < n; k++) widest = Math.max(widest, Math.abs((a[k] as number) - a0 - ((b[k] as number) - b0)));
  if (widest > lockstepMs) return null;
  return `two channels started together retried in lockstep: over ${n} attempts their offsets never differed by more than ${widest.toFixed(1)} ms (no jitter)`;
}

/**
 * The written algorithm's nominal schedule (no jitter): the time of each attempt after the first,
 * from the first, while it stays within `horizonMs`. What a scenario expects to observe.
 */
export function nominalSchedule(p: BackoffParams, horizonMs: number): number[] {
  const m = p.multiplier ?? SPEC_MULTIPLIER;
  const out: number[] = [];
  let wait = p.initialMs;
  let at = 0;
  for (;;) {
    at += wait;
    if (at > horizonMs) return out;
    out.push(at);
    wait = Math.min(wait * m, p.maxMs);
  }
}
