import { PoolClient } from '../../src/client/pool-client.js';
import { ConnectionPool } from '../../src/pool/connection-pool.js';
import { GrpcConnector } from '../../src/pool/grpc-connector.js';
import type { ChannelOptionValues } from '../../src/pool/pool-key.js';
import { ModelDisagreement } from '../outcomes.js';
import { ProgramTextError } from '../parallel/program-text.js';
import type { Stack } from '../stack.js';

/** The reconnect backoff options, as a key's (or the connector's) channel options. */
export function backoffOptions(initialMs: number, maxMs: number): ChannelOptionValues {
  return { 'grpc.initial_reconnect_backoff_ms': initialMs, 'grpc.max_reconnect_backoff_ms': maxMs };
}

/**
 * The client stack a scenario drives: the real pool, client and grpc-js connector, or a broken
 * variant's (built from a patched copy of src/). Every channel is made by the stack's own
 * connector, on the client release `grpcJs()` loads.
 */
export class StackUnderTest {
  readonly #stack: Stack;
  readonly #pools: ConnectionPool[] = [];

  constructor(stack: Stack) {
    this.#stack = stack;
  }

  connector(defaults: ChannelOptionValues = {}, handshakeTimeoutMs?: number): GrpcConnector {
    const Grpc = this.#stack.GrpcConnector ?? GrpcConnector;
    return new Grpc(defaults, handshakeTimeoutMs === undefined ? {} : { handshakeTimeoutMs });
  }

  /** A pool over `connector`; closed by `closeAll`. */
  pool(connector: GrpcConnector, name: string): ConnectionPool {
    const pool = this.#stack.makePool?.({ connector, name }) ?? new ConnectionPool({ connector, name });
    this.#pools.push(pool);
    return pool;
  }

  client(pool: ConnectionPool, address: string, channelOptions: ChannelOptionValues): PoolClient {
    const options = { pool, channelOptions };
    return this.#stack.makeClient?.(address, options) ?? new PoolClient(address, options);
  }

  /** Closes every pool made here (their channels with them). */
  async closeAll(): Promise<void> {
    await Promise.all(this.#pools.map((p) => p.close()));
  }
}

/** One call as the caller saw it: when it started and ended (performance.now()) and how. */
export interface CallRecord {
  readonly startedMs: number;
  endedMs: number | undefined;
  /** 'ok', the gRPC status code it failed with, or a description of any other error. */
  outcome: 'ok' | number | string | undefined;
}

/** Starts `call` and records when and how it ends; `done` never rejects. */
export function timedCall(call: () => Promise<unknown>): { record: CallRecord; done: Promise<void> } {
  const record: CallRecord = { startedMs: performance.now(), endedMs: undefined, outcome: undefined };
  const done = call().then(
    () => {
      record.endedMs = performance.now();
      record.outcome = 'ok';
    },
    (error: unknown) => {
      record.endedMs = performance.now();
      const status = (error as { status?: unknown } | null)?.status;
      record.outcome = typeof status === 'number' ? status : String((error as Error)?.message ?? error);
    },
  );
  return { record, done };
}

/** A gRPC status code's name, for messages. */
export function statusText(outcome: CallRecord['outcome']): string {
  const names: Record<number, string> = {
    0: 'OK',
    1: 'CANCELLED',
    4: 'DEADLINE_EXCEEDED',
    8: 'RESOURCE_EXHAUSTED',
    14: 'UNAVAILABLE',
  };
  if (outcome === 'ok') return 'OK';
  if (typeof outcome === 'number') return names[outcome] ?? `status ${outcome}`;
  return outcome ?? 'still pending';
}

/** A connectivity property does not hold; the message names the spec text it comes from. */
export function violation(spec: string, what: string): ModelDisagreement {
  return new ModelDisagreement(`${what} [${spec}]`);
}

/** `name(key=value, ...)`: a scenario as one readable, replayable step. */
export function stepText(name: string, fields: Record<string, string | number>): string {
  return `${name}(${Object.entries(fields)
    .map(([k, v]) => `${k}=${v}`)
    .join(', ')})`;
}

/** Reads `name(key=value, ...)` back; throws `ProgramTextError` when the text is not such a step. */
export function readStep(text: string, name: string, keys: readonly string[]): Record<string, string> {
  const m = /^([a-z-]+)\((.*)\)$/.exec(text.trim());
  if (!m || m[1] !== name) throw new ProgramTextError(text, `not a ${name}(...) step`);
  const fields: Record<string, string> = {};
  for (const part of (m[2] ?? '').split(',').map((s) => s.trim())) {
    const eq = part.indexOf('=');
    if (eq <= 0) throw new ProgramTextError(text, `"${part}" is not key=value`);
    fields[part.slice(0, eq)] = part.slice(eq + 1);
  }
  const missing = keys.filter((k) => !(k in fields));
  if (missing.length) throw new ProgramTextError(text, `missing ${missing.join(', ')}`);
  return fields;
}

/** A whole number field in `min..max` (a trailing unit such as `ms` is allowed). */
export function intField(text: string, fields: Record<string, string>, key: string, min: number, max: number): number {
  const value = Number((fields[key] ?? '').replace(/ms$/, ''));
  if (!Number.isInteger(value) || value < min || value > max) {
    throw new ProgramTextError(text, `${key} must be a whole number in ${min}..${max}`);
  }
  return value;
}

/** A field that must be one of `allowed`. */
export function choiceField<T extends string>(
  text: string,
  fields: Record<string, string>,
  key: string,
  allowed: readonly T[],
): T {
  const value = fields[key] as T;
  if (!allowed.includes(value)) throw new ProgramTextError(text, `${key} must be one of ${allowed.join(', ')}`);
  return value;
}
