import type { Scheduler } from 'fast-check';
import { faultEffect, type NetworkFault } from '../models/vocabulary.js';
import type { History } from '../src/harness/history.js';
import type { Connection, Connector, ConnectTarget, HealthStatus, UnaryReply, UnaryRequest } from '../src/pool/connector.js';
import { GrpcStatusError } from '../src/pool/errors.js';
import type { Backend, Nemesis, Network, Observer } from './backend.js';
import type { Activity } from './scheduling/activity.js';

const UNAVAILABLE = 14;
const CANCELLED = 1;
const DEADLINE_EXCEEDED = 4;

interface FakeServer {
  readonly address: string;
  phase: 'up' | 'stopped' | 'killed';
  serving: 'SERVING' | 'NOT_SERVING';
  open: number;
  accepted: number;
  /** A network fault between pool and server: exchanges fail while it holds. */
  fault: NetworkFault | undefined;
  readonly ledger: Map<string, number>;
}

interface FakeConnection extends Connection {
  transportUp: boolean;
  closed: boolean;
  readonly pending: Set<PendingCall>;
}

interface PendingCall {
  /** Decided by an event before the scheduler released the call (close, kill, graceful stop). */
  forced:
    | { kind: 'fail'; status: number; why: string }
    | { kind: 'served'; outcome: { value: unknown } | { error: unknown } }
    | undefined;
  /** Serves the request now (a graceful stop serves what was sent before it goes down). */
  serve(): { value: unknown } | { error: unknown };
}

/**
 * An in-memory network with the same server-side view as the live layer: per address a server
 * phase, a ledger of request ids and a count of open transports. Every result is decided when
 * the scheduler releases it, so a close or a kill between a call's start and its release affects
 * it, as on a real network. It is stricter than grpc-js in one place, on purpose: closing a
 * connection cancels every call still pending on it (grpc-js only cancels calls still waiting
 * for a transport), so a pool that closes before draining is caught here.
 */
export class SimulatedBackend implements Backend, Network, Nemesis, Observer {
  get network(): Network {
    return this;
  }
  get nemesis(): Nemesis {
    return this;
  }
  get observer(): Observer {
    return this;
  }
  readonly layer = 'simulated' as const;
  readonly controllable = true;
  readonly networkFaults = true;
  readonly #servers: FakeServer[];
  readonly #connections = new Set<FakeConnection>();
  #nextId = 1;

  constructor(count: number) {
    this.#servers = Array.from({ length: count }, (_, i) => ({
      address: `127.0.0.1:${20_001 + i}`,
      phase: 'up',
      serving: 'SERVING',
      open: 0,
      accepted: 0,
      fault: undefined,
      ledger: new Map(),
    }));
  }

  get addresses(): string[] {
    return this.#servers.map((s) => s.address);
  }

  connector(s: Scheduler, history: History, activity?: Activity): Connector<FakeConnection> {
    // Every result is decided when the scheduler releases it, not before.
    const later = <T>(label: string, decide: () => T): Promise<T> =>
      (activity ? activity.scheduled(Promise.resolve(), (p) => s.schedule(p, label)) : s.schedule(Promise.resolve(), label)).then(
        decide,
      );
    return {
      connect: (target: ConnectTarget) =>
        later(`connect ${target.address}`, () => {
          // Connects eagerly, as a TCP connect would: a server that is down, or a network that stops
          // requests, refuses it (grpc-js connects lazily: its channel is made and its calls fail).
          const server = this.#serverAt(target.address);
          if (server.phase !== 'up' || (server.fault !== undefined && !faultEffect(server.fault).reachable)) {
            throw new GrpcStatusError(
              UNAVAILABLE,
              `connection refused (server ${server.phase}${server.fault ? `, ${server.fault}` : ''})`,
              'connect',
            );
          }
          const c: FakeConnection = {
            id: this.#nextId++,
            keyId: target.keyId,
            address: target.address,
            transportUp: false,
            closed: false,
            pending: new Set(),
          };
          this.#connections.add(c);
          this.#bringUp(c);
          return c;
        }),
      close: (c) =>
        later(`close #${c.id}`, () => {
          this.#closeConnection(c);
        }),
      call: (c, request, deadlineMs) =>
        history.track(
          `conn${c.id}`,
          'call',
          request.requestId,
          this.#exchange(c, `call ${request.requestId} on #${c.id}`, later, (server) =>
            this.#answerCall(server, request, deadlineMs),
          ),
          String,
        ),
      health: (c, _service, _deadlineMs) =>
        this.#exchange(c, `health on #${c.id}`, later, (server): HealthStatus => server.serving),
    };
  }

  async settleOpenConnections(i: number, _atMost: number, _timeoutMs: number): Promise<number> {
    // Nothing happens behind the scheduler's back here: the count is already final.
    return this.#server(i).open;
  }

  async acceptedConnections(i: number): Promise<number> {
    return this.#server(i).accepted;
  }

  async waitForReconnect(_i: number): Promise<void> {
    // The simulated network has no backoff: the next call is decided afresh.
  }

  async timesSeen(i: number, requestId: string): Promise<number> {
    return this.#server(i).ledger.get(requestId) ?? 0;
  }

  async stop(i: number): Promise<void> {
    const server = this.#server(i);
    // Graceful: calls already sent are served, then every transport closes.
    for (const c of this.#connectionsTo(server)) {
      // ...answered as the server is at this moment, not as it is when the answer is delivered.
      for (const p of c.pending) p.forced ??= { kind: 'served', outcome: p.serve() };
      this.#bringDown(c);
    }
    server.phase = 'stopped';
  }

  async kill(i: number): Promise<void> {
    const server = this.#server(i);
    for (const c of this.#connectionsTo(server)) {
      for (const p of c.pending) p.forced ??= { kind: 'fail', status: UNAVAILABLE, why: 'Connection dropped' };
      this.#bringDown(c);
    }
    server.phase = 'killed';
  }

  async fault(i: number, kind: NetworkFault): Promise<void> {
    const server = this.#server(i);
    server.fault = kind;
    const effect = faultEffect(kind);
    if (effect.reachable) return; // latency: the in-memory network has no clock, so it changes nothing here
    // What is in flight fails as the fault says (a reset at once, dropping the connection; a black
    // hole as a timeout, leaving it open).
    const status = effect.failsWith ?? UNAVAILABLE;
    for (const c of this.#connectionsTo(server)) {
      for (const p of c.pending) p.forced ??= { kind: 'fail', status, why: `network fault: ${kind}` };
      if (effect.dropsConnections) this.#bringDown(c);
    }
  }

  async heal(i: number): Promise<void> {
    this.#server(i).fault = undefined;
  }

  async restart(i: number): Promise<void> {
    this.#server(i).phase = 'up';
  }

  setServing(i: number, status: 'SERVING' | 'NOT_SERVING'): void {
    this.#server(i).serving = status;
  }

  async dispose(): Promise<void> {
    for (const c of this.#connections) this.#closeConnection(c);
  }

  #exchange<T>(
    c: FakeConnection,
    label: string,
    later: <U>(label: string, decide: () => U) => Promise<U>,
    answer: (server: FakeServer) => T,
  ): Promise<T> {
    const pending: PendingCall = {
      forced: undefined,
      serve: () => {
        try {
          const server = this.#serverAt(c.address);
          // A request the network is failing never reaches the server to be served.
          failIfFaulted(server, label);
          return { value: answer(server) };
        } catch (error) {
          return { error };
        }
      },
    };
    c.pending.add(pending);
    return later(label, () => {
      c.pending.delete(pending);
      const forced = pending.forced;
      const server = this.#serverAt(c.address);
      if (forced?.kind === 'fail') throw new GrpcStatusError(forced.status, forced.why, label);
      if (forced?.kind === 'served') {
        if ('error' in forced.outcome) throw forced.outcome.error;
        return forced.outcome.value as T;
      }
      if (c.closed) throw new GrpcStatusError(CANCELLED, 'Channel has been shut down', label);
      if (server.phase !== 'up') throw new GrpcStatusError(UNAVAILABLE, 'No connection established', label);
      failIfFaulted(server, label);
      this.#bringUp(c);
      return answer(server);
    });
  }

  #answerCall(server: FakeServer, request: UnaryRequest, deadlineMs: number): UnaryReply {
    const timesSeen = this.#recordId(server, request.requestId);
    // The server got it, but would answer only after the caller's deadline: the caller gives up first.
    if (request.delayMs !== undefined && request.delayMs >= deadlineMs) {
      throw new GrpcStatusError(DEADLINE_EXCEEDED, 'Deadline exceeded (the server answers later)', 'Call');
    }
    if (request.failCode) throw new GrpcStatusError(request.failCode, 'failed on request', 'Call');
    return { requestId: request.requestId, payload: request.payload ?? new Uint8Array(), timesSeen, serverId: server.address };
  }

  #recordId(server: FakeServer, requestId: string): number {
    const n = (server.ledger.get(requestId) ?? 0) + 1;
    server.ledger.set(requestId, n);
    return n;
  }

  #bringUp(c: FakeConnection): void {
    const server = this.#serverAt(c.address);
    if (!c.transportUp && !c.closed && server.phase === 'up') {
      c.transportUp = true;
      server.open += 1;
      server.accepted += 1;
    }
  }

  #bringDown(c: FakeConnection): void {
    if (c.transportUp) {
      c.transportUp = false;
      this.#serverAt(c.address).open -= 1;
    }
  }

  #closeConnection(c: FakeConnection): void {
    if (c.closed) return;
    c.closed = true;
    for (const p of c.pending) p.forced ??= { kind: 'fail', status: CANCELLED, why: 'Channel has been shut down' };
    this.#bringDown(c);
  }

  #connectionsTo(server: FakeServer): FakeConnection[] {
    return [...this.#connections].filter((c) => c.address === server.address);
  }

  #serverAt(address: string): FakeServer {
    const s = this.#servers.find((x) => x.address === address);
    if (!s) throw new GrpcStatusError(UNAVAILABLE, `no simulated server at ${address}`, 'connect');
    return s;
  }

  #server(i: number): FakeServer {
    const s = this.#servers[i];
    if (!s) throw new RangeError(`no server ${i}`);
    return s;
  }
}

/** A request the network is failing never reaches the server: it fails as the fault says. */
function failIfFaulted(server: FakeServer, label: string): void {
  if (server.fault === undefined) return;
  const effect = faultEffect(server.fault);
  if (!effect.reachable) {
    throw new GrpcStatusError(effect.failsWith ?? UNAVAILABLE, `network fault: ${server.fault}`, label);
  }
}
