import type { Scheduler, SchedulerAct, SchedulerReportItem, SchedulerSequenceItem } from 'fast-check';
import { Activity, type OpTiming } from './activity.js';

/** One task the scheduler holds: a result (or an operation's start) waiting to be released. */
export interface PendingTask {
  /** Order of scheduling in this run, from 1: the same program and choices give the same ids. */
  readonly id: number;
  readonly label: string;
  /**
   * The logical thread it belongs to: the lane prefix of an operation's start label (`c1`,
   * `c2/w0`, `nemesis`, `prefix`, `final`, `recover`), else the client of the operation in async context
   * when the connector scheduled it, else `system`.
   */
  readonly lane: string;
}

/**
 * Picks which ready task runs next. `choose` gets the ready tasks in scheduling order and answers
 * an index into them, or `'abort'` to stop the run where it is (the explorer prunes a state it has
 * seen). It may be async (the explorer hashes the state first); it must not consult a clock.
 */
export interface SchedulingStrategy {
  choose(ready: readonly PendingTask[], step: number): number | 'abort' | Promise<number | 'abort'>;
  /** Readable description for reports (`pct(seed=3, depth=2, steps=40)`). */
  describe(): string;
}

/** The strategy itself went wrong (a trail that does not fit the run): an error of the explorer, never a violation. */
export class StrategyError extends Error {
  readonly code: string = 'ERR_STRATEGY';
  constructor(message: string) {
    super(message);
    this.name = new.target.name;
  }
}

/** The run was stopped on purpose by its strategy (a pruned branch of the search), not a failure. */
export class RunAborted extends Error {
  readonly code = 'ERR_RUN_ABORTED';
  constructor() {
    super('run aborted by the scheduling strategy');
    this.name = 'RunAborted';
  }
}

interface Held extends PendingTask {
  readonly original: Promise<unknown>;
  settled: boolean;
  readonly release: () => void;
}

interface Waiter {
  readonly done: () => boolean;
  readonly fail: (error: unknown) => void;
}

const OP_CONTEXT = new Activity().context;
const LANE = /^(c\d+(?:\/w\d+)?|nemesis|prefix|final|recover) /;

/**
 * A fast-check `Scheduler` whose order is chosen by a strategy instead of fast-check's random
 * selector: deterministic given the strategy (a trail of choices, a seed), with one task released
 * at a time and only once the system is quiescent (every microtask drained, checked with a
 * macrotask turn), so that the set of ready tasks at each decision does not depend on timing.
 * A task is ready once the promise it wraps has settled (always, on the simulated layer).
 *
 * Implements `schedule`, `scheduleFunction`, `count`, `waitFor`, `waitOne`, `waitNext`,
 * `waitIdle`, `waitAll` and `report`; `scheduleSequence` throws (nothing here uses it).
 */
export class ControlledScheduler implements Scheduler {
  readonly #strategy: SchedulingStrategy;
  readonly #pending: Held[] = [];
  readonly #log: SchedulerReportItem[] = [];
  readonly #waiters = new Set<Waiter>();
  #nextId = 1;
  #steps = 0;
  #driving = false;
  #aborted = false;
  #wake: (() => void) | undefined;
  /** The index chosen at each step, in order: replaying it gives this run again. */
  readonly trail: number[] = [];
  /** Labels of the released tasks, in order. */
  readonly released: string[] = [];

  constructor(strategy: SchedulingStrategy) {
    this.#strategy = strategy;
  }

  get steps(): number {
    return this.#steps;
  }

  get aborted(): boolean {
    return this.#aborted;
  }

  /** Tasks scheduled and not yet released, in scheduling order. */
  pendingTasks(): readonly PendingTask[] {
    return this.#pending.map(({ id, label, lane }) => ({ id, label, lane }));
  }

  schedule<T>(task: Promise<T>, label = '', _metadata?: unknown, customAct?: SchedulerAct): Promise<T> {
    if (this.#aborted) return new Promise<T>(() => {});
    const ctx = OP_CONTEXT.getStore() as (OpTiming & { client?: string }) | undefined;
    const lane = LANE.exec(label)?.[1] ?? ctx?.client ?? 'system';
    return new Promise<T>((resolve, reject) => {
      const held: Held = {
        id: this.#nextId++,
        label,
        lane,
        original: task,
        settled: false,
        release: () => {
          const go = async () => {
            await task.then(resolve, reject);
          };
          void (customAct ? customAct(go) : go());
        },
      };
      const settle = () => {
        held.settled = true;
        this.#wake?.();
      };
      task.then(settle, settle);
      this.#pending.push(held);
      this.#wake?.();
    });
  }

  scheduleFunction<TArgs extends unknown[], T>(
    asyncFunction: (...args: TArgs) => Promise<T>,
    customAct?: SchedulerAct,
  ): (...args: TArgs) => Promise<T> {
    return (...args) =>
      this.schedule(asyncFunction(...args), `${asyncFunction.name}(${args.map(String).join(',')})`, undefined, customAct);
  }

  scheduleSequence(_items: SchedulerSequenceItem[]): never {
    throw new Error('ControlledScheduler does not implement scheduleSequence (nothing in the suite uses it)');
  }

  count(): number {
    return this.#pending.length;
  }

  /** Releases tasks one at a time until `unscheduledTask` settles, then gives its outcome. */
  waitFor<T>(unscheduledTask: Promise<T>): Promise<T> {
    if (this.#aborted) return Promise.reject(new RunAborted());
    return new Promise<T>((resolve, reject) => {
      let settled = false;
      const waiter: Waiter = { done: () => settled, fail: reject };
      unscheduledTask.then(
        (v) => {
          settled = true;
          this.#waiters.delete(waiter);
          this.#wake?.();
          resolve(v);
        },
        (e) => {
          settled = true;
          this.#waiters.delete(waiter);
          this.#wake?.();
          reject(e);
        },
      );
      this.#waiters.add(waiter);
      this.#wake?.();
      void this.#drive();
    });
  }

  async waitOne(): Promise<void> {
    await this.waitNext(1);
  }

  /** Releases exactly `count` tasks (waiting for them to be scheduled). */
  async waitNext(count: number): Promise<void> {
    let left = count;
    while (left > 0) {
      await quiescent();
      if (this.#aborted) throw new RunAborted();
      if (await this.#releaseOne()) left--;
      else await this.#nextEvent();
    }
  }

  /** Releases tasks until none is pending once everything has settled. */
  async waitIdle(): Promise<void> {
    for (;;) {
      await quiescent();
      if (this.#aborted) throw new RunAborted();
      if (this.#pending.length === 0) return;
      if (!(await this.#releaseOne())) await this.#nextEvent();
    }
  }

  waitAll(): Promise<void> {
    return this.waitIdle();
  }

  report(): SchedulerReportItem[] {
    return [
      ...this.#log,
      ...this.#pending.map((t) => ({
        status: 'pending' as const,
        schedulingType: 'promise' as const,
        taskId: t.id,
        label: t.label,
      })),
    ];
  }

  toString(): string {
    return `${this.#strategy.describe()}: ${this.trail.length} steps, trail [${this.trail.join(',')}]`;
  }

  /** One driver for every waitFor in progress: they share the queue, so only one loop releases. */
  async #drive(): Promise<void> {
    if (this.#driving) return;
    this.#driving = true;
    try {
      for (;;) {
        await quiescent();
        if ([...this.#waiters].every((w) => w.done())) return;
        if (this.#aborted) return;
        if (!(await this.#releaseOne())) await this.#nextEvent();
      }
    } catch (error) {
      for (const w of this.#waiters) w.fail(error);
      this.#waiters.clear();
    } finally {
      this.#driving = false;
    }
  }

  /** Resolves when a task is scheduled or settles, a waiter arrives or settles, or the run is aborted. */
  #nextEvent(): Promise<void> {
    return new Promise((resolve) => {
      this.#wake = () => {
        this.#wake = undefined;
        resolve();
      };
    });
  }

  /** Asks the strategy and releases one ready task; false when none is ready. */
  async #releaseOne(): Promise<boolean> {
    const ready = this.#pending.filter((t) => t.settled);
    if (ready.length === 0) return false;
    const choice = await this.#strategy.choose(
      ready.map(({ id, label, lane }) => ({ id, label, lane })),
      this.#steps,
    );
    if (choice === 'abort') {
      this.abort();
      return false;
    }
    const task = ready[choice];
    if (!Number.isInteger(choice) || task === undefined) {
      throw new RangeError(`strategy ${this.#strategy.describe()} chose ${choice} of ${ready.length} ready tasks`);
    }
    this.#pending.splice(this.#pending.indexOf(task), 1);
    this.trail.push(choice);
    this.released.push(`${task.lane}: ${task.label}`);
    this.#log.push({ status: 'resolved', schedulingType: 'promise', taskId: task.id, label: task.label });
    this.#steps++;
    task.release();
    return true;
  }

  /** Stops the run: every waitFor in progress rejects with `RunAborted`, nothing more is released. */
  abort(): void {
    if (this.#aborted) return;
    this.#aborted = true;
    for (const w of this.#waiters) w.fail(new RunAborted());
    this.#waiters.clear();
    this.#wake?.();
  }
}

/** Resolves after a macrotask turn: every microtask queued before has run. */
function quiescent(): Promise<void> {
  return new Promise((resolve) => setImmediate(resolve));
}
