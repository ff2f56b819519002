import { InvalidToxicError } from './errors.js';

/**
 * Which way a toxic acts. `upstream` is client -> server (what the client sends), `downstream` is
 * server -> client, `both` is each way independently (byte counts are kept per direction).
 */
export type ToxicDirection = 'upstream' | 'downstream' | 'both';

/** Which connections a `reset` toxic resets. */
export type ResetScope = 'new' | 'existing' | 'all';

/**
 * A toxic, modelled on Toxiproxy's. Directional toxics act on the bytes of each connection as they
 * pass (connections already open included, from the moment the toxic is added); connection toxics
 * act when a connection is accepted (`refuse`, `handshake-blackhole`, `reset` of new connections)
 * or on the connections open when the toxic is added (`reset` of existing ones, `close-after`).
 */
export type ToxicSpec =
  /** Delays every chunk by `latencyMs` +/- up to `jitterMs` (uniform, from the proxy's seed). */
  | { readonly type: 'latency'; readonly latencyMs: number; readonly jitterMs?: number; readonly direction?: ToxicDirection }
  /** Lets through at most `kbPerSecond` KiB per second. */
  | { readonly type: 'bandwidth'; readonly kbPerSecond: number; readonly direction?: ToxicDirection }
  /** Writes each chunk in slices of `sliceBytes`, `delayMs` apart. */
  | { readonly type: 'slicer'; readonly sliceBytes: number; readonly delayMs: number; readonly direction?: ToxicDirection }
  /**
   * Half-open black hole: forwards `bytes` more bytes, then swallows everything (end of stream
   * included) and keeps the sockets open. A stalled direction stays stalled for the life of its
   * connection, even if the toxic is removed: the bytes it swallowed are lost, so the stream is
   * broken. Only the peers' resets or the proxy's close end such a connection.
   */
  | { readonly type: 'stall-after'; readonly bytes: number; readonly direction?: ToxicDirection }
  /** Forwards `bytes` more bytes, then closes the connection (both sides, FIN). */
  | { readonly type: 'limit'; readonly bytes: number; readonly direction?: ToxicDirection }
  /** Resets (TCP RST, both sides) new connections as they arrive, those open now, or both. */
  | { readonly type: 'reset'; readonly connections?: ResetScope }
  /** Closes (FIN, both sides) each connection `afterMs` after it opened, or after the toxic was added if it was already open. */
  | { readonly type: 'close-after'; readonly afterMs: number }
  /** Accepts new connections but never connects them upstream and forwards nothing either way. */
  | { readonly type: 'handshake-blackhole' }
  /** Closes new connections as soon as they are accepted (the listener stays up). */
  | { readonly type: 'refuse' };

export type ToxicType = ToxicSpec['type'];

/** A validated toxic: every optional field filled in with its default. */
export type Toxic = ToxicSpec & { readonly name: string };

export const TOXIC_TYPES: readonly ToxicType[] = [
  'latency',
  'bandwidth',
  'slicer',
  'stall-after',
  'limit',
  'reset',
  'close-after',
  'handshake-blackhole',
  'refuse',
];

const DIRECTIONAL = new Set<ToxicType>(['latency', 'bandwidth', 'slicer', 'stall-after', 'limit']);

/** Whether `type` acts on bytes in a direction (and takes `direction`). */
export function isDirectional(type: ToxicType): boolean {
  return DIRECTIONAL.has(type);
}

/** Whether a toxic with `direction` acts on bytes flowing `way`. */
export function appliesTo(direction: ToxicDirection | undefined, way: 'upstream' | 'downstream'): boolean {
  return direction === undefined || direction === 'both' || direction === way;
}

const NAME = /^[A-Za-z0-9][A-Za-z0-9_.-]{0,63}$/;

/**
 * Checks a toxic spec before anything is installed and returns a frozen copy with defaults filled
 * in (`direction: 'both'`, `jitterMs: 0`, `connections: 'all'`). Throws `InvalidToxicError` naming
 * the field and what it takes.
 */
export function validateToxic(name: unknown, spec: unknown): Toxic {
  if (typeof name !== 'string' || !NAME.test(name)) {
    throw new InvalidToxicError(
      `toxic name must be 1..64 characters of letters, digits, '_', '.' or '-' (not starting with a symbol); got ${JSON.stringify(name)}`,
    );
  }
  if (typeof spec !== 'object' || spec === null || Array.isArray(spec)) {
    throw new InvalidToxicError(`toxic "${name}": spec must be an object like { type: 'latency', latencyMs: 50 }`);
  }
  const s = spec as Record<string, unknown>;
  const type = s.type;
  if (typeof type !== 'string' || !(TOXIC_TYPES as readonly string[]).includes(type)) {
    throw new InvalidToxicError(`toxic "${name}": type must be one of ${TOXIC_TYPES.join(', ')}; got ${JSON.stringify(type)}`);
  }
  const where = `toxic "${name}" (${type})`;
  const allowed = new Set(['type', ...FIELDS[type as ToxicType]]);
  if (isDirectional(type as ToxicType)) allowed.add('direction');
  for (const key of Object.keys(s)) {
    if (!allowed.has(key)) throw new InvalidToxicError(`${where}: unknown field "${key}" (takes ${[...allowed].join(', ')})`);
  }
  const direction = isDirectional(type as ToxicType) ? directionOf(s.direction, where) : undefined;
  const num = (field: string, min: number, max: number, integer: boolean): number => {
    const v = s[field];
    if (typeof v !== 'number' || !Number.isFinite(v) || v < min || v > max || (integer && !Number.isInteger(v))) {
      throw new InvalidToxicError(
        `${where}: ${field} must be ${integer ? 'a whole number' : 'a number'} in ${min}..${max}; got ${JSON.stringify(v)}`,
      );
    }
    return v;
  };
  const optionalNum = (field: string, min: number, max: number, fallback: number): number =>
    s[field] === undefined ? fallback : num(field, min, max, false);
  let toxic: Toxic;
  switch (type as ToxicType) {
    case 'latency': {
      const latencyMs = num('latencyMs', 0, MAX_MS, false);
      const jitterMs = optionalNum('jitterMs', 0, MAX_MS, 0);
      toxic = { name, type: 'latency', latencyMs, jitterMs, direction };
      break;
    }
    case 'bandwidth':
      toxic = { name, type: 'bandwidth', kbPerSecond: num('kbPerSecond', 0.001, 10_000_000, false), direction };
      break;
    case 'slicer':
      toxic = {
        name,
        type: 'slicer',
        sliceBytes: num('sliceBytes', 1, MAX_BYTES, true),
        delayMs: num('delayMs', 0, MAX_MS, false),
        direction,
      };
      break;
    case 'stall-after':
      toxic = { name, type: 'stall-after', bytes: num('bytes', 0, MAX_BYTES, true), direction };
      break;
    case 'limit':
      toxic = { name, type: 'limit', bytes: num('bytes', 0, MAX_BYTES, true), direction };
      break;
    case 'reset': {
      const connections = s.connections ?? 'all';
      if (connections !== 'new' && connections !== 'existing' && connections !== 'all') {
        throw new InvalidToxicError(
          `${where}: connections must be 'new', 'existing' or 'all'; got ${JSON.stringify(connections)}`,
        );
      }
      toxic = { name, type: 'reset', connections };
      break;
    }
    case 'close-after':
      toxic = { name, type: 'close-after', afterMs: num('afterMs', 0, MAX_MS, false) };
      break;
    case 'handshake-blackhole':
      toxic = { name, type: 'handshake-blackhole' };
      break;
    case 'refuse':
      toxic = { name, type: 'refuse' };
      break;
  }
  return Object.freeze(toxic);
}

/** Longest delay a toxic may ask for: the largest timer Node keeps (about 24.8 days). */
const MAX_MS = 2_147_483_647;
const MAX_BYTES = Number.MAX_SAFE_INTEGER;

const FIELDS: Record<ToxicType, readonly string[]> = {
  latency: ['latencyMs', 'jitterMs'],
  bandwidth: ['kbPerSecond'],
  slicer: ['sliceBytes', 'delayMs'],
  'stall-after': ['bytes'],
  limit: ['bytes'],
  reset: ['connections'],
  'close-after': ['afterMs'],
  'handshake-blackhole': [],
  refuse: [],
};

function directionOf(value: unknown, where: string): ToxicDirection {
  if (value === undefined) return 'both';
  if (value === 'upstream' || value === 'downstream' || value === 'both') return value;
  throw new InvalidToxicError(`${where}: direction must be 'upstream', 'downstream' or 'both'; got ${JSON.stringify(value)}`);
}

/** The command-line form of every toxic, for `--help` and error messages. */
export const TOXIC_SYNTAX = `  latency:MS[:JITTER_MS]     delay every chunk by MS (+/- up to JITTER_MS)
  bandwidth:KB_PER_S         at most KB_PER_S KiB per second
  slicer:BYTES:DELAY_MS      write in slices of BYTES, DELAY_MS apart
  stall-after:BYTES          forward BYTES more, then swallow everything, keep sockets open
  limit:BYTES                forward BYTES more, then close the connection
  close-after:MS             close each connection MS after it opened
  reset[:new|existing|all]   RST connections (default all: open ones now and every new one)
  handshake-blackhole        accept new connections, forward nothing either way
  refuse                     close new connections at once
Directional toxics (latency, bandwidth, slicer, stall-after, limit) take a suffix @up (client to
server), @down (server to client) or @both (the default), e.g. latency:50:10@down.`;

/**
 * Parses the command-line form of a toxic (see `TOXIC_SYNTAX`), e.g. `latency:50:10@down`, into a
 * spec; `validateToxic` then checks its ranges. Throws `InvalidToxicError` on a malformed text.
 */
export function parseToxicSpec(text: string): ToxicSpec {
  const bad = (why: string): InvalidToxicError => new InvalidToxicError(`toxic "${text}": ${why}`);
  const at = text.lastIndexOf('@');
  const body = at >= 0 ? text.slice(0, at) : text;
  const suffix = at >= 0 ? text.slice(at + 1) : undefined;
  const [type, ...args] = body.split(':');
  if (type === undefined || !(TOXIC_TYPES as readonly string[]).includes(type)) {
    throw bad(`unknown toxic type "${type ?? ''}" (one of ${TOXIC_TYPES.join(', ')})`);
  }
  let direction: ToxicDirection | undefined;
  if (suffix !== undefined) {
    if (!isDirectional(type as ToxicType)) throw bad(`${type} acts on whole connections and takes no @direction`);
    const map: Record<string, ToxicDirection> = { up: 'upstream', down: 'downstream', both: 'both' };
    direction = map[suffix];
    if (direction === undefined) throw bad(`direction suffix must be @up, @down or @both; got @${suffix}`);
  }
  const n = (i: number, what: string): number => {
    const arg = args[i];
    if (arg === undefined || !/^\d+(\.\d+)?$/.test(arg)) throw bad(`${what} must be a non-negative number; got "${arg ?? ''}"`);
    return Number(arg);
  };
  const arity = (min: number, max: number, form: string): void => {
    if (args.length < min || args.length > max) throw bad(`expected ${form}`);
  };
  const dir = direction === undefined ? {} : { direction };
  switch (type as ToxicType) {
    case 'latency':
      arity(1, 2, 'latency:MS[:JITTER_MS]');
      return { type: 'latency', latencyMs: n(0, 'MS'), ...(args.length > 1 ? { jitterMs: n(1, 'JITTER_MS') } : {}), ...dir };
    case 'bandwidth':
      arity(1, 1, 'bandwidth:KB_PER_S');
      return { type: 'bandwidth', kbPerSecond: n(0, 'KB_PER_S'), ...dir };
    case 'slicer':
      arity(2, 2, 'slicer:BYTES:DELAY_MS');
      return { type: 'slicer', sliceBytes: n(0, 'BYTES'), delayMs: n(1, 'DELAY_MS'), ...dir };
    case 'stall-after':
      arity(1, 1, 'stall-after:BYTES');
      return { type: 'stall-after', bytes: n(0, 'BYTES'), ...dir };
    case 'limit':
      arity(1, 1, 'limit:BYTES');
      return { type: 'limit', bytes: n(0, 'BYTES'), ...dir };
    case 'close-after':
      arity(1, 1, 'close-after:MS');
      return { type: 'close-after', afterMs: n(0, 'MS') };
    case 'reset': {
      arity(0, 1, 'reset[:new|existing|all]');
      const scope = args[0] ?? 'all';
      if (scope !== 'new' && scope !== 'existing' && scope !== 'all')
        throw bad(`reset takes new, existing or all; got "${scope}"`);
      return { type: 'reset', connections: scope };
    }
    case 'handshake-blackhole':
      arity(0, 0, 'handshake-blackhole (no arguments)');
      return { type: 'handshake-blackhole' };
    case 'refuse':
      arity(0, 0, 'refuse (no arguments)');
      return { type: 'refuse' };
  }
  throw bad('unknown toxic type');
}
