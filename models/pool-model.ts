import {
  CANCELLED,
  CONNECT_FAILED,
  DEADLINE_EXCEEDED,
  exactly,
  type HealthOutcome,
  type Outcome,
  plus,
  type Range,
  UNAVAILABLE,
} from './outcome.js';

/** Where a server is in its lifecycle, as the commands so far have left it. */
export type ServerPhase = 'up' | 'stopped' | 'killed';

/** The model of one address: its server and the pool's key for it. */
export interface AddressModel {
  phase: ServerPhase;
  serving: 'SERVING' | 'NOT_SERVING';
  /**
   * A request was refused while the server was down, so the client's channel may be backing off:
   * after a restart, requests may fail UNAVAILABLE until one succeeds.
   */
  mayBackOff: boolean;
  /** Whether the pool holds a key for this address. `maybe`: a request wave may have re-created it. */
  key: 'yes' | 'no' | 'maybe';
}

/** A request wave still running, as the model tracks it. */
export interface WaveModel {
  readonly id: number;
  readonly addresses: readonly number[];
  readonly requests: number;
  /** What this wave added to the upper bound of `reused` when it started. */
  readonly pendingReuse: number;
  /** How many connections this wave's requests may have created (not reused) at most. */
  mayCreate: number;
  /** Addresses whose server was stopped, killed or restarted while the wave ran (or was backing off at its start). */
  readonly disturbed: Set<number>;
  /** The pool was closed while the wave ran. */
  poolClosedDuring: boolean;
}

/**
 * The reference model of the pool and the request ledger: pure, sequential, no I/O.
 * Given the commands so far, it says what the pool must hold, what each request and health check
 * may answer, and the ranges the pool's counters must lie in.
 */
export interface PoolModel {
  readonly addresses: AddressModel[];
  poolClosed: boolean;
  created: Range;
  closed: Range;
  /** Gets answered with an existing connection (the pool's `reused`). */
  reused: Range;
  /**
   * Connects that failed (the pool's `connectFailures`): one for each single request or add that
   * ended `connect-failed`; a wave's failed requests may share a connect, so at least one of them.
   */
  connectFailures: Range;
  readonly waves: Map<number, WaveModel>;
  nextWaveId: number;
}

export function initialModel(addressCount: number): PoolModel {
  return {
    addresses: Array.from({ length: addressCount }, () => ({ phase: 'up', serving: 'SERVING', mayBackOff: false, key: 'no' })),
    poolClosed: false,
    created: exactly(0),
    closed: exactly(0),
    reused: exactly(0),
    connectFailures: exactly(0),
    waves: new Map(),
    nextWaveId: 1,
  };
}

function at(m: PoolModel, i: number): AddressModel {
  const a = m.addresses[i];
  if (!a) throw new RangeError(`model has no address ${i}`);
  return a;
}

/** A get for address `i` succeeds (the pool is open): the key exists afterwards. */
function keyGot(m: PoolModel, i: number): void {
  const a = at(m, i);
  // A channel made or used while its server is down is refused and backs off.
  if (a.phase !== 'up') a.mayBackOff = true;
  if (a.key === 'no') m.created = plus(m.created, 1);
  else if (a.key === 'maybe') m.created = plus(m.created, 0, 1);
  a.key = 'yes';
}

// ---- What may happen -------------------------------------------------------------------------

/**
 * Outcomes a single request to address `i` may have, asked of the server with `failCode` (0: none);
 * `late`: the server answers only after the call's deadline, so it must end DEADLINE_EXCEEDED.
 */
export function allowedCallOutcomes(m: PoolModel, i: number, failCode: number, late = false): Outcome[] {
  if (m.poolClosed) return ['pool-closed'];
  const a = at(m, i);
  if (a.phase !== 'up') return refused(a);
  const served: Outcome = late ? DEADLINE_EXCEEDED : failCode === 0 ? 'ok' : `status:${failCode}`;
  return a.mayBackOff ? [served, UNAVAILABLE] : [served];
}

/**
 * A down server refuses: a call on the key's connection fails UNAVAILABLE; where the key may have
 * no connection, the pool's connect may fail first (a connector that connects eagerly does; grpc-js
 * connects lazily, so on the live layer the channel is made and the call fails UNAVAILABLE).
 */
function refused(a: AddressModel): (typeof UNAVAILABLE | typeof CONNECT_FAILED)[] {
  return a.key === 'yes' ? [UNAVAILABLE] : [UNAVAILABLE, CONNECT_FAILED];
}

/** Answers a health check of address `i` may have. */
export function allowedHealthOutcomes(m: PoolModel, i: number): HealthOutcome[] {
  if (m.poolClosed) return ['pool-closed'];
  const a = at(m, i);
  if (a.phase !== 'up') return refused(a);
  return a.mayBackOff ? [a.serving, UNAVAILABLE] : [a.serving];
}

/** Outcomes a request of a settled wave may have had, on address `i`. */
export function allowedWaveOutcomes(w: WaveModel, i: number, failCode: number): Outcome[] {
  const served: Outcome = failCode === 0 ? 'ok' : `status:${failCode}`;
  const out: Outcome[] = [served];
  if (w.disturbed.has(i)) out.push(UNAVAILABLE, CANCELLED, CONNECT_FAILED);
  if (w.poolClosedDuring) out.push('pool-closed');
  return out;
}

// ---- Transitions -----------------------------------------------------------------------------

/** `add(i)`: the outcomes it may have (a connect to a down server may fail, leaving no key). */
export function add(m: PoolModel, i: number): Outcome[] {
  if (m.poolClosed) return ['pool-closed'];
  return at(m, i).phase !== 'up' && at(m, i).key !== 'yes' ? ['ok', CONNECT_FAILED] : ['ok'];
}

/** `add(i)` ended with `outcome` (one `add` allowed). */
export function added(m: PoolModel, i: number, outcome: Outcome): void {
  if (m.poolClosed) return;
  if (outcome === CONNECT_FAILED) m.connectFailures = plus(m.connectFailures, 1);
  if (outcome !== 'ok') return;
  keyGot(m, i);
}

/** `remove(i)`: returns what it must resolve to (`true` removed, `false` absent), or `maybe`. */
export function remove(m: PoolModel, i: number): boolean | 'maybe' | 'pool-closed' {
  if (m.poolClosed) return 'pool-closed';
  const a = at(m, i);
  const before = a.key;
  // A wave still running on this address may re-create the key right after.
  a.key = wavesOn(m, i) ? 'maybe' : 'no';
  if (a.key === 'maybe') {
    m.created = plus(m.created, 0, 1);
    // ...and a wave that re-creates it creates rather than reuses.
    for (const w of m.waves.values()) if (w.addresses.includes(i)) w.mayCreate += 1;
  }
  if (before === 'yes') m.closed = plus(m.closed, 1);
  if (before === 'maybe') m.closed = plus(m.closed, 0, 1);
  if (before === 'yes') return true;
  if (before === 'no') return false;
  return 'maybe';
}

/** A single request (call or health check) to `i` ended with `outcome`. */
export function requestSettled(m: PoolModel, i: number, outcome: Outcome | HealthOutcome): void {
  if (m.poolClosed || outcome === 'pool-closed') return;
  const a = at(m, i);
  // The connect failed: counted; nothing was made or reused, and the key is still absent.
  if (outcome === CONNECT_FAILED) {
    m.connectFailures = plus(m.connectFailures, 1);
    return;
  }
  // The get reused the key's connection if it was there, and created it if not.
  if (a.key === 'yes') m.reused = plus(m.reused, 1);
  else if (a.key === 'maybe') m.reused = plus(m.reused, 0, 1);
  keyGot(m, i);
  if (outcome === UNAVAILABLE && a.phase !== 'up') a.mayBackOff = true;
  else if (outcome !== UNAVAILABLE) a.mayBackOff = false;
}

export function closePool(m: PoolModel): void {
  if (m.poolClosed) return;
  m.poolClosed = true;
  for (const a of m.addresses) {
    if (a.key === 'yes') m.closed = plus(m.closed, 1);
    if (a.key === 'maybe') m.closed = plus(m.closed, 0, 1);
    a.key = 'no';
  }
  for (const w of m.waves.values()) w.poolClosedDuring = true;
}

/**
 * Server `i` is stopped (`graceful`) or killed. A channel that had a connection to it may try to
 * reconnect on its own while the server is down (grpc-js does when a call was in flight as the
 * connection went), be refused, and back off: after a restart its first requests may then fail
 * UNAVAILABLE until one succeeds. Found by the nightly fuzz (wave, stop, restart, call).
 */
export function serverDown(m: PoolModel, i: number, how: 'stopped' | 'killed'): void {
  const a = at(m, i);
  a.phase = how;
  if (a.key !== 'no') a.mayBackOff = true;
  disturb(m, i);
}

export function serverRestarted(m: PoolModel, i: number): void {
  at(m, i).phase = 'up';
  disturb(m, i);
}

export function setServing(m: PoolModel, i: number, serving: 'SERVING' | 'NOT_SERVING'): void {
  at(m, i).serving = serving;
}

function disturb(m: PoolModel, i: number): void {
  for (const w of m.waves.values()) if (w.addresses.includes(i)) w.disturbed.add(i);
}

function wavesOn(m: PoolModel, i: number): boolean {
  for (const w of m.waves.values()) if (w.addresses.includes(i)) return true;
  return false;
}

/** A wave of `requests` requests over `addresses` starts; returns its id. */
export function waveStarted(m: PoolModel, addresses: readonly number[], requests: number): WaveModel {
  const wave: WaveModel = {
    id: m.nextWaveId++,
    addresses,
    requests,
    pendingReuse: m.poolClosed ? 0 : requests,
    mayCreate: m.poolClosed ? 0 : addresses.filter((i) => at(m, i).key !== 'yes').length,
    disturbed: new Set(addresses.filter((i) => at(m, i).phase !== 'up' || at(m, i).mayBackOff)),
    poolClosedDuring: m.poolClosed,
  };
  m.waves.set(wave.id, wave);
  if (!m.poolClosed) {
    // Each address's key will exist once the wave's first request gets it, unless a remove or close intervenes.
    for (const i of addresses) {
      const a = at(m, i);
      if (a.phase !== 'up') a.mayBackOff = true;
      if (a.key === 'no') {
        a.key = 'maybe';
        m.created = plus(m.created, 0, 1);
      }
    }
    m.reused = plus(m.reused, 0, requests);
    // Until it settles, any of its requests may be refused at connect.
    m.connectFailures = plus(m.connectFailures, 0, requests);
  }
  return wave;
}

/**
 * Every request of wave `id` has settled; `acquired` of them got a connection. The keys a wave
 * made stay `maybe` (a remove may have raced them); the reuse count narrows.
 */
export function waveSettled(m: PoolModel, id: number, acquired: number, connectFailed = 0): void {
  const w = m.waves.get(id);
  if (!w) throw new RangeError(`model has no running wave ${id}`);
  m.waves.delete(id);
  // Its requests refused at connect: at least one connect failed (waiters may share one), at most
  // one each; the room it was given at the start (`pendingReuse`: every request) is taken back.
  m.connectFailures = {
    min: m.connectFailures.min + Math.min(1, connectFailed),
    max: m.connectFailures.max - w.pendingReuse + connectFailed,
  };
  // Every acquisition reused a connection, except those that created one.
  m.reused = { min: m.reused.min + Math.max(0, acquired - w.mayCreate), max: m.reused.max - w.pendingReuse + acquired };
}

// ---- What the pool must read -----------------------------------------------------------------

/** Range the pool's live key count must lie in. */
export function liveKeysRange(m: PoolModel): Range {
  let min = 0;
  let max = 0;
  for (const a of m.addresses) {
    if (a.key === 'yes') min++;
    if (a.key !== 'no') max++;
  }
  return { min, max };
}

/** The most server-side connections address `i` may hold with no command in progress. */
export function maxOpenConnections(m: PoolModel, i: number): number {
  return at(m, i).key === 'no' || at(m, i).phase !== 'up' ? 0 : 1;
}
