import { inRange } from '../models/outcome.js';
import { liveKeysRange, maxOpenConnections, type PoolModel } from '../models/pool-model.js';
import type { PoolCounters as PoolStats } from './adapter/adapter.js';
import { ModelDisagreement } from './outcomes.js';
import type { World } from './world.js';

/** How long the server side may take to see a connection close (event-driven wait, not a sleep). */
export const CLOSE_SETTLE_MS = 3_000;

function fail(message: string): never {
  throw new ModelDisagreement(message);
}

/** Stats are coherent on their own and never go backwards. */
export function checkStatsCoherent(stats: PoolStats, previous: PoolStats | undefined): void {
  if (stats.created !== stats.closed + stats.liveKeys + stats.draining) {
    fail(
      `stats incoherent: created ${stats.created} != closed ${stats.closed} + live ${stats.liveKeys} + draining ${stats.draining}`,
    );
  }
  if (stats.inFlight < 0) fail(`stats incoherent: inFlight ${stats.inFlight} < 0`);
  if (previous) {
    for (const k of ['created', 'closed', 'reused', 'connectFailures'] as const) {
      if ((stats[k] ?? 0) < (previous[k] ?? 0)) fail(`stats went backwards: ${k} ${previous[k]} -> ${stats[k]}`);
    }
  }
}

/** The pool's counters lie in the ranges the model allows. */
export function checkStatsAgainstModel(stats: PoolStats, m: PoolModel): void {
  const r = (x: { min: number; max: number }) => `${x.min}..${x.max}`;
  if (!inRange(stats.created, m.created)) fail(`stats.created ${stats.created}, the model allows ${r(m.created)}`);
  if (!inRange(stats.closed, m.closed)) fail(`stats.closed ${stats.closed}, the model allows ${r(m.closed)}`);
  if (!inRange(stats.reused, m.reused)) fail(`stats.reused ${stats.reused}, the model allows ${r(m.reused)}`);
  // Optional in the adapter's counters: checked where the pool gives it.
  if (stats.connectFailures !== undefined && !inRange(stats.connectFailures, m.connectFailures)) {
    fail(`stats.connectFailures ${stats.connectFailures}, the model allows ${r(m.connectFailures)}`);
  }
  if (m.waves.size === 0 && (stats.inFlight !== 0 || stats.draining !== 0)) {
    fail(`with nothing running, stats show inFlight ${stats.inFlight}, draining ${stats.draining} (expected 0, 0)`);
  }
}

/**
 * After every command: the pool's keys and counters agree with the model, and each server, by
 * its own count of open transport connections, holds no more than the model allows.
 */
export async function checkInvariants(m: PoolModel, w: World): Promise<void> {
  if (w.pool.isClosed !== m.poolClosed) fail(`pool closed: ${w.pool.isClosed}, the model says ${m.poolClosed}`);
  const stats = w.stats();
  const size = liveKeysRange(m);
  if (!inRange(stats.liveKeys, size)) fail(`pool holds ${stats.liveKeys} keys, the model allows ${size.min}..${size.max}`);
  const has = w.pool.has?.bind(w.pool);
  for (let i = 0; has && i < m.addresses.length; i++) {
    const a = m.addresses[i];
    const present = has(w.address(i));
    if (a?.key === 'yes' && !present) fail(`address ${i} is missing from the pool, the model says it is there`);
    if (a?.key === 'no' && present) fail(`address ${i} is in the pool, the model says it was never added or was removed`);
  }
  checkStatsCoherent(stats, w.lastStats);
  checkStatsAgainstModel(stats, m);
  w.lastStats = stats;
  for (let i = 0; i < m.addresses.length; i++) {
    const bound = maxOpenConnections(m, i);
    const open = await w.backend.observer.settleOpenConnections(i, bound, CLOSE_SETTLE_MS);
    if (open > bound) fail(`server ${i} holds ${open} open connections, the model allows at most ${bound}`);
  }
}
