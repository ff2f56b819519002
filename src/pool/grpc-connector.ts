import * as grpc from '@grpc/grpc-js';
import { service as healthService } from 'grpc-health-check';
import { type CallResponseMessage, type LoadTestClient, loadTestProto } from '../proto/load-test-proto.js';
import type { Connection, Connector, ConnectTarget, HealthStatus, UnaryReply, UnaryRequest } from './connector.js';
import { GrpcStatusError } from './errors.js';
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

/** Longest a close waits for a connection attempt in progress to finish. */
const CLOSE_CONNECT_WAIT_MS = 5_000;

let HealthClientCtor: HealthClientConstructor | undefined;
function healthClientCtor(): HealthClientConstructor {
  HealthClientCtor ??= grpc.makeClientConstructor(healthService, 'grpc.health.v1.Health') as unknown as HealthClientConstructor;
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

  /**
   * @param defaultChannelOptions applied to every channel under the key's own options (which win),
   *   e.g. `grpc.max_reconnect_backoff_ms` to reconnect sooner after a server restart.
   */
  constructor(defaultChannelOptions: ChannelOptionValues = {}) {
    this.#defaults = canonicalChannelOptions(defaultChannelOptions);
  }

  async connect(target: ConnectTarget): Promise<GrpcConnection> {
    const { Client } = loadTestProto();
    const credentials = target.credentials ?? grpc.credentials.createInsecure();
    const client = new Client(target.address, credentials, {
      ...this.#defaults,
      ...target.channelOptions,
      'grpc.use_local_subchannel_pool': 1,
    });
    const healthClient = new (healthClientCtor())(target.address, credentials, { channelOverride: client.getChannel() });
    // Start connecting now ("connect ahead of use"); calls wait for the connection if it is not ready yet.
    client.getChannel().getConnectivityState(true);
    return { id: this.#nextId++, keyId: target.keyId, address: target.address, client, healthClient };
  }

  async close(connection: GrpcConnection): Promise<void> {
    // grpc-js leaves the transport of a channel closed mid-connect open (the server keeps seeing
    // the socket). Wait, bounded, until the attempt ends one way or the other, then close.
    const channel = connection.client.getChannel();
    const deadline = Date.now() + CLOSE_CONNECT_WAIT_MS;
    while (channel.getConnectivityState(false) === grpc.connectivityState.CONNECTING && Date.now() < deadline) {
      await new Promise<void>((resolve) =>
        channel.watchConnectivityState(grpc.connectivityState.CONNECTING, deadline, () => resolve()),
      );
    }
    // The health stub rides on the same channel: closing the channel once closes both.
    const subchannels = localSubchannels(channel);
    connection.client.close();
    // grpc-js 1.14 idles only CONNECTING or READY subchannels when their channel closes: one that
    // was backing off (TRANSIENT_FAILURE) reconnects when its backoff timer fires and holds the
    // socket for good. Stop those timers (found by the nightly fuzz: stop, wave, remove, restart).
    for (const subchannel of subchannels) subchannel.stopBackoff?.();
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
        new grpc.Metadata(),
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
        new grpc.Metadata(),
        { deadline: Date.now() + deadlineMs },
        (error, response) => {
          if (error) reject(new GrpcStatusError(error.code, error.details, 'Health.Check'));
          else resolve((response as { status: HealthStatus }).status);
        },
      );
    });
  }
}

interface InternalSubchannel {
  stopBackoff?: () => void;
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
