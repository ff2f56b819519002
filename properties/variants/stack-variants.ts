import type { LoadTestMetrics } from '../../src/metrics/load-test-metrics.js';
import type { Connection, Connector, HealthStatus } from '../../src/pool/connector.js';
import { GrpcStatusError } from '../../src/pool/errors.js';

// Bugs below the pool (in the connector) or beside it (client metrics), as small wrappers.

/** Health answers cached per connection to save RPCs, and never refreshed. */
export function cacheHealthForever(inner: Connector): Connector {
  const cache = new Map<string, Promise<HealthStatus>>();
  return {
    ...bind(inner),
    health: (c: Connection, service: string, deadlineMs: number) => {
      const key = `${c.id}/${service}`;
      let answer = cache.get(key);
      if (!answer) {
        answer = inner.health(c, service, deadlineMs);
        cache.set(key, answer);
        // A failed check is not cached (the author did think of that much).
        answer.catch(() => cache.delete(key));
      }
      return answer;
    },
  };
}

/** A "circuit breaker" that opens on UNAVAILABLE and never closes again: the connection stays failed after the server is back. */
export function stickyUnavailable(inner: Connector): Connector {
  const broken = new Set<number>();
  const guard = <T>(c: Connection, p: () => Promise<T>): Promise<T> => {
    if (broken.has(c.id)) return Promise.reject(new GrpcStatusError(14, 'circuit open', 'Call'));
    return p().catch((error: unknown) => {
      if (error instanceof GrpcStatusError && error.status === 14) broken.add(c.id);
      throw error;
    });
  };
  return {
    ...bind(inner),
    call: (c, request, deadlineMs) => guard(c, () => inner.call(c, request, deadlineMs)),
    health: (c, service, deadlineMs) => guard(c, () => inner.health(c, service, deadlineMs)),
  };
}

/** Only successes reach the metrics: the error path forgets to record (failures are lost). */
export function dropFailures(metrics: LoadTestMetrics): LoadTestMetrics {
  return new Proxy(metrics, {
    get(target, prop, receiver) {
      if (prop === 'recordFailure') return () => {};
      const value = Reflect.get(target, prop, receiver);
      return typeof value === 'function' ? value.bind(target) : value;
    },
  });
}

function bind(inner: Connector): Connector {
  return {
    connect: (t) => inner.connect(t),
    close: (c) => inner.close(c),
    call: (c, r, d) => inner.call(c, r, d),
    health: (c, s, d) => inner.health(c, s, d),
  };
}
