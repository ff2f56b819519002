import type { Scheduler } from 'fast-check';
import type { History } from '../src/harness/history.js';
import type { Connector } from '../src/pool/connector.js';
import { type GrpcConnection, GrpcConnector } from '../src/pool/grpc-connector.js';
import { grpcJs } from '../src/pool/grpc-js-release.js';
import { FAST_RECONNECT, scheduledConnector } from './scheduled-connector.js';
import type { Activity } from './scheduling/activity.js';

/**
 * How long to wait for a channel that is backing off or connecting to change state: the live
 * layer's reconnect backoff is capped at 500 ms (FAST_RECONNECT), plus room for a loaded machine.
 */
const BACKOFF_WAIT_MS = 1_000;
/** A channel that is READY or IDLE yet refused a call has nothing to wait for: a short pace only. */
const SETTLED_WAIT_MS = 50;

/**
 * Remembers the latest grpc-js connection the pool made to each address, so that a caller whose
 * call was refused as UNAVAILABLE can wait for that channel's state to change (its backoff over, a
 * new attempt started) instead of sleeping a fixed time and trying again.
 */
export class ChannelWatch {
  readonly #latest = new Map<string, GrpcConnection>();

  /**
   * The live layer's connector (live and target backends): grpc-js with FAST_RECONNECT and a 1 s
   * handshake watchdog (`Grpc`: a variant's may carry its bug), its connections remembered here,
   * every result handed to the scheduler.
   */
  liveConnector(scheduler: Scheduler, history: History, activity?: Activity, Grpc: typeof GrpcConnector = GrpcConnector) {
    return scheduledConnector(this.track(new Grpc(FAST_RECONNECT, { handshakeTimeoutMs: 1_000 })), scheduler, history, activity);
  }

  /** `inner` with every connection it makes remembered by address. */
  track(inner: Connector<GrpcConnection>): Connector<GrpcConnection> {
    return {
      connect: async (target) => {
        const c = await inner.connect(target);
        this.#latest.set(target.address, c);
        return c;
      },
      close: (c) => inner.close(c),
      call: (c, request, deadlineMs) => inner.call(c, request, deadlineMs),
      health: (c, service, deadlineMs) => inner.health(c, service, deadlineMs),
    };
  }

  /**
   * Resolves when the channel to `address` leaves the state it is in now (backing off or
   * connecting: at most 1 s; READY or IDLE: at most 50 ms). With no channel to wait on (none made
   * yet, or shut down: the next call makes a new one), after 50 ms, so that retries stay paced.
   */
  changed(address: string): Promise<void> {
    const channel = this.#latest.get(address)?.client.getChannel();
    const state = channel?.getConnectivityState(false);
    // The release under test's own enum (the values are the same in every release).
    const { connectivityState } = grpcJs();
    if (!channel || state === undefined || state === connectivityState.SHUTDOWN) {
      return new Promise((resolve) => setTimeout(resolve, SETTLED_WAIT_MS));
    }
    const waiting = state === connectivityState.TRANSIENT_FAILURE || state === connectivityState.CONNECTING;
    const deadline = Date.now() + (waiting ? BACKOFF_WAIT_MS : SETTLED_WAIT_MS);
    return new Promise((resolve) => channel.watchConnectivityState(state, deadline, () => resolve()));
  }
}
