import type { PropertyConstraints, PropertyResult } from './check-runner.js';
import type { ClientOp, NemesisOp, Program } from './parallel/program.js';
import { describeProgram, programSize } from './parallel/program.js';

/**
 * Runs the recorded steps of a program: first on schedule `run` of `seed` (the schedule the failing
 * case had), then on `fresh` other schedules. Resolves with the first failing result, or undefined.
 */
export type TryProgram = (
  steps: readonly string[],
  schedule: { seed: number; run: number; fresh: number },
) => Promise<PropertyResult | undefined>;

/**
 * Limits of one minimisation, per layer: time, fresh schedules tried per candidate, and the most
 * time those may take. close-without-drain's `c1: close() | c2: call(0)` fails only where the call
 * has connected and waits for its answer when the close begins: by a rough count one schedule in
 * eight, which six fresh schedules miss about two times in five (with six, the live self-check kept
 * it at 5 operations; with 24 it reaches 2). close-keys-live-while-closing's 4-operation forms
 * (`prefix: call(0) | c1: close() | c2: call(1) | c3: stats()`) fail in about one live schedule in
 * 60 (3 of 10 batches of 24, 250 ms a batch): 24 schedules miss them seven times in ten and the
 * self-check stayed at 5 (three tries at seed 20261206, one with a 90 s budget); 150 miss them about
 * one time in 12, and it reaches 4. A live run of a few operations takes about 10 ms, one of twelve
 * with a black hole seconds: the 1.2 s bound keeps a big candidate to a few schedules, and the last
 * pass (every candidate of the minimal case passes) to about a second a candidate (with 3 s, npm
 * test's CLI runs that minimise on live took 150 s longer in all).
 */
export const MINIMISE_LIMITS: Readonly<Record<'simulated' | 'live', { budgetMs: number; fresh: number; candidateMs?: number }>> =
  {
    simulated: { budgetMs: 10_000, fresh: 200 },
    live: { budgetMs: 45_000, fresh: 150, candidateMs: 1_200 },
  };

/**
 * The kind of a failure, for telling "the same bug, smaller" from another bug a smaller program
 * happens to hit: the error's name and the words of its message before the first detail (a number
 * or a colon), e.g. "ModelDisagreement history not linearizable".
 */
export function failureKind(error: string | undefined): string {
  const text = (error ?? '').replace(/\[[^\]]*\]/g, '');
  const [name, ...rest] = text.split(':');
  const first = rest.join(':').trim();
  const words = /^[^\d:(]*/.exec(first)?.[0] ?? '';
  return `${(name ?? '').trim()} ${words.trim()}`.trim();
}

/**
 * Whether a candidate's failure is the same bug as the original's. On the real code a smaller
 * program that fails another way may be another bug, so the kind must match (`failureKind`).
 * Against a known-broken variant every failure comes from its one patch (the real code passes), so
 * another symptom of the same class of error counts: close-without-drain fails "history not
 * linearizable" with a stop beside it and "connection #1 began closing while call(0) was in flight"
 * without; both ModelDisagreement.
 */
export function sameBug(original: string | undefined, found: string | undefined, againstVariant: boolean): boolean {
  const a = failureKind(original);
  const b = failureKind(found);
  if (!againstVariant) return a === b;
  return a.split(' ')[0] === b.split(' ')[0];
}

type Op = ClientOp | NemesisOp;

const without = <T>(list: readonly T[], k: number): T[] => list.filter((_, j) => j !== k);
const replaced = <T>(list: readonly T[], k: number, item: T): T[] => list.map((x, j) => (j === k ? item : x));

/**
 * Simpler forms of one operation: no failure code, a smaller wave, a wave or a load pattern as one
 * call, a late call as an ordinary one, no wait, address 0.
 */
function simpler(op: Op): Op[] {
  const out: Op[] = [];
  if (op.f === 'wave') {
    if (op.count > 2) out.push({ ...op, count: op.count - 1 });
    out.push({ f: 'call', i: op.i, failCode: 0 });
  }
  if (op.f === 'load') out.push({ f: 'call', i: op.i, failCode: 0 });
  if (op.f === 'call' && op.late) out.push({ f: 'call', i: op.i, failCode: 0 });
  if (op.f === 'call' && op.failCode !== 0) out.push({ ...op, failCode: 0 });
  if ('after' in op && op.after) out.push({ ...op, after: 0 });
  if ('i' in op && op.i !== 0) out.push({ ...op, i: 0 } as Op);
  return out;
}

/**
 * Every program one step smaller or simpler than `p`, most reducing first: without the held key,
 * without the threads sharing its metrics,
 * without one operation, without a whole branch, with a branch's first operation moved to the end
 * of the prefix (the same operations, one fewer running concurrently: its setup is then done
 * before the race instead of being one more thing the race must order right), with two branches
 * merged (one client fewer, the same operations in sequence), and with one operation simplified.
 */
export function candidates(p: Program): Program[] {
  const removals: Program[] = [
    ...(p.hold !== null ? [{ ...p, hold: null }] : []),
    ...(p.sharedMetrics ? [{ ...p, sharedMetrics: false }] : []),
    ...p.prefix.map((_, k) => ({ ...p, prefix: without(p.prefix, k) })),
    ...p.branches.flatMap((b, bk) =>
      b.length > 1 ? b.map((_, k) => ({ ...p, branches: replaced(p.branches, bk, without(b, k)) })) : [],
    ),
    ...p.nemesis.map((_, k) => ({ ...p, nemesis: without(p.nemesis, k) })),
    ...p.branches.map((_, bk) => ({ ...p, branches: without(p.branches, bk) })),
  ];
  const merges = p.branches.flatMap((a, ka) =>
    p.branches.slice(ka + 1).map((b, j) => ({ ...p, branches: without(replaced(p.branches, ka, [...a, ...b]), ka + 1 + j) })),
  );
  const moves = p.branches.flatMap((b, bk) => {
    const [first, ...rest] = b;
    return first === undefined ? [] : [{ ...p, prefix: [...p.prefix, first], branches: replaced(p.branches, bk, rest) }];
  });
  const places: Array<[readonly Op[], (ops: Op[]) => Program]> = [
    [p.prefix, (ops) => ({ ...p, prefix: ops as ClientOp[] })],
    ...p.branches.map((b, bk): [readonly Op[], (ops: Op[]) => Program] => [
      b,
      (ops) => ({ ...p, branches: replaced(p.branches, bk, ops as ClientOp[]) }),
    ]),
    [p.nemesis, (ops) => ({ ...p, nemesis: ops as NemesisOp[] })],
  ];
  const simplified = places.flatMap(([ops, rebuild]) =>
    ops.flatMap((op, k) => simpler(op).map((s) => rebuild(replaced(ops, k, s)))),
  );
  // A branch emptied by the above is dropped (an empty client line would read as nothing).
  return [...removals, ...moves, ...merges, ...simplified].map((q) => ({
    ...q,
    branches: q.branches.filter((b) => b.length > 0),
  }));
}

/** How a minimisation sees a case: its smaller neighbours, its steps as a failure file holds them, its size. */
export interface CaseShape<T> {
  candidates(t: T): T[];
  describe(t: T): string[];
  /** Compared in order, fewer first (operations, then lines). */
  size(t: T): readonly number[];
}

/**
 * The parallel program's shape: operations first, then those that run concurrently (outside the
 * prefix), then lines (clients), what a person reads.
 */
export const PROGRAM_SHAPE: CaseShape<Program> = {
  candidates,
  describe: describeProgram,
  size: (p) => [programSize(p), programSize(p) - p.prefix.length, describeProgram(p).length],
};

/** `a` is no larger than `b`: fewer by the first measure that differs, or equal in all (a simplification). */
function noLarger(a: readonly number[], b: readonly number[]): boolean {
  for (let k = 0; k < a.length; k++) {
    if ((a[k] as number) !== (b[k] as number)) return (a[k] as number) < (b[k] as number);
  }
  return true;
}

/**
 * Delta debugging over a failing case, after fast-check's shrinking (which shrinks a parallel
 * program branch by branch, and a command list by its own tree, and stops in local minima 1-3
 * commands above the shortest): tries each candidate on the failing schedule and a few fresh ones,
 * keeps the first that still fails the same way, and starts again from it, until no candidate fails
 * or the time is spent.
 */
export async function minimiseCase<T>(
  start: T,
  failure: PropertyResult,
  shape: CaseShape<T>,
  tryCase: TryProgram,
  limits: { budgetMs: number; fresh: number },
  stop: () => boolean = () => false,
  againstVariant = false,
): Promise<{ value: T; failure: PropertyResult; tried: number }> {
  const deadline = performance.now() + limits.budgetMs;
  let best = { value: start, failure };
  let tried = 0;
  let improved = true;
  // Every case tried, over all passes: a simplification and its reverse (a delay lowered, then
  // raised) never chase each other.
  const seen = new Set<string>([shape.describe(start).join('\n')]);
  while (improved && performance.now() < deadline && !stop()) {
    improved = false;
    for (const candidate of shape.candidates(best.value)) {
      if (performance.now() >= deadline || stop()) break;
      const text = shape.describe(candidate);
      const key = text.join('\n');
      if (seen.has(key) || text.length === 0 || !noLarger(shape.size(candidate), shape.size(best.value))) continue;
      seen.add(key);
      tried += 1;
      const schedule = { seed: best.failure.seed, run: Number(best.failure.path?.split(':')[0] ?? 0), fresh: limits.fresh };
      const found = await tryCase(text, schedule);
      if (process.env.MINIMISE_DEBUG)
        console.error(`minimise: ${text.join(' ; ')} -> ${found ? failureKind(found.error) : 'passed'}`);
      if (found && sameBug(failure.error, found.error, againstVariant)) {
        best = { value: candidate, failure: found };
        improved = true;
        break;
      }
    }
  }
  return { ...best, tried };
}

/**
 * A fresh failure, shrunk by fast-check, is minimised further; not a replay of recorded steps or of
 * a shrunk path (those must show the case as it was), not a fuzzing batch (no shrinking), not after
 * a stop.
 */
export function shouldMinimise(c: PropertyConstraints, r: PropertyResult): boolean {
  const replaysShrunkPath = (c.path ?? '').includes(':');
  return !r.passed && !c.noShrink && c.steps === undefined && !replaysShrunkPath && !(c.interruptWhen?.() ?? false);
}

/**
 * `final` with its case minimised (see `minimiseCase`): `start` is its counterexample read back,
 * `check` runs a property with recorded steps. Seed and path of the result name the schedule the
 * minimised case failed on.
 */
export async function minimiseFailure<T>(
  c: PropertyConstraints,
  final: PropertyResult,
  start: T,
  shape: CaseShape<T>,
  check: (c: PropertyConstraints) => Promise<PropertyResult>,
): Promise<PropertyResult> {
  const started = performance.now();
  const limits = MINIMISE_LIMITS[final.layer];
  const tryCase: TryProgram = async (steps, { seed, run, fresh }) => {
    const base = { ...c, steps, noShrink: true, timeLimitMs: undefined, path: undefined, commandsReplayPath: undefined };
    const exact = await check({ ...base, seed, path: String(run), runs: 1 });
    if (!exact.passed || fresh === 0) return exact.passed ? undefined : exact;
    const other = await check({ ...base, seed: seed + 1, runs: fresh, timeLimitMs: limits.candidateMs });
    return other.passed ? undefined : other;
  };
  const m = await minimiseCase(start, final, shape, tryCase, limits, c.interruptWhen, c.variant !== undefined);
  if (m.value === start) return final;
  const f = m.failure;
  const sizeOf = (t: T) => shape.size(t)[0] as number;
  return {
    ...final,
    seed: f.seed,
    path: f.path,
    commandsReplayPath: undefined,
    counterexample: f.counterexample,
    error: f.error,
    wallMs: final.wallMs + (performance.now() - started),
    minimised: { fromCommands: sizeOf(start), toCommands: sizeOf(m.value), candidates: m.tried },
    ...(f.timelineHtml ? { timelineHtml: f.timelineHtml } : {}),
    ...(f.failingHistory ? { failingHistory: f.failingHistory } : {}),
  };
}
