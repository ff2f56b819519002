import { type ChildProcess, spawn } from 'node:child_process';
import { availableParallelism } from 'node:os';
import { fileURLToPath } from 'node:url';
import { batchSeed } from '../../src/harness/shard.js';
import { TS_NODE_ARGS } from '../../src/loader/node-args.js';
import type { Layer, PropertyConstraints, PropertyResult } from '../check-runner.js';
import type { ModelCheckConstraints, ModelCheckReport } from '../explore/model-check.js';

const ENTRY = fileURLToPath(new URL('./check-worker.ts', import.meta.url));
const ROOT = fileURLToPath(new URL('../..', import.meta.url));

/** How long `close` waits for a worker to exit once told to before it kills it. */
const CLOSE_GRACE_MS = 2_000;

/** A check's options as they cross to a worker process: plain data (the variant goes by name). */
export type PortableConstraints = Omit<PropertyConstraints, 'variant' | 'interruptWhen'>;

/** A model check's options as they cross to a worker (the callbacks stay behind). */
export type PortableModelCheck = Omit<ModelCheckConstraints, 'shouldStop' | 'onProgram'>;

/** What the main process sends a worker. */
export type WorkerMessage =
  | {
      readonly type: 'check';
      readonly id: number;
      readonly property: string;
      readonly constraints: PortableConstraints;
      readonly variantName: string | undefined;
      /**
       * When the check was asked for (`Date.now()`, shared by the processes): its time limit counts
       * from then, not from when a worker that was still starting or busy took it up.
       */
      readonly askedAt: number;
    }
  | {
      readonly type: 'model-check';
      readonly id: number;
      readonly constraints: PortableModelCheck;
      readonly variantName: string | undefined;
    }
  | { readonly type: 'interrupt'; readonly id: number };

/** An error as it crosses from a worker: what the CLIs read to pick an exit code survives. */
export interface PortableError {
  readonly name: string;
  readonly message: string;
  readonly code?: string;
  /** A Node system error's call (EADDRINUSE from `listen`...): the CLIs exit 3 on those, not 1. */
  readonly syscall?: string;
}

export type WorkerReply =
  | { readonly id: number; readonly result: PropertyResult | ModelCheckReport }
  | { readonly id: number; readonly error: PortableError };

/** A worker process died (or failed to start) with a check in hand: the check has no result. */
export class WorkerCrashError extends Error {
  readonly code = 'ERR_WORKER_CRASHED';
  constructor(message: string) {
    super(message);
    this.name = 'WorkerCrashError';
  }
}

/** A check that threw inside a worker, with the name, message, code and system call it had there. */
export class WorkerCheckError extends Error {
  readonly code: string | undefined;
  readonly syscall: string | undefined;
  constructor(e: PortableError) {
    super(e.message);
    this.name = e.name;
    this.code = e.code;
    this.syscall = e.syscall;
  }
}

/**
 * How many worker processes a layer is worth on this machine. The simulated layer is CPU-bound: one
 * per core. The live layer waits on the network most of the time (about 70% idle, one stream
 * measured alone), so two per core (measured: four processes of the live property on two cores
 * ran 3.9 times the commands of one).
 */
export function defaultWorkers(layer: Layer): number {
  const cores = availableParallelism();
  return layer === 'live' ? 2 * cores : cores;
}

/** Checks that stop together: interrupting the group interrupts every check of it, running or to come. */
export class InterruptGroup {
  #interrupted = false;
  readonly #running = new Set<() => void>();

  get interrupted(): boolean {
    return this.#interrupted;
  }

  interrupt(): void {
    if (this.#interrupted) return;
    this.#interrupted = true;
    for (const stop of this.#running) stop();
  }

  /** While a check runs: `stop` is called if the group is interrupted. Returns the unregister. */
  watch(stop: () => void): () => void {
    if (this.#interrupted) stop();
    this.#running.add(stop);
    return () => this.#running.delete(stop);
  }
}

interface Slot {
  readonly child: ChildProcess;
  busy: boolean;
  job: { readonly id: number; resolve(r: unknown): void; reject(e: unknown): void } | undefined;
  dead: boolean;
  readonly exited: Promise<void>;
}

/**
 * A fixed set of worker processes that run property checks, each with its own event loop, servers
 * and pools, so that checks run side by side: on every core for the CPU-bound simulated layer, and
 * overlapped while they wait on the network for the live layer. Checks queue for a free worker.
 *
 * Processes, not worker threads: a worker thread terminated while a run it abandoned still had an
 * HTTP/2 session open took the whole process down (a Node assertion in stream_base.cc, seen on the
 * live layer's first try); a process that exits releases its sockets whatever they were doing.
 * Workers ignore SIGINT and SIGTERM (a Ctrl-C reaches the whole process group): the main process
 * interrupts their checks and ends them, and a worker exits when its channel to the main process
 * closes, so none outlives it.
 */
export class PropertyWorkers {
  readonly #slots: Slot[] = [];
  readonly #queue: Array<() => void> = [];
  readonly #all = new InterruptGroup();
  #nextId = 1;
  #closed = false;

  private constructor(count: number) {
    for (let i = 0; i < count; i++) this.#slots.push(this.#startSlot());
  }

  /** Starts `count` workers (at least 1). */
  static start(count: number): PropertyWorkers {
    return new PropertyWorkers(Math.max(1, Math.floor(count)));
  }

  get size(): number {
    return this.#slots.filter((s) => !s.dead).length;
  }

  /** Runs one check on the next free worker; interrupting `group` ends it after its current run. */
  async run(property: string, c: PropertyConstraints, group?: InterruptGroup): Promise<PropertyResult> {
    const { variant, interruptWhen: _local, ...constraints } = c;
    const askedAt = Date.now();
    const result = await this.#dispatch(
      (id) => ({ type: 'check', id, property, constraints, variantName: variant?.name, askedAt }),
      group,
    );
    return result as PropertyResult;
  }

  /** Runs a model check (one share of one size, see `modelCheckOnWorkers`) on the next free worker. */
  async modelCheck(c: PortableModelCheck, variantName: string | undefined, group?: InterruptGroup): Promise<ModelCheckReport> {
    const report = await this.#dispatch((id) => ({ type: 'model-check', id, constraints: c, variantName }), group);
    return report as ModelCheckReport;
  }

  async #dispatch(message: (id: number) => WorkerMessage, group?: InterruptGroup): Promise<unknown> {
    const slot = await this.#freeSlot();
    const id = this.#nextId++;
    const sendInterrupt = () => {
      if (slot.child.connected) slot.child.send({ type: 'interrupt', id } satisfies WorkerMessage);
    };
    const unwatch = [this.#all.watch(sendInterrupt), group?.watch(sendInterrupt)];
    // The worker (its process handle and its channel) keeps this process alive only while a job is out.
    slot.child.ref();
    slot.child.channel?.ref();
    try {
      return await new Promise<unknown>((resolve, reject) => {
        slot.job = { id, resolve, reject };
        slot.child.send(message(id), (error) => {
          if (error) reject(new WorkerCrashError(`could not reach a worker process: ${error.message}`));
        });
      });
    } finally {
      for (const u of unwatch) u?.();
      slot.child.unref();
      slot.child.channel?.unref();
      slot.job = undefined;
      slot.busy = false;
      this.#queue.shift()?.();
    }
  }

  /** Interrupts every check running or queued: each ends after its current run, with what it found. */
  interruptAll(): void {
    this.#all.interrupt();
  }

  /** Ends every worker: told to exit, killed if it has not within 2 s. A check still running is lost. */
  async close(): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    await Promise.all(
      this.#slots.map(async (s) => {
        // Held until it has exited: with the handle unref'd, a main process with nothing else to do
        // ended (exit 0) between the SIGKILL and the child's 'exit' event, before writing its reports.
        s.child.ref();
        if (s.child.connected) s.child.disconnect();
        const killer = setTimeout(() => s.child.kill('SIGKILL'), CLOSE_GRACE_MS);
        await s.exited;
        clearTimeout(killer);
      }),
    );
    for (const wake of this.#queue.splice(0)) wake();
  }

  async #freeSlot(): Promise<Slot> {
    for (;;) {
      if (this.#closed) throw new WorkerCrashError('the workers are closed');
      const alive = this.#slots.filter((s) => !s.dead);
      if (alive.length === 0) throw new WorkerCrashError('every worker process has died');
      const free = alive.find((s) => !s.busy);
      if (free) {
        // Taken before the caller's next await, so two callers never share a worker.
        free.busy = true;
        return free;
      }
      await new Promise<void>((resolve) => this.#queue.push(resolve));
    }
  }

  #startSlot(): Slot {
    const child = spawn(process.execPath, [...TS_NODE_ARGS, ENTRY], {
      cwd: ROOT,
      stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
      serialization: 'advanced',
      // A process group of its own: a terminal's Ctrl-C signals the whole foreground group, and a
      // worker still loading (before its SIGINT handler is installed) would die of it. The main
      // process decides when workers stop; if it dies, the IPC channel closes and they exit.
      detached: true,
    });
    // A process that could not be spawned emits 'error' and never 'exit'.
    const exited = new Promise<void>((resolve) => {
      child.once('exit', () => resolve());
      child.once('error', () => resolve());
    });
    const slot: Slot = { child, busy: false, job: undefined, dead: false, exited };
    child.on('message', (reply: WorkerReply) => {
      const job = slot.job;
      if (!job || job.id !== reply.id) return;
      if ('result' in reply) job.resolve(reply.result);
      else job.reject(new WorkerCheckError(reply.error));
    });
    const die = (why: string) => {
      if (slot.dead) return;
      slot.dead = true;
      slot.job?.reject(new WorkerCrashError(`a property worker process ended: ${why}`));
      for (const wake of this.#queue.splice(0)) wake();
    };
    child.on('error', (error) => die(error.message));
    child.on('exit', (code, signal) => die(signal ? `killed by ${signal}` : `exited with code ${code}`));
    // Idle workers must not keep the main process alive on their own: neither the process handle nor
    // the channel (a worker whose main process ends sees its channel close and exits).
    child.unref();
    child.channel?.unref();
    return slot;
  }
}

/** The seed of stream `k` of a check seeded with `seed`: stream 0 keeps it, so one stream is the plain check. */
export function streamSeed(seed: number, k: number): number {
  return k === 0 ? seed : batchSeed(seed, k);
}

/** Streams per worker: long runs (a black hole held for seconds) land unevenly, small streams even it out. */
const STREAMS_PER_WORKER = 4;

/**
 * One property check spread over the workers: its runs split into streams, each with its own seed
 * (`streamSeed`), several per worker, run side by side as workers come free. The first stream to
 * fail interrupts the others (they end after their current run; streams not started yet are not
 * started) and its seed and path are the result's: they replay the failure in one process. A pass
 * reports the base seed; the same seed with the same number of workers runs the same cases.
 */
export async function checkOnWorkers(
  workers: PropertyWorkers,
  property: string,
  c: PropertyConstraints & { readonly runs: number },
  workerCount = workers.size,
): Promise<PropertyResult> {
  const seed = c.seed ?? (Math.random() * 2 ** 32) | 0;
  const runs = c.runs;
  const parallel = Math.max(1, Math.min(workerCount, workers.size, runs));
  const streams = Math.min(runs, parallel === 1 ? 1 : parallel * STREAMS_PER_WORKER);
  const group = new InterruptGroup();
  const started = performance.now();
  const outer = c.interruptWhen;
  // The caller's own interrupt (a Ctrl-C) reaches the workers through the shared flag.
  const watch = outer
    ? setInterval(() => {
        if (outer()) group.interrupt();
      }, 50)
    : undefined;
  const results: PropertyResult[] = [];
  // The stream whose failure came back first: it was not cut short, the others may have been.
  let firstFailing: number | undefined;
  let next = 0;
  // The time budget is the whole check's: a stream gets what is left of it when it starts, and no
  // stream starts once it is spent (stream 0 always does, to report "no runs" rather than nothing).
  const deadline = c.timeLimitMs === undefined ? undefined : started + c.timeLimitMs;
  const lane = async () => {
    for (let k = next++; k < streams && !group.interrupted; k = next++) {
      const left = deadline === undefined ? undefined : Math.max(1, deadline - performance.now());
      if (k > 0 && left === 1) break;
      const share = Math.floor(runs / streams) + (k < runs % streams ? 1 : 0);
      const r = await workers
        .run(property, { ...c, seed: streamSeed(seed, k), runs: share, timeLimitMs: left }, group)
        .catch((error: unknown) => {
          // The check cannot finish: the other streams stop too, rather than hold their workers.
          group.interrupt();
          throw error;
        });
      if (!r.passed) {
        firstFailing ??= k;
        group.interrupt();
      }
      results[k] = r;
    }
  };
  try {
    await Promise.all(Array.from({ length: parallel }, lane));
    const ran = results.filter(Boolean);
    const preferred = firstFailing === undefined ? undefined : ran.indexOf(results[firstFailing] as PropertyResult);
    return { ...mergeStreamResults(ran, seed, performance.now() - started, preferred), workers: parallel };
  } finally {
    clearInterval(watch);
  }
}

/**
 * The streams' results as one, with every stream's counts. A failure is the `preferred` stream's
 * (the first whose failure came back: it shrank to the end, the others were cut short), else the
 * first failing one by stream number.
 */
export function mergeStreamResults(
  results: readonly PropertyResult[],
  seed: number,
  wallMs: number,
  preferred?: number,
): PropertyResult {
  const first = results[0];
  if (!first) throw new RangeError('no stream results to merge');
  const chosen = preferred === undefined ? undefined : results[preferred];
  const failing = chosen && !chosen.passed ? chosen : results.find((r) => !r.passed);
  const base = failing ?? first;
  const runs = results.reduce((n, r) => n + r.runs, 0);
  const lengths = results.map((r) => r.runLengths).filter((l) => l !== undefined);
  const measured = lengths.reduce((n, l) => n + l.count, 0);
  const total = lengths.reduce((n, l) => n + l.total, 0);
  const voids = results.map((r) => r.voidRuns).filter((v) => v !== undefined);
  const counts: Record<string, number> = {};
  for (const r of results) for (const [k, v] of Object.entries(r.commandCounts ?? {})) counts[k] = (counts[k] ?? 0) + v;
  return {
    ...base,
    seed: failing ? failing.seed : seed,
    runs,
    wallMs,
    // Streams a failure interrupted say nothing about the budget: interrupted only if the failing one was.
    interrupted: failing ? failing.interrupted : results.some((r) => r.interrupted),
    runLengths: lengths.length
      ? {
          mean: measured ? total / measured : 0,
          max: Math.max(...lengths.map((l) => l.max)),
          emptyShare: measured ? lengths.reduce((n, l) => n + l.emptyShare * l.count, 0) / measured : 0,
          total,
          count: measured,
        }
      : undefined,
    voidRuns: voids.length
      ? { count: voids.reduce((n, v) => n + v.count, 0), first: voids.find((v) => v.first !== null)?.first ?? null }
      : undefined,
    commandCounts: results.some((r) => r.commandCounts) ? counts : undefined,
  };
}

/**
 * A time limit counted from when the check was asked for: a worker still loading (4 of them start
 * at once on 2 cores in a few seconds) or busy must not add that wait to the budget (a 10 s fuzz
 * ran 15 s so). At least 1 ms: fast-check then reports "no runs" rather than running unbounded.
 */
export function timeLeft(timeLimitMs: number | undefined, askedAt: number, now = Date.now()): number | undefined {
  return timeLimitMs === undefined ? undefined : Math.max(1, timeLimitMs - Math.max(0, now - askedAt));
}
