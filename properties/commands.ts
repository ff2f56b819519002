import fc from 'fast-check';
import type { Outcome } from '../models/outcome.js';
import type { PoolModel } from '../models/pool-model.js';
import * as model from '../models/pool-model.js';
import { checkInvariants, checkStatsAgainstModel, checkStatsCoherent } from './invariants.js';
import { expectOneOf, ModelDisagreement, type Observed, outcomeOfError } from './outcomes.js';
import type { WaveRequestResult, World } from './world.js';

type Cmd = fc.AsyncCommand<PoolModel, World>;

/** Status codes the generated requests ask servers to fail with (never 14, which the transport uses). */
const FAIL_CODES = [5, 8, 10, 13] as const;

abstract class Base implements Cmd {
  check(_m: Readonly<PoolModel>): boolean {
    return true;
  }
  async run(m: PoolModel, w: World): Promise<void> {
    await this.act(m, w);
    await checkInvariants(m, w);
  }
  protected abstract act(m: PoolModel, w: World): Promise<void>;
  abstract toString(): string;
}

export class AddCommand extends Base {
  constructor(readonly i: number) {
    super();
  }
  protected async act(m: PoolModel, w: World): Promise<void> {
    const allowed = model.add(m, this.i);
    const r = await w.settle(w.add(this.i));
    const observed = r.ok ? 'ok' : r.outcome;
    expectOneOf(this.toString(), observed, allowed);
    model.added(m, this.i, observed as Outcome);
  }
  toString(): string {
    return `add(${this.i})`;
  }
}

export class RemoveCommand extends Base {
  constructor(readonly i: number) {
    super();
  }
  protected async act(m: PoolModel, w: World): Promise<void> {
    const expected = model.remove(m, this.i);
    const r = await w.settle(w.remove(this.i));
    const observed: Observed | string = r.ok ? String(r.value) : r.outcome;
    expectOneOf(this.toString(), observed as Observed, expected === 'maybe' ? ['true', 'false'] : [String(expected)]);
  }
  toString(): string {
    return `remove(${this.i})`;
  }
}

export class CallCommand extends Base {
  constructor(
    readonly i: number,
    readonly failCode: number,
    /** The server answers after the call's deadline: the call must end DEADLINE_EXCEEDED, in time. */
    readonly late = false,
  ) {
    super();
  }
  protected async act(m: PoolModel, w: World): Promise<void> {
    const allowed = model.allowedCallOutcomes(m, this.i, this.failCode, this.late);
    const requestId = w.requestId();
    const r = await w.settle(this.late ? w.lateCall(this.i, requestId) : w.call(this.i, { requestId, failCode: this.failCode }));
    const observed = r.ok ? 'ok' : r.outcome;
    expectOneOf(`${this} [${requestId}]`, observed, allowed);
    await checkServedOnce(w, this.i, requestId, observed);
    model.requestSettled(m, this.i, observed as Outcome);
  }
  toString(): string {
    if (this.late) return `call(${this.i}, late)`;
    return this.failCode === 0 ? `call(${this.i})` : `call(${this.i}, fail=${this.failCode})`;
  }
}

export class HealthCommand extends Base {
  constructor(readonly i: number) {
    super();
  }
  protected async act(m: PoolModel, w: World): Promise<void> {
    const allowed = model.allowedHealthOutcomes(m, this.i);
    const r = await w.settle(w.health(this.i));
    const observed = r.ok ? r.value : r.outcome;
    expectOneOf(this.toString(), observed as Observed, allowed);
    model.requestSettled(m, this.i, observed as Outcome);
  }
  toString(): string {
    return `health(${this.i})`;
  }
}

export class SetServingCommand extends Base {
  constructor(
    readonly i: number,
    readonly status: 'SERVING' | 'NOT_SERVING',
  ) {
    super();
  }
  protected async act(m: PoolModel, w: World): Promise<void> {
    w.backend.nemesis.setServing(this.i, this.status);
    model.setServing(m, this.i, this.status);
  }
  toString(): string {
    return `setServing(${this.i}, ${this.status})`;
  }
}

export class StatsCommand extends Base {
  constructor(readonly i: number) {
    super();
  }
  protected async act(m: PoolModel, w: World): Promise<void> {
    if (m.poolClosed) return;
    const s = w.stats();
    checkStatsCoherent(s, w.lastStats);
    checkStatsAgainstModel(s, m);
    w.lastStats = s;
    if (m.waves.size === 0) checkMetricsAgreeWithClients(w);
  }
  toString(): string {
    return `stats(${this.i})`;
  }
}

export class ServerCommand extends Base {
  constructor(
    readonly i: number,
    readonly action: 'stop' | 'kill' | 'restart',
  ) {
    super();
  }
  override check(m: Readonly<PoolModel>): boolean {
    const phase = m.addresses[this.i]?.phase;
    return this.action === 'restart' ? phase !== 'up' : phase === 'up';
  }
  protected async act(m: PoolModel, w: World): Promise<void> {
    if (this.action === 'restart') {
      await w.backend.nemesis.restart(this.i);
      model.serverRestarted(m, this.i);
    } else {
      // A graceful stop waits for calls in flight, whose results the scheduler holds: let it release them.
      await w.bounded(w.backend.nemesis[this.action](this.i));
      model.serverDown(m, this.i, this.action === 'stop' ? 'stopped' : 'killed');
    }
  }
  toString(): string {
    return `${this.action}Server(${this.i})`;
  }
}

export class ClosePoolCommand extends Base {
  protected async act(m: PoolModel, w: World): Promise<void> {
    const r = await w.settle(w.pool.close());
    if (!r.ok) throw new ModelDisagreement(`closePool() failed: ${r.outcome}`);
    model.closePool(m);
  }
  toString(): string {
    return 'closePool()';
  }
}

/** Retries calls to `i` (bounded) until one succeeds: a server that is back must become usable again. */
export class RecoverCommand extends Base {
  constructor(readonly i: number) {
    super();
  }
  override check(m: Readonly<PoolModel>): boolean {
    return !m.poolClosed && m.addresses[this.i]?.phase === 'up';
  }
  protected async act(m: PoolModel, w: World): Promise<void> {
    const started = performance.now();
    let last: Observed = 'ok';
    for (let attempt = 1; attempt <= RECOVERY_MAX_ATTEMPTS; attempt++) {
      // Every attempt is a call like any other: its outcome must be one the model allows, and the
      // server's ledger must agree with it.
      const allowed = model.allowedCallOutcomes(m, this.i, 0);
      const requestId = w.requestId();
      const r = await w.settle(w.call(this.i, { requestId }));
      last = r.ok ? 'ok' : r.outcome;
      expectOneOf(`${this} attempt ${attempt} [${requestId}]`, last, allowed);
      await checkServedOnce(w, this.i, requestId, last);
      model.requestSettled(m, this.i, last as Outcome);
      if (r.ok) return;
      if (last !== 'status:14' && last !== 'connect-failed') break;
      if (w.backend.layer === 'live' && performance.now() - started > RECOVERY_BUDGET_MS) break;
      // Wait on the channel (its reconnect backoff), as a retrying client would, not a fixed sleep.
      if (w.backend.layer === 'live') await w.backend.network.waitForReconnect(this.i);
    }
    throw new ModelDisagreement(`${this}: server ${this.i} is up but calls still fail (${last}) after retrying`);
  }
  toString(): string {
    return `recover(${this.i})`;
  }
}

/** Live layer: how long a channel may take to reconnect to a server that is back (its backoff is capped at 500 ms). */
const RECOVERY_BUDGET_MS = 5_000;
const RECOVERY_MAX_ATTEMPTS = 200;

/**
 * With nothing in flight: the metrics the pool recorded count exactly the calls the harness made
 * and saw end, as each ended (where the adapter records metrics at all).
 */
export function checkMetricsAgreeWithClients(w: World): void {
  if (!w.adapter.features.metrics) return;
  const { calls, succeeded, failed } = w.tally;
  const metrics = w.metrics.counts();
  if (metrics.totalRequests !== calls || metrics.failedRequests !== failed || metrics.successfulRequests !== succeeded) {
    throw new ModelDisagreement(
      `metrics total/ok/failed ${metrics.totalRequests}/${metrics.successfulRequests}/${metrics.failedRequests}, the harness saw ${calls}/${succeeded}/${failed}`,
    );
  }
}

/** N clients x M sequential requests over some addresses, left running while later commands act. */
export class WaveCommand extends Base {
  constructor(
    readonly addresses: readonly number[],
    readonly clients: number,
    readonly perClient: number,
    readonly delayMs: number,
    readonly failCode: number,
  ) {
    super();
  }
  protected async act(m: PoolModel, w: World): Promise<void> {
    const wave = model.waveStarted(m, this.addresses, this.clients * this.perClient);
    const runClient = async (c: number): Promise<WaveRequestResult[]> => {
      const out: WaveRequestResult[] = [];
      for (let k = 0; k < this.perClient; k++) {
        const address = this.addresses[(c + k) % this.addresses.length] ?? 0;
        // The last request of client 0 asks for a failure, when the wave has a failCode.
        const failCode = c === 0 && k === this.perClient - 1 ? this.failCode : 0;
        const requestId = w.requestId();
        const issued = { wave: wave.id, settled: false };
        w.issued.set(requestId, issued);
        const outcome = await w
          .call(address, { requestId, delayMs: this.delayMs, failCode })
          .then(() => 'ok' as Observed, outcomeOfError);
        issued.settled = true;
        out.push({ requestId, address, failCode, outcome });
      }
      return out;
    };
    const all = Promise.all(Array.from({ length: this.clients }, (_, c) => runClient(c))).then((r) => r.flat());
    w.waves.set(wave.id, all);
  }
  toString(): string {
    const fail = this.failCode ? `, fail=${this.failCode}` : '';
    return `wave([${this.addresses.join(',')}], ${this.clients}x${this.perClient}, delay=${this.delayMs}ms${fail})`;
  }
}

/** Waits for every running wave and checks each of its requests against the model. */
export class AwaitWavesCommand extends Base {
  protected async act(m: PoolModel, w: World): Promise<void> {
    await settleWaves(m, w);
  }
  toString(): string {
    return 'awaitWaves()';
  }
}

export async function settleWaves(m: PoolModel, w: World): Promise<void> {
  const ids = [...w.waves.keys()];
  const results = await w
    .bounded(Promise.all(ids.map((id) => w.waves.get(id) ?? Promise.resolve([]))))
    .catch((error: unknown) => {
      // Name the requests issued that never settled, from what was recorded as they went out.
      const lost = [...w.issued].filter(([, r]) => !r.settled).map(([id]) => id);
      throw lost.length ? new ModelDisagreement(`requests issued but never settled (lost): ${lost.join(', ')}`) : error;
    });
  for (const [k, id] of ids.entries()) {
    const wave = m.waves.get(id);
    const requests = results[k] ?? [];
    w.waves.delete(id);
    if (!wave) throw new ModelDisagreement(`wave ${id} is unknown to the model`);
    // Requests issued (recorded as they went out) against requests that settled, by id.
    const settled = new Set(requests.map((r) => r.requestId));
    const issuedIds = [...w.issued].filter(([, r]) => r.wave === id).map(([rid]) => rid);
    const lost = issuedIds.filter((rid) => !settled.has(rid));
    if (lost.length > 0 || issuedIds.length !== wave.requests) {
      throw new ModelDisagreement(
        `wave ${id}: ${issuedIds.length} requests issued of ${wave.requests} planned; never settled: ${lost.join(', ') || 'none'} (lost requests)`,
      );
    }
    for (const rid of issuedIds) w.issued.delete(rid);
    for (const r of requests) {
      expectOneOf(
        `wave ${id} request ${r.requestId} to ${r.address}`,
        r.outcome,
        model.allowedWaveOutcomes(wave, r.address, r.failCode),
      );
      await checkServedOnce(w, r.address, r.requestId, r.outcome);
    }
    model.waveSettled(
      m,
      id,
      requests.filter((r) => r.outcome !== 'pool-closed' && r.outcome !== 'connect-failed').length,
      requests.filter((r) => r.outcome === 'connect-failed').length,
    );
  }
}

async function checkServedOnce(w: World, i: number, requestId: string, observed: Observed): Promise<void> {
  const seen = await w.backend.observer.timesSeen(i, requestId);
  if (observed === 'ok' && seen !== 1) {
    throw new ModelDisagreement(`request ${requestId} succeeded but server ${i} saw it ${seen} times (expected exactly 1)`);
  }
  if (seen > 1) throw new ModelDisagreement(`request ${requestId} reached server ${i} ${seen} times`);
}

export interface CommandConstraints {
  readonly addresses: number;
  /** Whether the servers can be stopped, killed, restarted and have their health set. */
  readonly controllable: boolean;
}

/** Every command the properties generate, with their arguments' arbitraries. */
export function commandArbitraries({ addresses, controllable }: CommandConstraints): fc.Arbitrary<Cmd>[] {
  const addr = fc.integer({ min: 0, max: addresses - 1 });
  const wave = fc
    .record({
      addrs: fc.uniqueArray(addr, { minLength: 1, maxLength: addresses }),
      clients: fc.integer({ min: 1, max: 8 }),
      perClient: fc.integer({ min: 1, max: 4 }),
      delayMs: fc.constantFrom(0, 5, 20),
      failCode: fc.constantFrom(0, 0, ...FAIL_CODES),
    })
    .map((r) => new WaveCommand(r.addrs, r.clients, r.perClient, r.delayMs, r.failCode));
  const cmds: fc.Arbitrary<Cmd>[] = [
    addr.map((i) => new AddCommand(i)),
    addr.map((i) => new AddCommand(i)),
    addr.map((i) => new RemoveCommand(i)),
    addr.map((i) => new RemoveCommand(i)),
    fc.tuple(addr, fc.constantFrom(0, 0, 0, ...FAIL_CODES)).map(([i, f]) => new CallCommand(i, f)),
    addr.map((i) => new CallCommand(i, 0, true)),
    wave,
    wave,
    fc.constant(new AwaitWavesCommand()),
    addr.map((i) => new HealthCommand(i)),
    addr.map((i) => new StatsCommand(i)),
    addr.map((i) => new RecoverCommand(i)),
    fc.constant(new ClosePoolCommand()),
  ];
  if (controllable) {
    cmds.push(
      fc.tuple(addr, fc.constantFrom('SERVING' as const, 'NOT_SERVING' as const)).map(([i, s]) => new SetServingCommand(i, s)),
      fc
        .tuple(addr, fc.constantFrom('stop' as const, 'kill' as const, 'restart' as const, 'restart' as const))
        .map(([i, a]) => new ServerCommand(i, a)),
    );
  }
  return cmds;
}
