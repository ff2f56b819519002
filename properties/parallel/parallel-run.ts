import type { Scheduler } from 'fast-check';
import { History } from '../../src/harness/history.js';
import type { LoadTestMetrics } from '../../src/metrics/load-test-metrics.js';
import { newRunMetrics, type PoolAdapter, type PoolUnderTest } from '../adapter/adapter.js';
import { type Backend, CALL_DEADLINE_MS, LATE_CALL } from '../backend.js';
import { traceActiveClients } from '../checks/metrics-check.js';
import type { Recording } from '../checks/shared-metrics.js';
import { type LoadRecord, loadCallFailure, loadSequentialDepth, runLoadShape } from '../load-op.js';
import { ModelDisagreement, outcomeOfError } from '../outcomes.js';
import { Activity } from '../scheduling/activity.js';
import {
  type CloseRecord,
  type ConnectRecord,
  type FailedConnectRecord,
  HoldGate,
  type OpRecord,
  observingConnector,
} from './observer.js';
import { type ClientOp, describeOp, type NemesisOp, type Program } from './program.js';

/** Longest the harness waits for a phase of a run before calling it hung (a loaded 2-core machine). */
export const PHASE_LIMIT_MS = { live: 20_000, simulated: 3_000 } as const;

/**
 * How long a phase may sit with nothing scheduled and nothing in flight before it is called a
 * deadlock. Simulated: a few looks (the network is in memory: nothing can arrive from outside).
 * Live: a stated bound, long enough for a loaded machine's event loop and grpc-js's own timers
 * (a connect attempt in backoff is not an exchange in flight).
 */
export const QUIET_MS = { live: 2_000, simulated: 60 } as const;
const LOOK_EVERY_MS = 20;
/**
 * At teardown nothing is judged: a close quiet this long is left behind (its backend is disposed
 * next). Simulated: as long as a phase's quiet (nothing can arrive from outside); every run of a
 * hanging case pays it, and shrinking one runs it dozens of times.
 */
const TEARDOWN_QUIET_MS = { live: 300, simulated: QUIET_MS.simulated } as const;

/**
 * How soon an address must serve again once its faults end. Live: keepalive (1 s + 1 s) finds a
 * black-holed connection dead, reconnect backoff is at most 500 ms, and one call may still wait out
 * its 3 s deadline: 8 s with room for a loaded machine. Simulated: the network has no memory, so the
 * first call after the faults must succeed (0: one attempt).
 */
export const RECOVERY_BOUND_MS = { live: 8_000, simulated: 0 } as const;

/**
 * One run of a parallel program: the pool under test over a backend's connector (scheduled, then
 * observed), one client per address, every operation recorded with its times and outcome.
 */
export class ParallelRun {
  readonly activity = new Activity();
  readonly ops: OpRecord[] = [];
  readonly seen: { closes: CloseRecord[]; connects: ConnectRecord[]; failedConnects: FailedConnectRecord[] } = {
    closes: [],
    connects: [],
    failedConnects: [],
  };
  readonly metrics: LoadTestMetrics;
  /** `activeClients` as it changed during the run (the metrics check reads it). */
  readonly activeSamples: ReturnType<typeof traceActiveClients>;
  /** Calls other threads recorded into `metrics` meanwhile (the worker-shared runs). */
  otherThreads: Recording[] | undefined;
  readonly pool: PoolUnderTest;
  readonly gate: HoldGate;
  /** The load patterns the program ran, with what each recorded (checked at the end). */
  readonly loads: { client: string; i: number; op: ClientOp & { f: 'load' }; record: LoadRecord }[] = [];
  readonly #current: (ClientOp | null | undefined)[];
  #nextId = 1;
  #nextRequest = 1;
  #progress: (() => void) | undefined;
  /** Fixed-rate load operations waiting on their own pacing timers: the harness's wait, never a deadlock. */
  #pacing = 0;
  /**
   * A phase of this run (prefix, clients, final close) was found deadlocked: nothing could progress,
   * so the teardown close is asked for, not watched (the run has failed; teardown judges nothing).
   */
  #deadlocked = false;

  constructor(
    readonly backend: Backend,
    readonly s: Scheduler,
    readonly adapter: PoolAdapter,
    readonly program: Program,
    readonly runId: string,
  ) {
    this.metrics = newRunMetrics(adapter);
    this.activeSamples = traceActiveClients(this.metrics);
    const scheduled = backend.network.connector(s, new History(), this.activity, adapter.liveConnector);
    this.gate = new HoldGate(this.activity);
    const connector = observingConnector(scheduled, this.activity, this.gate, this.seen);
    this.pool = adapter.create({ connector, name: `par-${runId}`, deadlineMs: CALL_DEADLINE_MS, metrics: this.metrics });
    this.#current = program.branches.map(() => undefined);
  }

  /** Runs the program: prefix, then branches and nemesis at once, then a final close. */
  async execute(): Promise<void> {
    const p = this.program;
    for (const op of p.prefix) await this.bounded(this.#runOp('prefix', op), `prefix ${describeOp(op)}`);
    const held = p.hold === null ? undefined : this.backend.addresses[p.hold];
    if (held !== undefined) this.gate.hold(held);
    const branches = p.branches.map(async (branch, k) => {
      for (const op of branch) {
        this.#current[k] = op;
        this.#progress?.();
        await this.#runOp(`c${k + 1}`, op);
      }
      this.#current[k] = null;
      this.#progress?.();
    });
    const nemesis = (async () => {
      for (const op of p.nemesis) {
        // Turns the scheduler gives to the clients before this fault.
        for (let t = 0; t < (op.after ?? 0); t++) {
          await this.activity.scheduled(Promise.resolve(), (q) => this.s.schedule(q, 'nemesis waits'));
        }
        await this.#runOp('nemesis', op);
      }
    })();
    const all = Promise.all([...branches, nemesis]);
    if (p.hold !== null) {
      const hold = p.hold;
      const waiting = this.#onlyHeldLeft(hold);
      try {
        // No progress is said as soon as nothing is scheduled (the watch); the phase limit only
        // guards against a wait the watch cannot see, so its message says so.
        await this.bounded(waiting.done, 'waiting for the clients while a key was held');
      } finally {
        // However the wait ended (an aborted or failed run included), its watch stops with it.
        waiting.cancel();
      }
      this.gate.open();
    }
    await this.bounded(all, 'the clients and the nemesis');
    await this.#recover();
    if (!this.pool.isClosed) await this.bounded(this.#runOp('final', { f: 'close' }), 'the final close');
  }

  /**
   * Once the faults are over (healed, servers back up), every address that was disturbed must
   * serve again within a stated bound: calls (each one checked like any other) until one succeeds.
   */
  async #recover(): Promise<void> {
    const disturbed = new Set<number>();
    const faulted = new Set<number>();
    const down = new Set<number>();
    for (const op of this.program.nemesis) {
      if (op.f === 'fault') faulted.add(op.i);
      if (op.f === 'heal') faulted.delete(op.i);
      if (op.f === 'stop' || op.f === 'kill') down.add(op.i);
      if (op.f === 'restart') down.delete(op.i);
      if (op.f !== 'serving') disturbed.add(op.i);
    }
    for (const i of faulted) await this.bounded(this.#runOp('nemesis', { f: 'heal', i }), `heal(${i})`);
    for (const i of down) await this.bounded(this.#runOp('nemesis', { f: 'restart', i }), `restart(${i})`);
    if (this.pool.isClosed) return;
    for (const i of disturbed) {
      const started = performance.now();
      for (;;) {
        const rec = await this.bounded(this.#runOp('recover', { f: 'call', i, failCode: 0 }), `recover(${i})`);
        if (!rec || rec.outcome === 'ok' || rec.outcome === 'pool-closed') break;
        const spent = performance.now() - started;
        if (spent > RECOVERY_BOUND_MS[this.backend.layer]) {
          throw new ModelDisagreement(
            `address ${i} did not serve again within ${RECOVERY_BOUND_MS[this.backend.layer]} ms after its faults ended (last: ${rec.outcome})`,
          );
        }
        // A channel backing off refuses at once: wait for it to try again, as a client would, so
        // that a recovery adds a few checked calls to the history, not thousands.
        await this.backend.network.waitForReconnect(i);
      }
    }
  }

  /**
   * Waits for `promise`, letting the scheduler release what it holds. A phase that can no longer
   * progress fails the run at once, naming what is pending: nothing scheduled and nothing in flight
   * on the network on every look for `QUIET_MS` (a lease never released, a drain waiting on
   * nothing). Whatever else happens, a phase that never ends fails at the phase limit.
   */
  bounded<T>(promise: Promise<T>, what: string, message?: () => string): Promise<T> {
    return this.#watched(promise, what, this.#phaseLimitMs(), message);
  }

  async #watched<T>(
    promise: Promise<T>,
    what: string,
    limitMs: number,
    message?: () => string,
    quietMs: number = QUIET_MS[this.backend.layer],
  ): Promise<T> {
    let timer: NodeJS.Timeout | undefined;
    let look: NodeJS.Timeout | undefined;
    // Set once the wait is over: a look already queued (its setImmediate) must not go on polling.
    let over = false;
    const hung = new Promise<never>((_, reject) => {
      timer = setTimeout(
        () => reject(new ModelDisagreement(message?.() ?? `${what} did not finish within ${limitMs} ms (hung)`)),
        limitMs,
      );
      let quietSince: number | undefined;
      const watch = () => {
        if (over) return;
        // fast-check releases a task before its exchange may have ended (a call behind a black
        // hole): nothing in flight means no task waiting for release and none still settling.
        // A live nemesis action waits on the network outside any exchange (a graceful stop waits
        // for its connections to close, one of them behind a black hole): not quiet, but bounded
        // by the server's own grace and the phase limit.
        const nemesisWaits = this.backend.layer === 'live' && this.ops.some((o) => o.ret === undefined && o.client === 'nemesis');
        const idle = this.s.count() === 0 && this.activity.tasksInFlight() === 0 && !nemesisWaits && this.#pacing === 0;
        const now = performance.now();
        quietSince = idle ? (quietSince ?? now) : undefined;
        if (quietSince !== undefined && now - quietSince >= quietMs) {
          this.#deadlocked = true;
          reject(
            new ModelDisagreement(
              `deadlock: ${what} cannot finish: ${this.#pendingText()} pending with nothing scheduled and nothing in flight for ${quietMs} ms`,
            ),
          );
          return;
        }
        look = setTimeout(() => setImmediate(watch), LOOK_EVERY_MS);
      };
      look = setTimeout(() => setImmediate(watch), LOOK_EVERY_MS);
    });
    try {
      return await Promise.race([this.s.waitFor(promise), hung]);
    } finally {
      clearTimeout(timer);
      over = true;
      clearTimeout(look);
    }
  }

  /**
   * Closes the pool at teardown, waiting at most `capMs`, and less once the close cannot progress
   * (nothing scheduled, nothing in flight, as in `bounded`): a hanging close costs its failing run
   * and each of its shrink steps a few looks, not the whole cap; none when a phase of the run was
   * already found deadlocked.
   */
  async closeForTeardown(capMs: number): Promise<void> {
    // A run found deadlocked already waited out a quiet once: its close is asked for, not waited.
    if (this.#deadlocked) {
      Promise.resolve()
        .then(() => this.pool.close())
        .catch(() => undefined);
      return;
    }
    await this.#watched(this.pool.close(), 'the teardown close', capMs, undefined, TEARDOWN_QUIET_MS[this.backend.layer]).catch(
      () => undefined,
    );
  }

  /** The operations invoked and not returned, as `c1 close()`. */
  #pendingText(): string {
    const pending = this.ops.filter((o) => o.ret === undefined).map((o) => `${o.client} ${o.f}(${o.i ?? ''})`);
    return pending.length ? pending.join(', ') : 'no operation';
  }

  /**
   * A phase may legitimately take as long as its longest sequence of calls each waiting out its
   * deadline (behind a black hole): the live limit grows with the program (found by the live
   * fuzz at --max-commands 20, where a branch of 7 black-holed calls took over 20 s).
   */
  #phaseLimitMs(): number {
    const base = PHASE_LIMIT_MS[this.backend.layer];
    if (this.backend.layer !== 'live') return base;
    // A load pattern is as long as its longest chain of requests one after another.
    const depth = (b: readonly ClientOp[]) => b.reduce((n, op) => n + (op.f === 'load' ? loadSequentialDepth(op.shape) : 1), 0);
    const longest = Math.max(0, ...this.program.branches.map(depth));
    return base + (CALL_DEADLINE_MS + 1_000) * (longest + this.program.prefix.length);
  }

  /** Resolves once every client has finished or waits on the held address (or on a close, which waits for it). */
  #onlyHeldLeft(hold: number): { done: Promise<void>; cancel: () => void } {
    const blocked = (op: ClientOp | null | undefined) =>
      op === null || (op !== undefined && (op.f === 'close' || ('i' in op && op.i === hold)));
    let timer: NodeJS.Timeout | undefined;
    const cancel = () => {
      this.#progress = undefined;
      clearTimeout(timer);
    };
    const done = new Promise<void>((resolve, reject) => {
      let idleChecks = 0;
      const check = () => {
        if (this.#current.every(blocked)) {
          this.#progress = undefined;
          clearTimeout(timer);
          resolve();
        }
      };
      // Nothing scheduled (no start to release, no exchange in flight) on two looks a turn and
      // 20 ms apart, yet a client still waits on another key: no progress is possible (the held
      // exchanges are not scheduled until the gate opens). Said at once instead of at the phase limit.
      const watch = () => {
        if (this.#progress === undefined) return;
        // fast-check releases a task before its exchange may have ended (a call behind a black
        // hole): nothing in flight means no task waiting for release and none still settling.
        idleChecks = this.s.count() === 0 && this.activity.tasksInFlight() === 0 && this.#pacing === 0 ? idleChecks + 1 : 0;
        if (idleChecks >= 2) {
          this.#progress = undefined;
          reject(new ModelDisagreement(this.#noProgress(hold)));
          return;
        }
        timer = setTimeout(() => setImmediate(watch), 20);
      };
      this.#progress = check;
      check();
      watch();
    });
    return { done, cancel };
  }

  #noProgress(hold: number): string {
    const stuck = this.#current
      .map((op, k) => (op && !(op.f === 'close' || ('i' in op && op.i === hold)) ? `c${k + 1} ${describeOp(op)}` : null))
      .filter((x) => x !== null);
    return `no progress: while address ${hold}'s connection was held back, ${stuck.join(', ')} did not finish with nothing in flight: it waits on the held key, or on nothing the network does`;
  }

  async #runOp(client: string, op: ClientOp | NemesisOp, requestId?: string): Promise<OpRecord | undefined> {
    if (op.f === 'load') {
      // Each request of the pattern is an ordinary call on a lane of its own (they may overlap),
      // checked like any other; the pattern's own accounting is checked at the end (`loads`).
      let k = 0;
      // A fixed rate waits on its own timers between sends: that wait is the harness's, not the pool's.
      const paced = op.shape.kind === 'fixed-rate';
      if (paced) this.#pacing += 1;
      const record = await runLoadShape(
        op.shape,
        async (id) => {
          const rec = await this.#runOp(`${client}/l${k++}`, { f: 'call', i: op.i, failCode: 0 }, id);
          if (rec?.outcome !== 'ok') throw loadCallFailure(rec?.outcome ?? 'unexpected:no record');
        },
        () => `${this.runId}-${this.#nextRequest++}`,
        this.adapter.loadRunners,
      ).finally(() => {
        if (paced) this.#pacing -= 1;
      });
      this.loads.push({ client, i: op.i, op, record });
      return undefined;
    }
    if (op.f === 'wave') {
      await Promise.all(
        Array.from({ length: op.count }, (_, k) => this.#runOp(`${client}/w${k}`, { f: 'call', i: op.i, failCode: 0 })),
      );
      return undefined;
    }
    // The start of every operation is released by the scheduler: the interleaving is generated.
    await this.activity.scheduled(Promise.resolve(), (q) => this.s.schedule(q, `${client} ${describeOp(op)}`));
    const rec: OpRecord = {
      id: this.#nextId++,
      client,
      f: op.f,
      i: 'i' in op ? op.i : undefined,
      failCode: op.f === 'call' ? op.failCode : 0,
      ...(op.f === 'call' && op.late ? { late: true } : {}),
      requestId: op.f === 'call' ? (requestId ?? `${this.runId}-${this.#nextRequest++}`) : undefined,
      ...(op.f === 'serving' ? { status: op.status } : {}),
      ...(op.f === 'fault' ? { faultKind: op.kind } : {}),
      call: performance.now(),
      ret: undefined,
      idleAtCall: this.activity.idleMs(),
      idleAtRet: 0,
      outcome: undefined,
      heldMs: 0,
      made: [],
    };
    this.ops.push(rec);
    rec.outcome = await this.activity.context.run(rec, () => this.#perform(rec, op));
    rec.ret = performance.now();
    rec.idleAtRet = this.activity.idleMs();
    return rec;
  }

  async #perform(rec: OpRecord, op: Exclude<ClientOp | NemesisOp, { f: 'wave' | 'load' }>): Promise<string> {
    const b = this.backend;
    const addr = (i: number) => b.addresses[i] as string;
    try {
      switch (op.f) {
        case 'add':
          await offered(this.pool.add, 'add').call(this.pool, addr(op.i));
          return 'ok';
        case 'remove':
          return String(await offered(this.pool.remove, 'remove').call(this.pool, addr(op.i)));
        case 'call':
          if (op.late) {
            const request = { requestId: rec.requestId as string, delayMs: LATE_CALL.delayMs };
            await this.pool.call(addr(op.i), request, { deadlineMs: LATE_CALL.deadlineMs });
          } else {
            await this.pool.call(addr(op.i), { requestId: rec.requestId as string, failCode: op.failCode });
          }
          return 'ok';
        case 'health':
          return await offered(this.pool.health, 'health').call(this.pool, addr(op.i));
        case 'stats':
          rec.stats = { ...offered(this.pool.stats, 'stats').call(this.pool) };
          return 'ok';
        case 'close':
          await this.pool.close();
          return 'ok';
        case 'stop':
          await b.nemesis.stop(op.i);
          return 'ok';
        case 'kill':
          await b.nemesis.kill(op.i);
          return 'ok';
        case 'restart':
          await b.nemesis.restart(op.i);
          return 'ok';
        case 'serving':
          b.nemesis.setServing(op.i, op.status);
          return 'ok';
        case 'fault':
          await b.network.fault(op.i, op.kind);
          return 'ok';
        case 'heal':
          await b.network.heal(op.i);
          return 'ok';
      }
    } catch (error) {
      return outcomeOfError(error);
    }
  }
}

/** An operation the adapter offers; the generators never make one it does not (a replayed file might). */
function offered<F>(f: F | undefined, name: string): F {
  if (f === undefined) throw new RangeError(`this pool offers no ${name} (its adapter's features say so)`);
  return f;
}
