import { fileURLToPath } from 'node:url';
import * as grpc from '@grpc/grpc-js';
import * as protoLoader from '@grpc/proto-loader';

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

let loaded: LoadedProto | undefined;

/** Loads proto/loadtest.proto once per process and returns its service definition and client class. */
export function loadTestProto(): LoadedProto {
  if (loaded) return loaded;
  const definition = protoLoader.loadSync(LOAD_TEST_PROTO_PATH, {
    keepCase: false,
    longs: Number,
    enums: String,
    defaults: true,
    oneofs: true,
  });
  const pkg = grpc.loadPackageDefinition(definition) as unknown as {
    loadtest: { v1: { LoadTest: grpc.ServiceClientConstructor } };
  };
  const ctor = pkg.loadtest.v1.LoadTest;
  loaded = { service: ctor.service, Client: ctor as unknown as LoadTestClientConstructor };
  return loaded;
}
