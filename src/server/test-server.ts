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
import { Ledger } from './ledger.js';

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
  /** Serve TLS with the loopback test certificate in proto/testdata (default: plaintext). */
  tls?: boolean;
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

const TESTDATA = fileURLToPath(new URL('../../proto/testdata/', import.meta.url));
/** The CA a client needs to trust a `tls: true` test server. */
export function testServerRootCert(): Buffer {
  return readFileSync(`${TESTDATA}server.crt`);
}

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
  readonly tls: boolean;
  readonly #health: HealthImplementation;
  readonly #maxDelayMs: number;
  readonly #recordTwice: boolean;
  readonly #grpcOptions: grpc.ServerOptions;
  #readsPaused = false;
  readonly #sockets = new Set<net.Socket>();
  readonly #timers = new Set<NodeJS.Timeout>();
  #port: number;
  #state: TestServerState = 'stopped';
  #grpcServer: grpc.Server | undefined;
  #injector: grpc.ConnectionInjector | undefined;
  #listener: net.Server | undefined;
  #instanceId = '';
  #generation = 0;

  private constructor(options: TestServerOptions) {
    this.host = options.host ?? randomLoopbackHost();
    this.#port = options.port ?? 0;
    this.tls = options.tls ?? false;
    this.#maxDelayMs = options.maxDelayMs ?? 60_000;
    this.#recordTwice = options.recordTwice ?? false;
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
    const credentials = this.tls
      ? grpc.ServerCredentials.createSsl(null, [
          { cert_chain: readFileSync(`${TESTDATA}server.crt`), private_key: readFileSync(`${TESTDATA}server.key`) },
        ])
      : grpc.ServerCredentials.createInsecure();
    const injector = grpcServer.createConnectionInjector(credentials);
    const listener = net.createServer((socket) => {
      this.#sockets.add(socket);
      this.ledger.connectionOpened();
      socket.once('close', () => {
        this.#sockets.delete(socket);
        this.ledger.connectionClosed();
      });
      injector.injectConnection(socket);
      if (this.#readsPaused) setReading(socket, false);
    });
    await new Promise<void>((resolve, reject) => {
      listener.once('error', reject);
      listener.listen({ host: this.host, port: this.#port, exclusive: true }, () => {
        listener.off('error', reject);
        resolve();
      });
    }).catch((error: NodeJS.ErrnoException) => {
      injector.destroy();
      grpcServer.forceShutdown();
      throw new ServerStateError(`cannot listen on ${this.host}:${this.#port}: ${error.code ?? error.message}`);
    });
    this.#port = (listener.address() as net.AddressInfo).port;
    this.#grpcServer = grpcServer;
    this.#injector = injector;
    this.#listener = listener;
    this.#generation += 1;
    this.#instanceId = `${randomUUID().slice(0, 8)}-${this.#generation}`;
    this.#state = 'running';
  }

  #closeListener(): Promise<void> {
    const listener = this.#listener;
    this.#listener = undefined;
    if (!listener) return Promise.resolve();
    return new Promise((resolve) => listener.close(() => resolve()));
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

  #handlers(): LoadTestHandlers {
    return {
      Call: (call: grpc.ServerUnaryCall<CallRequestMessage, CallResponseMessage>, callback) => {
        const req = call.request;
        if (this.#recordTwice) this.ledger.recordRequest(req.requestId);
        const timesSeen = this.ledger.recordRequest(req.requestId);
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
