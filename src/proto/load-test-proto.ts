import { fileURLToPath } from 'node:url';
import type * as grpc from '@grpc/grpc-js';
import * as protoLoader from '@grpc/proto-loader';
import { grpcJs } from '../pool/grpc-js-release.js';

/** Absolute path of the load-test service definition. */
export const LOAD_TEST_PROTO_PATH = fileURLToPath(new URL('../../proto/loadtest.proto', import.meta.url));

/** Fully-qualified name of the load-test service, as it appears on the wire. */
export const LOAD_TEST_SERVICE_NAME = 'loadtest.v1.LoadTest';

/** `CallRequest` as the generated code sees it (proto-loader with `longs: Number`, `defaults: true`). */
export interface CallRequestMessage {
  requestId: string;
  payload: Buffer;
  delayMs: number;
  failCode: number;
}

export interface CallResponseMessage {
  requestId: string;
  payload: Buffer;
  timesSeen: number;
  serverId: string;
}

export interface LedgerRequestMessage {
  idPrefix: string;
}

export interface LedgerEntryMessage {
  requestId: string;
  count: number;
}

export interface LedgerResponseMessage {
  entries: LedgerEntryMessage[];
  acceptedConnections: number;
  openConnections: number;
  totalRequests: number;
}

/** Server-side handlers of the load-test service. */
export interface LoadTestHandlers extends grpc.UntypedServiceImplementation {
  Call: grpc.handleUnaryCall<CallRequestMessage, CallResponseMessage>;
  GetLedger: grpc.handleUnaryCall<LedgerRequestMessage, LedgerResponseMessage>;
}

/** Client stub of the load-test service. */
export interface LoadTestClient extends grpc.Client {
  Call(
    request: Partial<CallRequestMessage>,
    metadata: grpc.Metadata,
    options: grpc.CallOptions,
    callback: grpc.requestCallback<CallResponseMessage>,
  ): grpc.ClientUnaryCall;
  GetLedger(
    request: Partial<LedgerRequestMessage>,
    metadata: grpc.Metadata,
    options: grpc.CallOptions,
    callback: grpc.requestCallback<LedgerResponseMessage>,
  ): grpc.ClientUnaryCall;
}

export type LoadTestClientConstructor = new (
  address: string,
  credentials: grpc.ChannelCredentials,
  options?: grpc.ClientOptions,
) => LoadTestClient;

interface LoadedProto {
  service: grpc.ServiceDefinition;
  Client: LoadTestClientConstructor;
}

/** What building a client class needs of a grpc-js module (any release, the servers' copy too). */
export interface ClientFactory {
  makeClientConstructor(methods: grpc.ServiceDefinition, serviceName: string): grpc.ServiceClientConstructor;
}

let service: grpc.ServiceDefinition | undefined;
const clients = new WeakMap<ClientFactory, LoadTestClientConstructor>();

/**
 * The load-test service definition, loaded from proto/loadtest.proto once per process. Plain data
 * (paths, serializers): any grpc-js release's server or client accepts it.
 */
export function loadTestService(): grpc.ServiceDefinition {
  service ??= protoLoader.loadSync(LOAD_TEST_PROTO_PATH, {
    keepCase: false,
    longs: Number,
    enums: String,
    defaults: true,
    oneofs: true,
  })[LOAD_TEST_SERVICE_NAME] as unknown as grpc.ServiceDefinition;
  return service;
}

/** The load-test client class built on `grpc` (one class per module, made on first use). */
export function loadTestClientClass(grpc: ClientFactory): LoadTestClientConstructor {
  let ctor = clients.get(grpc);
  if (!ctor) {
    ctor = grpc.makeClientConstructor(loadTestService(), 'LoadTest') as unknown as LoadTestClientConstructor;
    clients.set(grpc, ctor);
  }
  return ctor;
}

/**
 * The service definition and the client class of the client stack's @grpc/grpc-js (`grpcJs()`:
 * the release under test). The servers and the observer build theirs on their own pinned copy.
 */
export function loadTestProto(): LoadedProto {
  return { service: loadTestService(), Client: loadTestClientClass(grpcJs()) };
}
