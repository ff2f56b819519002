import { randomUUID } from 'node:crypto';
import { readFileSync } from 'node:fs';
import net from 'node:net';
import { fileURLToPath } from 'node:url';
import { HealthImplementation, type ServingStatus } from 'grpc-health-check';
// The servers run on their own pinned copy of grpc-js (an npm alias), apart from the client stack's
// release under test: any client release can then be checked against the same servers.
import * as grpc from 'grpc-js-server';
import {
  type CallRequestMessage,
  type CallResponseMessage,
  type LedgerRequestMessage,
  type LedgerResponseMessage,
  type LoadTestHandlers,
  loadTestService,
} from '../proto/load-test-proto.js';
import { InvalidServerOptionsError, ServerStateError } from './errors.js';
import { Ledger, type ServedRecord } from './ledger.js';

export type { ServingStatus } from 'grpc-health-check';

/** Lifecycle of a test server. `closed` is final. */
export type TestServerState = 'running' | 'stopped' | 'killed' | 'closed';

export interface TestServerOptions {
  /**
   * Loopback address to listen on: an address in 127.0.0.0/8, `::1` or `localhost`. Default: a
   * random address in 127.0.0.0/8, so that a client of another test (or process) still retrying
   * a server it lost cannot reach this one when the OS hands out the same port again.
   */
  host?: string;
  /** Port to listen on; default 0, the OS picks a free one. */
  port?: number;
  /**
   * Serve TLS with the loopback test certificate in proto/testdata (default false: plaintext).
   * `true`: server authentication only, no client certificate asked for. `'mtls'`: a client
   * certificate issued by the test CA is required (grpc-js `ServerCredentials.createSsl(ca, pairs,
   * true)`): a client without one fails its handshake. `'mtls-optional'`: a client certificate is
   * asked for and verified against the test CA when given, and a client without one is served as
   * anonymous TLS (grpc-js's certificate-provider credentials with `requireClientCertificate`
   * false), so clients of several identities, and anonymous ones, can share one server.
   */
  tls?: TlsMode;
  /**
   * Record, for every request served, which connection (the peer address, `call.getPeer()`) and
   * which client (the verified client certificate's subject CN, from `call.getAuthContext()`)
   * served it, and the request's user-agent: `ledger.served()`. Default false (a long load test
   * would hold a record per request).
   */
  recordServed?: boolean;
  /** Health status of the overall server (service name ''); default `SERVING`. */
  initialStatus?: ServingStatus;
  /** Longest `delay_ms` a request may ask for; longer asks are refused with INVALID_ARGUMENT. Default 60 000. */
  maxDelayMs?: number;
  /**
   * HTTP/2 SETTINGS_MAX_CONCURRENT_STREAMS the server announces (`grpc.max_concurrent_streams`);
   * default unlimited. A grpc-js client queues calls beyond it on its side until a stream frees.
   */
  maxConcurrentStreams?: number;
  /**
   * Sends GOAWAY to each connection this long after it opened (`grpc.max_connection_age_ms`, grpc-js
   * adds +/-10% jitter), while the server stays up; default never. See also `goAway()`.
   */
  maxConnectionAgeMs?: number;
  /** After that GOAWAY, how long calls in flight may run before the connection is dropped; default unlimited. */
  maxConnectionAgeGraceMs?: number;
  /**
   * Misbehave as a foreign server with a bug might: record every request id twice in the ledger
   * (as if each request had run twice). Default false. For testing the suite's `--target` path:
   * a correct suite must report such a server as failing.
   */
  recordTwice?: boolean;
}

/**
 * Client keepalive the server permits: pings without calls, as often as every 100 ms. grpc-js 1.14
 * does not enforce a ping policy on its side, but a server that did would answer pings more
 * frequent than it allows with GOAWAY too_many_pings; these say what this server accepts (the
 * connector pings every 10 s by default, tests much more often).
 */
const PERMIT_CLIENT_KEEPALIVE = {
  'grpc.keepalive_permit_without_calls': 1,
  'grpc.http2.min_ping_interval_without_data_ms': 100,
} as const;

/** The largest delay Node's timers keep (about 24.8 days): "no deadline" for grpc-js's drain. */
const NEVER_MS = 2_147_483_647;

/** How a test server speaks TLS (see `TestServerOptions.tls`). */
export type TlsMode = boolean | 'mtls' | 'mtls-optional';

const TESTDATA = fileURLToPath(new URL('../../proto/testdata/', import.meta.url));
const testdata = new Map<string, Buffer>();
/** A file of proto/testdata, read once. */
function testFile(name: string): Buffer {
  let b = testdata.get(name);
  if (!b) {
    b = readFileSync(`${TESTDATA}${name}`);
    testdata.set(name, b);
  }
  return b;
}

/** The CA a client needs to trust a TLS test server (it also issued the test client certificates). */
export function testServerRootCert(): Buffer {
  return testFile('ca.crt');
}

/** The names of the test client certificates (CN) in proto/testdata, issued by the test CA. */
export const TEST_CLIENT_NAMES = ['alice', 'bob'] as const;
export type TestClientName = (typeof TEST_CLIENT_NAMES)[number];

/** A test client certificate (CN=`name`) and its private key, for mTLS (`createSsl(ca, privateKey, certChain)`). */
export function testClientIdentity(name: TestClientName): { readonly certChain: Buffer; readonly privateKey: Buffer } {
  return { certChain: testFile(`${name}.crt`), privateKey: testFile(`${name}.key`) };
}

/** Addresses a `localhost` server listens on: IPv4 loopback, and IPv6 loopback where the machine has it. */
const LOCALHOST_ADDRESSES = ['127.0.0.1', '::1'] as const;
/** How often a `localhost` server tries another OS-picked port when the first is taken on `::1`. */
const LOCALHOST_PORT_TRIES = 5;

const MAX_STATUS_CODE = 16;

/**
 * A gRPC server for tests: the load-test service and grpc.health.v1 on one port, a ledger of
 * what it served and of the transport connections it holds (counted on its own sockets), and a
 * lifecycle a test can drive: graceful stop, kill (every connection dropped at once), restart on
 * the same port. It owns the listening socket and hands each accepted socket to grpc-js through
 * `Server.createConnectionInjector`, which is what lets it count connections itself.
 */
export class TestServer {
  readonly ledger = new Ledger();
  readonly host: string;
  /** Whether the server speaks TLS (in any of the `tls` modes). */
  readonly tls: boolean;
  /** The `tls` option as given: false, true, `'mtls'` or `'mtls-optional'`. */
  readonly tlsMode: TlsMode;
  readonly #health: HealthImplementation;
  readonly #maxDelayMs: number;
  readonly #recordTwice: boolean;
  readonly #recordServed: boolean;
  readonly #grpcOptions: grpc.ServerOptions;
  #readsPaused = false;
  readonly #sockets = new Set<net.Socket>();
  readonly #timers = new Set<NodeJS.Timeout>();
  #port: number;
  #state: TestServerState = 'stopped';
  #grpcServer: grpc.Server | undefined;
  #injector: grpc.ConnectionInjector | undefined;
  #listeners: net.Server[] = [];
  #listenHosts: readonly string[] = [];
  #instanceId = '';
  #generation = 0;

  private constructor(options: TestServerOptions) {
    this.host = options.host ?? randomLoopbackHost();
    this.#port = options.port ?? 0;
    this.tlsMode = options.tls ?? false;
    this.tls = this.tlsMode !== false;
    this.#maxDelayMs = options.maxDelayMs ?? 60_000;
    this.#recordTwice = options.recordTwice ?? false;
    this.#recordServed = options.recordServed ?? false;
    this.#grpcOptions = {
      ...PERMIT_CLIENT_KEEPALIVE,
      ...(options.maxConcurrentStreams === undefined ? {} : { 'grpc.max_concurrent_streams': options.maxConcurrentStreams }),
      ...(options.maxConnectionAgeMs === undefined ? {} : { 'grpc.max_connection_age_ms': options.maxConnectionAgeMs }),
      ...(options.maxConnectionAgeGraceMs === undefined
        ? {}
        : { 'grpc.max_connection_age_grace_ms': options.maxConnectionAgeGraceMs }),
    };
    this.#health = new HealthImplementation({ '': options.initialStatus ?? 'SERVING' });
  }

  /** Starts a server (on a free port unless `port` is given) and resolves once it accepts connections. */
  static async start(options: TestServerOptions = {}): Promise<TestServer> {
    validateOptions(options);
    const server = new TestServer(options);
    await server.#listen();
    return server;
  }

  /** `host:port` a client connects to (IPv6 hosts in brackets). */
  get address(): string {
    const host = this.host.includes(':') ? `[${this.host}]` : this.host;
    return `${host}:${this.#port}`;
  }

  get port(): number {
    return this.#port;
  }

  /**
   * The addresses the server listens on (all on `port`): its `host`, or for `localhost` both
   * `127.0.0.1` and `::1` (IPv4 alone where the machine has no IPv6 loopback), so that a client
   * reaches it by `localhost` whichever address its resolver tries first.
   */
  get listenHosts(): readonly string[] {
    return this.#listenHosts;
  }

  get state(): TestServerState {
    return this.#state;
  }

  /** Changes with every (re)start: lets a test tell which incarnation answered. */
  get instanceId(): string {
    return this.#instanceId;
  }

  /** Sets the health status reported for `service` ('' is the whole server). */
  setServingStatus(status: ServingStatus, service = ''): void {
    this.#health.setStatus(service, status);
  }

  /**
   * Sends GOAWAY on every connection open now while the server stays up and keeps accepting: calls
   * in flight finish, new calls go to a new connection. A connection still open after `graceMs` is
   * dropped. Resolves once every connection open at the call has closed.
   */
  async goAway(graceMs = 2_000): Promise<void> {
    this.#requireState('send GOAWAY on', ['running']);
    const sockets = [...this.#sockets];
    // grpc-js's drain destroys, when its grace ends, every session of the injector, new ones
    // included: give it no end, and drop only the connections open now after graceMs.
    this.#injector?.drain(NEVER_MS);
    const closed = Promise.all(sockets.map((s) => (s.closed ? undefined : new Promise((r) => s.once('close', r)))));
    const timer = setTimeout(() => {
      this.#timers.delete(timer);
      for (const s of sockets) s.destroy();
    }, graceMs);
    this.#timers.add(timer);
    await closed;
    clearTimeout(timer);
    this.#timers.delete(timer);
  }

  /**
   * Stops reading from every connection, open now or accepted later, until `resumeReading()`: what
   * clients send piles up in the kernel's buffers and then in theirs (a slow or stuck reader).
   * Answers already being written still go out.
   */
  pauseReading(): void {
    this.#requireState('pause reading on', ['running']);
    this.#readsPaused = true;
    for (const socket of this.#sockets) setReading(socket, false);
  }

  /** Reads again from every connection (undoes `pauseReading`). */
  resumeReading(): void {
    this.#readsPaused = false;
    for (const socket of this.#sockets) setReading(socket, true);
  }

  /** Stops accepting, lets calls in flight finish (up to `graceMs`), then closes every connection. */
  async stop(graceMs = 2_000): Promise<void> {
    this.#requireState('stop', ['running']);
    this.#state = 'stopped';
    const closed = this.#closeListener();
    this.#injector?.drain(graceMs);
    // A peer that never answers the GOAWAY (a black hole between us) would hold its connection
    // for good: once the grace is over, what is still open is dropped, as a real server's
    // shutdown deadline does.
    const drained = await this.ledger
      .waitUntil((s) => s.openConnections === 0, graceMs + 500, 'no open connections after stop')
      .then(() => true)
      .catch(() => false);
    if (!drained) {
      for (const socket of this.#sockets) socket.destroy();
      await this.ledger.waitUntil((s) => s.openConnections === 0, 5_000, 'no open connections after stop');
    }
    await closed;
    this.#teardownGrpc();
  }

  /** Drops every connection at once (calls in flight fail on the client) and stops listening. */
  async kill(): Promise<void> {
    this.#requireState('kill', ['running']);
    this.#state = 'killed';
    const closed = this.#closeListener();
    for (const socket of this.#sockets) socket.destroy();
    this.#clearTimers();
    await this.ledger.waitUntil((s) => s.openConnections === 0, 5_000, 'no open connections after kill');
    await closed;
    this.#teardownGrpc();
  }

  /** Listens again on the same port after `stop` or `kill`. The ledger carries over. */
  async restart(): Promise<void> {
    this.#requireState('restart', ['stopped', 'killed']);
    await this.#listen();
  }

  /** Stops for good (killing whatever is still connected). Safe to call in any state, twice. */
  async close(): Promise<void> {
    if (this.#state === 'running') await this.kill();
    this.#state = 'closed';
  }

  async [Symbol.asyncDispose](): Promise<void> {
    await this.close();
  }

  #requireState(action: string, allowed: TestServerState[]): void {
    if (!allowed.includes(this.#state)) {
      throw new ServerStateError(
        `cannot ${action} the test server at ${this.address}: it is ${this.#state} (allowed when ${allowed.join(' or ')})`,
      );
    }
  }

  async #listen(): Promise<void> {
    const grpcServer = new grpc.Server(this.#grpcOptions);
    grpcServer.addService(loadTestService(), this.#handlers());
    this.#health.addToServer(grpcServer);
    const injector = grpcServer.createConnectionInjector(serverCredentials(this.tlsMode));
    const onConnection = (socket: net.Socket): void => {
      this.#sockets.add(socket);
      this.ledger.connectionOpened();
      socket.once('close', () => {
        this.#sockets.delete(socket);
        this.ledger.connectionClosed();
      });
      injector.injectConnection(socket);
      if (this.#readsPaused) setReading(socket, false);
    };
    try {
      await this.#bind(onConnection);
    } catch (error) {
      injector.destroy();
      grpcServer.forceShutdown();
      throw error;
    }
    this.#grpcServer = grpcServer;
    this.#injector = injector;
    this.#generation += 1;
    this.#instanceId = `${randomUUID().slice(0, 8)}-${this.#generation}`;
    this.#state = 'running';
  }

  /**
   * Listens on every address of the server's host, all on one port: the given one (a restart), or
   * one the OS picks for the first address, which the others then take too (another try, with a
   * new port, when one of them has it taken already).
   */
  async #bind(onConnection: (socket: net.Socket) => void): Promise<void> {
    const hosts = this.host === 'localhost' ? LOCALHOST_ADDRESSES : [this.host];
    for (let attempt = 1; ; attempt++) {
      const listeners: net.Server[] = [];
      let port = this.#port;
      let failure: { host: string; error: NodeJS.ErrnoException } | undefined;
      for (const host of hosts) {
        const listener = net.createServer(onConnection);
        const error = await listenOn(listener, host, port);
        // No IPv6 loopback on this machine: `localhost` is 127.0.0.1 alone.
        if (host === '::1' && listeners.length > 0 && (error?.code === 'EADDRNOTAVAIL' || error?.code === 'EAFNOSUPPORT'))
          continue;
        if (error) {
          failure = { host, error };
          break;
        }
        listeners.push(listener);
        port = (listener.address() as net.AddressInfo).port;
      }
      if (!failure) {
        this.#port = port;
        this.#listeners = listeners;
        this.#listenHosts = listeners.map((l) => (l.address() as net.AddressInfo).address);
        return;
      }
      await Promise.all(listeners.map((l) => new Promise((resolve) => l.close(resolve))));
      // The OS picked the port for the first address and another address has it taken: pick again.
      const pickAgain = this.#port === 0 && listeners.length > 0 && failure.error.code === 'EADDRINUSE';
      if (!pickAgain || attempt >= LOCALHOST_PORT_TRIES) {
        throw new ServerStateError(`cannot listen on ${failure.host}:${port}: ${failure.error.code ?? failure.error.message}`);
      }
    }
  }

  #closeListener(): Promise<void> {
    const listeners = this.#listeners;
    this.#listeners = [];
    return Promise.all(listeners.map((l) => new Promise<void>((resolve) => l.close(() => resolve())))).then(() => undefined);
  }

  #teardownGrpc(): void {
    this.#clearTimers();
    this.#injector?.destroy();
    this.#grpcServer?.forceShutdown();
    this.#injector = undefined;
    this.#grpcServer = undefined;
  }

  #clearTimers(): void {
    for (const t of this.#timers) clearTimeout(t);
    this.#timers.clear();
  }

  /** Which connection and which client served `call`, as the server sees them. */
  #served(call: grpc.ServerUnaryCall<CallRequestMessage, CallResponseMessage>): ServedRecord {
    // getAuthContext() names a client certificate only once TLS verified it against the CA.
    const subject = this.tls ? call.getAuthContext().sslPeerCertificate?.subject : undefined;
    const cn = subject?.CN;
    const userAgent = call.metadata.get('user-agent')[0];
    return {
      requestId: call.request.requestId,
      peer: call.getPeer(),
      transport: this.tls ? 'tls' : 'insecure',
      clientCertificate: typeof cn === 'string' ? cn : Array.isArray(cn) ? cn.join(',') : null,
      userAgent: typeof userAgent === 'string' ? userAgent : '',
    };
  }

  #handlers(): LoadTestHandlers {
    return {
      Call: (call: grpc.ServerUnaryCall<CallRequestMessage, CallResponseMessage>, callback) => {
        const req = call.request;
        if (this.#recordTwice) this.ledger.recordRequest(req.requestId);
        const timesSeen = this.ledger.recordRequest(req.requestId);
        if (this.#recordServed) this.ledger.recordServed(this.#served(call));
        if (req.failCode > MAX_STATUS_CODE) {
          callback({
            code: grpc.status.INVALID_ARGUMENT,
            details: `fail_code ${req.failCode} is not a gRPC status code (use 1..${MAX_STATUS_CODE}, or 0 for none)`,
          });
          return;
        }
        if (req.delayMs > this.#maxDelayMs) {
          callback({
            code: grpc.status.INVALID_ARGUMENT,
            details: `delay_ms ${req.delayMs} exceeds this server's limit of ${this.#maxDelayMs} ms`,
          });
          return;
        }
        const answer = (): void => {
          if (req.failCode !== 0) {
            callback({ code: req.failCode, details: `failed on request (fail_code ${req.failCode})` });
          } else {
            callback(null, {
              requestId: req.requestId,
              payload: req.payload,
              timesSeen,
              serverId: this.#instanceId,
            });
          }
        };
        if (req.delayMs === 0) {
          answer();
          return;
        }
        const timer = setTimeout(() => {
          this.#timers.delete(timer);
          answer();
        }, req.delayMs);
        this.#timers.add(timer);
        call.once('cancelled', () => {
          clearTimeout(timer);
          this.#timers.delete(timer);
        });
      },
      GetLedger: (call: grpc.ServerUnaryCall<LedgerRequestMessage, LedgerResponseMessage>, callback) => {
        const s = this.ledger.snapshot();
        callback(null, {
          entries: this.ledger.entries(call.request.idPrefix),
          acceptedConnections: s.acceptedConnections,
          openConnections: s.openConnections,
          totalRequests: s.totalRequests,
        });
      },
    };
  }
}

/** Listens on `host:port`; resolves with the error instead of throwing it. */
function listenOn(listener: net.Server, host: string, port: number): Promise<NodeJS.ErrnoException | undefined> {
  return new Promise((resolve) => {
    const onError = (error: NodeJS.ErrnoException) => resolve(error);
    listener.once('error', onError);
    listener.listen({ host, port, exclusive: true }, () => {
      listener.off('error', onError);
      resolve(undefined);
    });
  });
}

/** The grpc-js server credentials of a `tls` mode, over the certificates in proto/testdata. */
function serverCredentials(mode: TlsMode): grpc.ServerCredentials {
  if (mode === false) return grpc.ServerCredentials.createInsecure();
  const pair = { cert_chain: testFile('server.crt'), private_key: testFile('server.key') };
  if (mode === true) return grpc.ServerCredentials.createSsl(null, [pair]);
  if (mode === 'mtls') return grpc.ServerCredentials.createSsl(testServerRootCert(), [pair], true);
  // createSsl cannot ask for a client certificate without requiring it (Node's rejectUnauthorized
  // defaults to true); grpc-js's certificate-provider credentials can (requestCert, and
  // rejectUnauthorized = requireClientCertificate). The provider hands over the files on a
  // microtask: grpc-js reads the first update through the watcher it adds after subscribing, so
  // an update given synchronously would be lost and every connection dropped as "unloaded".
  const provider: grpc.experimental.CertificateProvider = {
    addCaCertificateListener: (listener) => queueMicrotask(() => listener({ caCertificate: testServerRootCert() })),
    removeCaCertificateListener: () => {},
    addIdentityCertificateListener: (listener) =>
      queueMicrotask(() => listener({ certificate: pair.cert_chain, privateKey: pair.private_key })),
    removeIdentityCertificateListener: () => {},
  };
  // One provider gives both the identity and the CA (grpc-js 1.14's declaration names its first two
  // parameters the other way round from what its implementation does with them).
  return grpc.experimental.createCertificateProviderServerCredentials(provider, provider, false);
}

/**
 * Starts or stops reading a socket that grpc-js's HTTP/2 session consumes. `socket.pause()` does
 * not stop the session (it reads the handle directly), so this reaches the handle (Node internals:
 * `socket._handle.readStart/readStop`, the same calls `net.Socket` makes).
 */
function setReading(socket: net.Socket, reading: boolean): void {
  const handle = (socket as unknown as { _handle?: { readStart?: () => number; readStop?: () => number } | null })._handle;
  if (reading) handle?.readStart?.();
  else handle?.readStop?.();
}

function validateOptions(options: TestServerOptions): void {
  if (typeof options !== 'object' || options === null) {
    throw new InvalidServerOptionsError('TestServer options must be an object');
  }
  const { port, host, maxDelayMs, maxConcurrentStreams, maxConnectionAgeMs, maxConnectionAgeGraceMs } = options;
  for (const [name, value, min] of [
    ['maxConcurrentStreams', maxConcurrentStreams, 1],
    ['maxConnectionAgeMs', maxConnectionAgeMs, 1],
    ['maxConnectionAgeGraceMs', maxConnectionAgeGraceMs, 0],
  ] as const) {
    if (value !== undefined && (!Number.isInteger(value) || value < min || value > NEVER_MS)) {
      throw new InvalidServerOptionsError(`${name} must be a whole number in ${min}..${NEVER_MS}; got ${String(value)}`);
    }
  }
  if (port !== undefined && (!Number.isInteger(port) || port < 0 || port > 65_535)) {
    throw new InvalidServerOptionsError(`port must be an integer in 0..65535 (0 lets the OS pick); got ${String(port)}`);
  }
  if (host !== undefined && !isLoopback(host)) {
    throw new InvalidServerOptionsError(`host must be a loopback address (127.0.0.0/8, ::1 or localhost); got ${host}`);
  }
  if (maxDelayMs !== undefined && (!Number.isFinite(maxDelayMs) || maxDelayMs < 0)) {
    throw new InvalidServerOptionsError(`maxDelayMs must be a non-negative number; got ${String(maxDelayMs)}`);
  }
}

/** A random address in 127.0.0.0/8 (never .0 or .255 in the last octet). */
export function randomLoopbackHost(): string {
  const octet = (lo: number, hi: number) => lo + Math.floor(Math.random() * (hi - lo + 1));
  return `127.${octet(0, 255)}.${octet(0, 255)}.${octet(1, 254)}`;
}

function isLoopback(host: string): boolean {
  if (host === '::1' || host === 'localhost') return true;
  const parts = host.split('.');
  return parts.length === 4 && parts[0] === '127' && parts.every((p) => /^\d{1,3}$/.test(p) && Number(p) <= 255);
}
