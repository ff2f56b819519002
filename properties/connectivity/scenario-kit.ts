import { randomUUID } from 'node:crypto';
import type { UnaryReply } from '../../src/pool/connector.js';
import { GrpcConnector } from '../../src/pool/grpc-connector.js';
import type { ChannelOptionValues } from '../../src/pool/pool-key.js';
import { newRunMetrics, type PoolAdapter, type PoolUnderTest } from '../adapter/adapter.js';
import { ModelDisagreement } from '../outcomes.js';
import { ProgramTextError } from '../parallel/program-text.js';

/** The reconnect backoff options, as a key's (or the connector's) channel options. */
export function backoffOptions(initialMs: number, maxMs: number): ChannelOptionValues {
  return { 'grpc.initial_reconnect_backoff_ms': initialMs, 'grpc.max_reconnect_backoff_ms': maxMs };
}

/** A call as a scenario makes it: the request's fields, its deadline, and wait-for-ready. */
export interface ScenarioCall {
  readonly requestId?: string;
  readonly payload?: Uint8Array;
  readonly delayMs?: number;
}

/** One key of a pool as a scenario uses it. */
export interface ScenarioClient {
  call(input: ScenarioCall, options: { deadlineMs: number; waitForReady?: boolean }): Promise<UnaryReply>;
}

/** Deadline of a scenario's calls that do not give their own (every scenario call does). */
const SCENARIO_DEADLINE_MS = 5_000;

/**
 * The client stack a scenario drives: the pool the adapter makes (this project's by default, or a
 * broken variant's) over a grpc-js connector (the adapter's `liveConnector`, else the real one).
 * Every channel is made by that connector, on the client release `grpcJs()` loads.
 */
export class StackUnderTest {
  readonly #pools: PoolUnderTest[] = [];

  constructor(readonly adapter: PoolAdapter) {}

  connector(defaults: ChannelOptionValues = {}, handshakeTimeoutMs?: number): GrpcConnector {
    const Grpc = this.adapter.liveConnector ?? GrpcConnector;
    return new Grpc(defaults, handshakeTimeoutMs === undefined ? {} : { handshakeTimeoutMs });
  }

  /** A pool over `connector`; closed by `closeAll`. */
  pool(connector: GrpcConnector, name: string): PoolUnderTest {
    const pool = this.adapter.create({ connector, name, deadlineMs: SCENARIO_DEADLINE_MS, metrics: newRunMetrics(this.adapter) });
    this.#pools.push(pool);
    return pool;
  }

  /** Connects `address` ahead of use (the connectivity property runs only on pools that offer add). */
  async add(pool: PoolUnderTest, address: string, channelOptions: ChannelOptionValues): Promise<void> {
    if (!pool.add) throw new Error(`the ${this.adapter.name} pool offers no add`);
    await pool.add(address, { channelOptions });
  }

  client(pool: PoolUnderTest, address: string, channelOptions: ChannelOptionValues): ScenarioClient {
    return {
      call: (input, { deadlineMs, waitForReady }) =>
        pool.call(
          address,
          { ...input, requestId: input.requestId ?? randomUUID(), waitForReady: waitForReady === true },
          { channelOptions, deadlineMs },
        ),
    };
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
