import type { Socket } from 'node:net';
import type * as grpc from '@grpc/grpc-js';
import { service as healthService } from 'grpc-health-check';
import { type CallResponseMessage, type LoadTestClient, loadTestProto } from '../proto/load-test-proto.js';
import type { Connection, Connector, ConnectTarget, HealthStatus, UnaryReply, UnaryRequest } from './connector.js';
import { GrpcStatusError, InvalidOptionsError } from './errors.js';
import { grpcJs } from './grpc-js-release.js';
import { HandshakeSockets, resetTcp } from './handshake-sockets.js';
import { type ChannelOptionValues, canonicalChannelOptions } from './pool-key.js';

/** A connection made by `GrpcConnector`: one grpc-js channel shared by the service and health stubs. */
export interface GrpcConnection extends Connection {
  readonly client: LoadTestClient;
  readonly healthClient: HealthClient;
}

interface HealthClient extends grpc.Client {
  Check(
    request: { service: string },
    metadata: grpc.Metadata,
    options: grpc.CallOptions,
    callback: grpc.requestCallback<{ status: HealthStatus }>,
  ): grpc.ClientUnaryCall;
}

type HealthClientConstructor = new (
  address: string,
  creds: grpc.ChannelCredentials,
  options?: grpc.ClientOptions,
) => HealthClient;

/** Longest a close waits for a connection attempt still in its TCP connect to reach its secure handshake. */
const CLOSE_CONNECT_WAIT_MS = 5_000;
/** While it waits, how often a close looks again for the attempt's HTTP/2 session. */
const CONNECT_RECHECK_MS = 25;
/** Longest a close waits for a READY connection to answer a ping before resetting it instead of closing it gracefully. */
const CLOSE_PING_WAIT_MS = 1_000;

/**
 * Keepalive the connector applies under the defaults given to its constructor and each key's own
 * channel options (both win, key by key). Without keepalive a connection that goes black (a
 * half-open TCP connection: the peer's host vanished, a middlebox dropped the flow, the server hung)
 * looks READY forever and every call on it ends in DEADLINE_EXCEEDED. With these, grpc-js pings
 * every 10 s, even with no call in flight, and drops the connection when a ping is not answered
 * within 5 s; the channel then reconnects on the next call. A dead connection is found within
 * 15 s. A server must permit such pings (gRPC servers that enforce a ping policy answer pings
 * more often than every 5 minutes, or without calls, with GOAWAY too_many_pings, after which
 * grpc-js doubles its interval); the TestServer permits them. Set `grpc.keepalive_time_ms` to 0 to
 * turn keepalive off.
 */
/** Default time an HTTP/2 handshake may go unanswered before the attempt is abandoned. */
export const DEFAULT_HANDSHAKE_TIMEOUT_MS = 5_000;

export const KEEPALIVE_DEFAULTS = Object.freeze({
  'grpc.keepalive_time_ms': 10_000,
  'grpc.keepalive_timeout_ms': 5_000,
  'grpc.keepalive_permit_without_calls': 1,
});

let HealthClientCtor: HealthClientConstructor | undefined;
function healthClientCtor(): HealthClientConstructor {
  HealthClientCtor ??= grpcJs().makeClientConstructor(
    healthService as unknown as grpc.ServiceDefinition,
    'grpc.health.v1.Health',
  ) as unknown as HealthClientConstructor;
  return HealthClientCtor;
}

/**
 * The production connector over @grpc/grpc-js.
 *
 * Every connection gets its own subchannel pool (`grpc.use_local_subchannel_pool`), so one pool
 * entry is one HTTP/2 connection that the pool alone opens and closes. Without it, grpc-js's
 * process-wide subchannel pool would let two entries with equal target, options and credentials
 * share a connection, and a connection the pool closed could live on under another channel.
 */
export class GrpcConnector implements Connector<GrpcConnection> {
  #nextId = 1;
  readonly #defaults: ChannelOptionValues;
  readonly #handshakeTimeoutMs: number;
  readonly #watchdogs = new WeakMap<GrpcConnection, NodeJS.Timeout>();
  readonly #handshakes = new WeakMap<GrpcConnection, HandshakeSockets>();

  /**
   * @param defaultChannelOptions applied to every channel over `KEEPALIVE_DEFAULTS` and under the
   *   key's own options (which win), e.g. `grpc.max_reconnect_backoff_ms` to reconnect sooner
   *   after a server restart.
   * @param options.handshakeTimeoutMs how long an HTTP/2 handshake may go unanswered before the
   *   attempt is abandoned (default 5 000 ms; 0 turns the watchdog off).
   */
  constructor(defaultChannelOptions: ChannelOptionValues = {}, options: { handshakeTimeoutMs?: number } = {}) {
    this.#defaults = { ...KEEPALIVE_DEFAULTS, ...canonicalChannelOptions(defaultChannelOptions) };
    const timeout = options.handshakeTimeoutMs ?? DEFAULT_HANDSHAKE_TIMEOUT_MS;
    if (!Number.isFinite(timeout) || timeout < 0) {
      throw new InvalidOptionsError(`handshakeTimeoutMs must be a non-negative number of ms; got ${String(timeout)}`);
    }
    this.#handshakeTimeoutMs = timeout;
  }

  /**
   * grpc-js 1.14 has no connect timeout: an attempt whose TCP connection is accepted but whose
   * HTTP/2 handshake never gets an answer (a black hole, a stalled proxy) stays CONNECTING for as
   * long as the socket lives, and the key never serves again even once the network heals (found by
   * pool-linearizable on the live layer). A watchdog resets such an attempt's socket, so grpc-js
   * sees it fail, backs off and tries a fresh connection.
   */
  #watch(connection: GrpcConnection, handshakes: HandshakeSockets): void {
    if (this.#handshakeTimeoutMs === 0) return;
    const channel = connection.client.getChannel();
    // An attempt's TLS handshake (a socket, 1.13 on) and its HTTP/2 handshake (a session) are each
    // given the timeout: either can be the one that never gets an answer.
    const stuckSince = new Map<InternalSession | Socket, number>();
    const timer = setInterval(
      () => {
        const now = performance.now();
        const pending = [...pendingSessions(localSubchannels(channel)), ...handshakes.pending];
        for (const stuck of [...stuckSince.keys()]) if (!pending.includes(stuck)) stuckSince.delete(stuck);
        for (const stuck of pending) {
          const since = stuckSince.get(stuck) ?? now;
          stuckSince.set(stuck, since);
          if (now - since >= this.#handshakeTimeoutMs) {
            stuckSince.delete(stuck);
            if ('ping' in stuck) resetSocket(stuck);
            else resetTcp(stuck);
          }
        }
      },
      Math.max(25, Math.min(500, this.#handshakeTimeoutMs / 4)),
    );
    timer.unref();
    this.#watchdogs.set(connection, timer);
  }

  async connect(target: ConnectTarget): Promise<GrpcConnection> {
    const { Client } = loadTestProto();
    const handshakes = new HandshakeSockets();
    const credentials = handshakes.wrap(target.credentials ?? grpcJs().credentials.createInsecure());
    const client = new Client(target.address, credentials, {
      ...this.#defaults,
      ...target.channelOptions,
      'grpc.use_local_subchannel_pool': 1,
    });
    const healthClient = new (healthClientCtor())(target.address, credentials, { channelOverride: client.getChannel() });
    // Start connecting now ("connect ahead of use"); calls wait for the connection if it is not ready yet.
    client.getChannel().getConnectivityState(true);
    const connection: GrpcConnection = { id: this.#nextId++, keyId: target.keyId, address: target.address, client, healthClient };
    this.#handshakes.set(connection, handshakes);
    this.#watch(connection, handshakes);
    return connection;
  }

  async close(connection: GrpcConnection): Promise<void> {
    clearInterval(this.#watchdogs.get(connection));
    this.#watchdogs.delete(connection);
    const channel = connection.client.getChannel();
    const handshakes = this.#handshakes.get(connection);
    // grpc-js leaves the socket of a channel closed mid-connect open (the server keeps seeing it),
    // and never gives up on an attempt whose handshake (TLS, HTTP/2) gets no answer. Once the
    // attempt is in its TLS handshake or has its HTTP/2 session, the connector aborts it below;
    // while its TCP connect runs, it waits, bounded, for the attempt to get that far or to end.
    const deadline = Date.now() + CLOSE_CONNECT_WAIT_MS;
    while (
      channel.getConnectivityState(false) === grpcJs().connectivityState.CONNECTING &&
      pendingSessions(localSubchannels(channel)).length === 0 &&
      (handshakes?.pending.length ?? 0) === 0 &&
      Date.now() < deadline
    ) {
      // The session appears without a state change: look again every CONNECT_RECHECK_MS.
      const wakeAt = Math.min(deadline, Date.now() + CONNECT_RECHECK_MS);
      await new Promise<void>((resolve) =>
        channel.watchConnectivityState(grpcJs().connectivityState.CONNECTING, wakeAt, () => resolve()),
      );
    }
    const subchannels = localSubchannels(channel);
    // A READY connection that does not answer a ping (a black hole, a hung server) would be closed
    // gracefully by grpc-js: GOAWAY and FIN, then the socket waits for a FIN that never comes,
    // half-closed, for as long as the process lives. Such a connection is reset instead.
    const unanswered = await Promise.all(
      readySessions(subchannels).map((session) => unansweredPing(session, CLOSE_PING_WAIT_MS)),
    );
    const abandon = [...pendingSessions(subchannels), ...readySessions(subchannels).filter((_, i) => unanswered[i])];
    // The health stub rides on the same channel: closing the channel once closes both.
    connection.client.close();
    // grpc-js 1.14 idles only CONNECTING or READY subchannels when their channel closes: one that
    // was backing off (TRANSIENT_FAILURE) reconnects when its backoff timer fires and holds the
    // socket for good. Stop those timers (found by the nightly fuzz: stop, wave, remove, restart).
    for (const subchannel of subchannels) subchannel.stopBackoff?.();
    // In the same turn as close(), before grpc-js starts its graceful close on the next tick: a
    // reset, not a FIN, so that neither end keeps the connection. After close(), so that the
    // subchannel is already idle when the aborted attempt fails, and does not back off and retry.
    handshakes?.abort();
    this.#handshakes.delete(connection);
    for (const session of abandon) resetSocket(session);
  }

  call(connection: GrpcConnection, request: UnaryRequest, deadlineMs: number): Promise<UnaryReply> {
    return new Promise((resolve, reject) => {
      connection.client.Call(
        {
          requestId: request.requestId,
          payload: request.payload ? Buffer.from(request.payload) : Buffer.alloc(0),
          delayMs: request.delayMs ?? 0,
          failCode: request.failCode ?? 0,
        },
        // grpc-js takes wait-for-ready as an option of the call's metadata.
        new (grpcJs().Metadata)({ waitForReady: request.waitForReady === true }),
        { deadline: Date.now() + deadlineMs },
        (error, response) => {
          // grpc-js answers with either an error or a response.
          if (error) reject(new GrpcStatusError(error.code, error.details, 'Call'));
          else resolve(response as CallResponseMessage);
        },
      );
    });
  }

  health(connection: GrpcConnection, service: string, deadlineMs: number): Promise<HealthStatus> {
    return new Promise((resolve, reject) => {
      connection.healthClient.Check(
        { service },
        new (grpcJs().Metadata)(),
        { deadline: Date.now() + deadlineMs },
        (error, response) => {
          if (error) reject(new GrpcStatusError(error.code, error.details, 'Health.Check'));
          else resolve((response as { status: HealthStatus }).status);
        },
      );
    });
  }
}

/** What the connector reads of a grpc-js http2 session: its socket (a proxy onto the net.Socket) and ping. */
interface InternalSession {
  readonly destroyed: boolean;
  /** Node's proxy onto the session's socket; over TLS from 1.13 on, `_parent` is the TCP socket beneath. */
  readonly socket?: { resetAndDestroy?: () => void; _parent?: { resetAndDestroy?: () => void } | null };
  ping(callback: (error: Error | null) => void): boolean;
  destroy(): void;
}

/**
 * What the connector reads of a grpc-js subchannel. Two shapes: from 1.9 on (transport.ts), a
 * connection attempt's session sits on `connector` and a READY one's on `transport`; in 1.8, the
 * subchannel holds its one session itself (`session`), connecting or READY as its
 * `connectivityState` says.
 */
interface InternalSubchannel {
  stopBackoff?: () => void;
  /** The transport of a READY subchannel (1.9 on). */
  transport?: { session?: InternalSession } | null;
  /** Holds the HTTP/2 session of an attempt waiting for the server's SETTINGS (1.9 on). */
  connector?: { session?: InternalSession | null };
  /** The subchannel's HTTP/2 session, connecting or READY (1.8). */
  session?: InternalSession | null;
  /** ConnectivityState of the subchannel (1.8: tells what its `session` is). */
  connectivityState?: number;
}

/** The session of a 1.8 subchannel (no `connector` field) when it is in `state`. */
function ownSession(s: InternalSubchannel, state: 'CONNECTING' | 'READY'): InternalSession | undefined {
  if (s.connector !== undefined || !s.session || s.session.destroyed) return undefined;
  return s.connectivityState === grpcJs().connectivityState[state] ? s.session : undefined;
}

/**
 * The subchannels of a channel's own (local) subchannel pool. This reads grpc-js internals
 * (`internalChannel.subchannelPool.pool`); if they change shape it returns nothing, and the
 * connector test that closes a channel while it backs off fails, naming the leak.
 */
function localSubchannels(channel: unknown): InternalSubchannel[] {
  const pool = (
    channel as unknown as {
      internalChannel?: { subchannelPool?: { pool?: Record<string, Array<{ subchannel?: InternalSubchannel }>> } };
    }
  ).internalChannel?.subchannelPool?.pool;
  if (!pool) return [];
  return Object.values(pool).flatMap((entries) => entries.flatMap((e) => (e.subchannel ? [e.subchannel] : [])));
}

/**
 * Sessions of connection attempts that reached HTTP/2 but have no answer yet (grpc-js internals:
 * `Http2SubchannelConnector.session`, in 1.8 the CONNECTING subchannel's own `session`; the
 * handshake black-hole tests fail if they move).
 */
function pendingSessions(subchannels: InternalSubchannel[]): InternalSession[] {
  return subchannels.flatMap((s) => {
    if (s.connector?.session && !s.connector.session.destroyed) return [s.connector.session];
    const own = ownSession(s, 'CONNECTING');
    return own ? [own] : [];
  });
}

/** Sessions of READY transports (grpc-js internals: `Http2Transport.session`; 1.8: a READY subchannel's `session`). */
function readySessions(subchannels: InternalSubchannel[]): InternalSession[] {
  return subchannels.flatMap((s) => {
    if (s.transport?.session && !s.transport.session.destroyed) return [s.transport.session];
    const own = ownSession(s, 'READY');
    return own ? [own] : [];
  });
}

/** Resolves true if `session` does not answer a ping within `timeoutMs` (or cannot send one). */
function unansweredPing(session: InternalSession, timeoutMs: number): Promise<boolean> {
  return new Promise((resolve) => {
    const timer = setTimeout(() => resolve(true), timeoutMs);
    const settle = (unanswered: boolean): void => {
      clearTimeout(timer);
      resolve(unanswered);
    };
    try {
      if (!session.ping((error) => settle(error !== null))) settle(true);
    } catch {
      settle(true);
    }
  });
}

/**
 * Resets the TCP connection under an http2 session. `session.socket` is Node's proxy onto the
 * socket: it forwards `resetAndDestroy` (not on its list of forbidden methods) and reads such as
 * `_parent`. A TLS socket cannot be reset (its handle is a TLSWrap: ERR_INVALID_HANDLE_TYPE), so
 * over TLS the TCP socket beneath it is reset; where there is none to reach (grpc-js before 1.13
 * lets http2.connect open the TLS socket itself) the session is destroyed: a FIN, but nothing left
 * on this side.
 */
function resetSocket(session: InternalSession): void {
  try {
    const socket = session.socket;
    const tcp = socket?._parent ?? socket;
    if (typeof tcp?.resetAndDestroy !== 'function') throw new Error('no socket to reset');
    tcp.resetAndDestroy();
  } catch {
    try {
      session.destroy();
    } catch {
      // Already unbound from its socket: the session is closing on its own.
    }
  }
}
