/**
 * What a request may end as, in the model's own words (no gRPC types: the model shares no code
 * with what it judges). `status:N` is a gRPC status code N; `pool-closed` is the pool's typed refusal.
 */
export type Outcome = 'ok' | 'pool-closed' | 'connect-failed' | `status:${number}`;

/**
 * The pool could not make the key's connection (its connector's connect failed): the request never
 * reached a server. Only where the key had no connection and its server could not be reached.
 */
export const CONNECT_FAILED = 'connect-failed' as const;

export const UNAVAILABLE = 'status:14' as const;
export const CANCELLED = 'status:1' as const;
export const DEADLINE_EXCEEDED = 'status:4' as const;

/** Health answers the model may expect. */
export type HealthOutcome = 'SERVING' | 'NOT_SERVING' | 'pool-closed' | 'connect-failed' | `status:${number}`;

/** A closed interval of counts: the model's knowledge of a counter when order is not determined. */
export interface Range {
  readonly min: number;
  readonly max: number;
}

export const exactly = (n: number): Range => ({ min: n, max: n });
export const plus = (r: Range, min: number, max = min): Range => ({ min: r.min + min, max: r.max + max });
export const inRange = (n: number, r: Range): boolean => n >= r.min && n <= r.max;
