import path from 'node:path';
import { setTimeout as delay } from 'node:timers/promises';
import { pathToFileURL } from 'node:url';
import fc from 'fast-check';
import { DEFAULT_DEADLINE_MS } from '../src/client/pool-client.js';
import { TestEnvironment } from '../src/env/test-environment.js';
import { DEFAULT_POOL } from './adapter/registry.js';
import { notForThisPool } from './adapter/requirements.js';
import { SETTLE_TOLERANCE_MS } from './backend.js';
import { type PropertyConstraints, type PropertyResult, runCheck } from './check-runner.js';
import { notOnThisLayer } from './connectivity/live-only.js';
import { choiceField, intField, readStep, stepText } from './connectivity/scenario-kit.js';
import { liveSettleBoundMs, settleLeaks, takeResourceSnapshot } from './leak-check.js';
import { ModelDisagreement, setUp } from './outcomes.js';
import { ProgramTextError } from './parallel/program-text.js';
import { runLengths } from './run-lengths.js';
import { endRun, startRun } from './runs-in-flight.js';
import type { BrokenVariant } from './variants/index.js';
import { patchedSourceDir } from './variants/patched-stack.js';

export const ENVIRONMENT_PROPERTY = 'environment-lifecycle';

/** Why the simulated layer cannot express this property. */
export const ENVIRONMENT_LIVE_ONLY =
  "TestEnvironment starts a real gRPC server and this project's grpc-js pools: the simulated network has neither";

/** Why another pool cannot be put under it. */
const OWN_POOL_ONLY = "TestEnvironment builds this project's ConnectionPool itself: it has no seam for another pool";

/** Fail codes a call asks for: 0 succeeds; 5 NOT_FOUND and 14 UNAVAILABLE are answered by the server. */
const CALL_CODES = [0, 0, 0, 5, 14] as const;
/** Server-side delay of every call, so that a dispose "in flight" meets calls still going. */
const CALL_DELAY_MS = 20;
/** Longest the check waits, once fast-check has returned, for a lifecycle still going. */
const OWN_RUN_BOUND_MS = 20_000;
/** A call or a dispose that has not ended by then is hung: the client's deadline plus the tolerance of a loaded machine. */
const SETTLE_BOUND_MS = DEFAULT_DEADLINE_MS + SETTLE_TOLERANCE_MS;

/** A client of the environment: on its own pool (0) or the k-th `newPool` (k > 0), with its calls' fail codes. */
export interface EnvClient {
  readonly pool: number;
  readonly calls: readonly number[];
}

/**
 * One generated life of the seed's `TestEnvironment`: `pools` pools made with `newPool`, clients on
 * them and on the environment's own pool, their calls, and a dispose while the calls are in flight
 * or after they end, sometimes twice.
 */
export class Lifecycle {
  constructor(
    readonly pools: number,
    readonly clients: readonly EnvClient[],
    readonly disposeInFlight: boolean,
    readonly disposeTwice: boolean,
  ) {}

  /** Its steps: `pools(N)` when any, a `client(...)` each, then the `dispose(...)`. */
  steps(): string[] {
    return [
      ...(this.pools > 0 ? [`pools(${this.pools})`] : []),
      ...this.clients.map((c) => stepText('client', { pool: c.pool, calls: c.calls.length ? c.calls.join(' ') : 'none' })),
      stepText('dispose', { when: this.disposeInFlight ? 'in-flight' : 'after', twice: this.disposeTwice ? 'yes' : 'no' }),
    ];
  }

  toString(): string {
    return this.steps().join(', ');
  }

  static parse(steps: readonly string[]): Lifecycle {
    let pools = 0;
    const clients: EnvClient[] = [];
    let dispose: { inFlight: boolean; twice: boolean } | undefined;
    for (const text of steps) {
      const pm = /^pools\((\d+)\)$/.exec(text.trim());
      if (pm) {
        pools = intField(text, { n: pm[1] ?? '' }, 'n', 0, 8);
        continue;
      }
      if (text.trim().startsWith('client(')) {
        const f = readStep(text, 'client', ['pool', 'calls']);
        const calls = f.calls === 'none' ? [] : (f.calls ?? '').split(' ').map(Number);
        if (calls.some((code) => !Number.isInteger(code) || code < 0 || code > 16)) {
          throw new ProgramTextError(text, 'calls must be "none" or gRPC codes 0..16 separated by spaces');
        }
        clients.push({ pool: intField(text, f, 'pool', 0, 8), calls });
        continue;
      }
      const f = readStep(text, 'dispose', ['when', 'twice']);
      dispose = {
        inFlight: choiceField(text, f, 'when', ['in-flight', 'after'] as const) === 'in-flight',
        twice: choiceField(text, f, 'twice', ['yes', 'no'] as const) === 'yes',
      };
    }
    const all = steps.join(', ');
    if (!dispose) throw new ProgramTextError(all, 'an environment-lifecycle case ends with dispose(when=..., twice=...)');
    if (clients.length === 0) throw new ProgramTextError(all, 'an environment-lifecycle case has at least one client(...)');
    const beyond = clients.find((c) => c.pool > pools);
    if (beyond) throw new ProgramTextError(all, `a client on pool ${beyond.pool}, but only ${pools} pool(s) were made`);
    return new Lifecycle(pools, clients, dispose.inFlight, dispose.twice);
  }

  /** 0 to 2 pools, 1 to 4 clients of up to 3 calls; shrinks towards one client on the own pool, disposed after its calls. */
  static arbitrary(): fc.Arbitrary<Lifecycle> {
    return fc
      .record({
        pools: fc.integer({ min: 0, max: 2 }),
        clients: fc.array(
          fc.record({ pool: fc.nat({ max: 2 }), calls: fc.array(fc.constantFrom(...CALL_CODES), { maxLength: 3 }) }),
          { minLength: 1, maxLength: 4 },
        ),
        disposeInFlight: fc.boolean(),
        disposeTwice: fc.boolean(),
      })
      .map(
        (l) =>
          new Lifecycle(
            l.pools,
            l.clients.map((c) => ({ ...c, pool: c.pool % (l.pools + 1) })),
            l.disposeInFlight,
            l.disposeTwice,
          ),
      );
  }
}

type EnvironmentClass = typeof TestEnvironment;

/** The `TestEnvironment` under test: the real one, or a broken variant's (its copy of `src/` patched). */
async function environmentClass(variant: BrokenVariant | undefined): Promise<EnvironmentClass> {
  if (!variant) return TestEnvironment;
  const dir = await patchedSourceDir(variant.name, variant.patches);
  const module = (await import(pathToFileURL(path.join(dir, 'src/env/test-environment.ts')).href)) as {
    TestEnvironment: EnvironmentClass;
  };
  return module.TestEnvironment;
}

/** `promise`, or a violation saying `what` did not end within the bound. */
async function bounded<T>(promise: Promise<T>, what: string): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const hung = new Promise<never>((_, reject) => {
    timer = setTimeout(
      () => reject(new ModelDisagreement(`${what} did not end within ${SETTLE_BOUND_MS} ms (hung)`)),
      SETTLE_BOUND_MS,
    );
  });
  try {
    return await Promise.race([promise, hung]);
  } finally {
    clearTimeout(timer);
  }
}

/**
 * Runs one lifecycle on `Env` and checks it from outside the environment: every call settles
 * within its deadline and as asked (a success reached the server exactly once, a call asked to
 * fail did not succeed); the shared metrics counted each call once and no client is left active;
 * and once disposed, nothing it opened is left (sockets, servers, timers, grpc-js channels, back to
 * the baseline taken before it started). Whatever a broken dispose leaves open is closed after the
 * check, so that the next run starts clean.
 */
async function runLifecycle(Env: EnvironmentClass, l: Lifecycle, runNo: number, tally: (name: string) => void): Promise<void> {
  const problems: string[] = [];
  // Handles are counted process-wide: a run of another check still going here (one its time limit
  // cut off) would count as this lifecycle's leak, so a run that overlaps one is not leak-checked.
  const mark = startRun();
  const before = takeResourceSnapshot();
  const env = await setUp('start a TestEnvironment', () => Env.start({ server: { maxDelayMs: 1_000 } })).catch(
    (error: unknown) => {
      endRun(mark);
      throw error;
    },
  );
  const pools = Array.from({ length: l.pools }, (_, k) => env.newPool(`custom-${k + 1}`));
  try {
    let seq = 0;
    const calls = l.clients.flatMap((c, ci) => {
      const client = env.client(c.pool === 0 ? {} : { pool: pools[c.pool - 1] });
      return c.calls.map((failCode) => {
        const requestId = `env-${runNo}-${ci}-${seq++}`;
        const settled = client.call({ requestId, failCode, delayMs: CALL_DELAY_MS }).then(
          () => 'ok',
          (e: { code?: unknown; status?: unknown }) => `status ${String(e.status ?? e.code)}`,
        );
        return { requestId, failCode, settled };
      });
    });
    // Read the ledger before the server goes: a success reached it exactly once, nothing twice.
    let succeeded = 0;
    const served = async () => {
      for (const c of calls) {
        const outcome = await bounded(c.settled, `call ${c.requestId}`);
        if (outcome === 'ok') succeeded += 1;
        const seen = env.server.ledger.timesSeen(c.requestId);
        if (outcome === 'ok' && seen !== 1) problems.push(`${c.requestId} succeeded, the server saw it ${seen} times`);
        if (outcome === 'ok' && c.failCode !== 0) problems.push(`${c.requestId} asked to fail with ${c.failCode}, yet succeeded`);
        if (outcome !== 'ok' && c.failCode === 0 && !l.disposeInFlight)
          problems.push(`${c.requestId} failed (${outcome}) with nothing disposed and no failure asked for`);
        if (seen > 1) problems.push(`${c.requestId} reached the server ${seen} times`);
      }
    };
    if (l.disposeInFlight) {
      tally('dispose-in-flight');
      const disposed = env.dispose();
      await served();
      await bounded(disposed, 'dispose()');
    } else {
      await served();
      await bounded(env.dispose(), 'dispose()');
    }
    if (l.disposeTwice) {
      tally('dispose-twice');
      await bounded(env.dispose(), 'a second dispose()');
    }
    const counts = env.metrics.counts();
    if (counts.totalRequests !== calls.length)
      problems.push(`the shared metrics count ${counts.totalRequests} requests for ${calls.length} calls`);
    if (counts.successfulRequests !== succeeded || counts.failedRequests !== calls.length - succeeded)
      problems.push(
        `the shared metrics count ${counts.successfulRequests} successes and ${counts.failedRequests} failures; the calls ended ${succeeded} and ${calls.length - succeeded}`,
      );
    if (counts.activeClients !== 0)
      problems.push(`the shared metrics show ${counts.activeClients} active clients after every call ended`);
    const leaks = mark.overlapped ? undefined : await settleLeaks(before, liveSettleBoundMs());
    // A run that started beside this one, even during the settle, may have made what is left.
    if (mark.overlapped || !leaks) tally('leak-check-skipped');
    else {
      tally('leak-check');
      problems.push(...leaks.problems.map((p) => `after dispose: ${p}`));
    }
    if (problems.length) throw new ModelDisagreement(problems.join('; '));
  } finally {
    // What a broken dispose left open (closing again is harmless on a correct one).
    await Promise.all([env.pool, ...pools].map((p) => p.close().catch(() => undefined)));
    await env.server.close().catch(() => undefined);
    endRun(mark);
  }
}

/**
 * The seed's `TestEnvironment`, built and disposed in generated lifecycles on real loopback
 * servers (live layer only): see `runLifecycle` for what each run checks.
 */
export async function checkEnvironmentProperty(c: PropertyConstraints = {}): Promise<PropertyResult> {
  const layer = c.layer ?? 'simulated';
  if (layer !== 'live') return notOnThisLayer(ENVIRONMENT_PROPERTY, c, ENVIRONMENT_LIVE_ONLY);
  if (c.pool !== undefined && c.pool !== DEFAULT_POOL) return notForThisPool(ENVIRONMENT_PROPERTY, c, OWN_POOL_ONLY);
  const runs = c.runs ?? 50;
  const Env = await environmentClass(c.variant);
  const cases = c.steps ? fc.constant(Lifecycle.parse(c.steps)) : Lifecycle.arbitrary();
  const sizes: number[] = [];
  const counts: Record<string, number> = {};
  const tally = (name: string, n = 1) => {
    counts[name] = (counts[name] ?? 0) + n;
  };
  let lastCase: string[] = [];
  let runNo = 0;
  /** The lifecycle going now: one a time limit cut off goes on after fast-check returns. */
  let running: Promise<void> | undefined;
  const property = fc.asyncProperty(cases, async (l) => {
    lastCase = l.steps();
    sizes.push(lastCase.length);
    runNo += 1;
    tally('lifecycle');
    tally('custom-pool', l.pools);
    tally('client', l.clients.length);
    tally(
      'call',
      l.clients.reduce((n, cl) => n + cl.calls.length, 0),
    );
    running = runLifecycle(Env, l, runNo, tally);
    await running;
  });
  const result = await runCheck(property, {
    name: ENVIRONMENT_PROPERTY,
    layer,
    constraints: c,
    runs,
    shape: { maxCommands: 6, addresses: 1, runs },
    lastCase: () => lastCase.join('\n'),
    counterexampleSteps: (value) => (value as [Lifecycle])[0].steps(),
  });
  // A lifecycle a time limit cut off must end here, not beside the next check's runs: until its
  // cleanup, a broken dispose's pools keep reconnecting to its server's freed port, which a server
  // of the next check may get (the self-check once saw pool-linearizable count such a connection
  // as its own). Bounded: every await of a lifecycle is.
  if (running) await Promise.race([running.catch(() => undefined), delay(OWN_RUN_BOUND_MS)]);
  return { ...result, runLengths: runLengths(sizes), commandCounts: counts };
}
