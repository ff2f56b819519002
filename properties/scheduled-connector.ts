import type { Scheduler } from 'fast-check';
import type { History } from '../src/harness/history.js';
import type { Connection, Connector } from '../src/pool/connector.js';
import { describeError } from './outcomes.js';
import type { Activity } from './scheduling/activity.js';

/**
 * Channel options of the live layer: reconnect backoff capped at 500 ms (grpc-js defaults to
 * 1 s initial, 120 s max), so that a server restarted by a command is reachable again within the
 * recovery budget of `recover(i)`. Everything else is grpc-js's default.
 */
export const FAST_RECONNECT = {
  'grpc.initial_reconnect_backoff_ms': 100,
  'grpc.max_reconnect_backoff_ms': 500,
  // A black-holed connection is found dead within about 1.5 s (the connector's default is 10 s +
  // 5 s): a ping every 500 ms (the test servers permit one every 100 ms), unanswered for 1 s. The
  // timeout stays at 1 s: an event loop stalled that long on a loaded machine would look like a
  // dead connection.
  'grpc.keepalive_time_ms': 500,
  'grpc.keepalive_timeout_ms': 1_000,
} as const;

/**
 * Wraps a connector so that every promise it returns is handed to fast-check's scheduler: the
 * work starts at once (real I/O runs concurrently), but the order in which the pool sees the
 * results is chosen by the scheduler, fixed by the seed and replayable. Calls are recorded in the
 * history when the real call settles, before the scheduler's delay, so latencies are the wire's.
 */
export function scheduledConnector(inner: Connector, s: Scheduler, history: History, activity?: Activity): Connector {
  const schedule = <T>(p: Promise<T>, label: string): Promise<T> =>
    activity ? activity.scheduled(p, (q) => s.schedule(q, label)) : s.schedule(p, label);
  return {
    connect: (target) => schedule(inner.connect(target), `connect ${target.address}`),
    close: (c: Connection) => schedule(inner.close(c), `close #${c.id}`),
    call: (c, request, deadlineMs) =>
      schedule(
        history.track(`conn${c.id}`, 'call', request.requestId, inner.call(c, request, deadlineMs), describeError),
        `call ${request.requestId} on #${c.id}`,
      ),
    health: (c, service, deadlineMs) =>
      schedule(
        history.track(`conn${c.id}`, 'health', service, inner.health(c, service, deadlineMs), describeError),
        `health on #${c.id}`,
      ),
  };
}
