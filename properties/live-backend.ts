import type { Scheduler } from 'fast-check';
import type { NetworkFault } from '../models/vocabulary.js';
import { FaultProxy, type FaultProxyStats } from '../src/faults/fault-proxy.js';
import type { ToxicSpec } from '../src/faults/toxics.js';
import type { History } from '../src/harness/history.js';
import type { GrpcConnector } from '../src/pool/grpc-connector.js';
import { assertClientApis } from '../src/pool/grpc-js-release.js';
import { LedgerWaitTimeoutError } from '../src/server/errors.js';
import { TestServer } from '../src/server/test-server.js';
import type { Backend, Nemesis, Network, Observer } from './backend.js';
import { ChannelWatch } from './channel-watch.js';
import type { Activity } from './scheduling/activity.js';

/** The toxic each network fault installs on a server's proxy. */
const FAULT_TOXICS: Record<NetworkFault, ToxicSpec> = {
  reset: { type: 'reset', connections: 'all' },
  blackhole: { type: 'stall-after', bytes: 0 },
  latency: { type: 'latency', latencyMs: 50, jitterMs: 20 },
};

/**
 * Real test servers on loopback (port 0), real grpc-js channels; with `networkFaults`, each server
 * sits behind its own FaultProxy and the pool connects to the proxies.
 */
export class LiveBackend implements Backend, Network, Nemesis, Observer {
  get network(): Network {
    return this;
  }
  get nemesis(): Nemesis {
    return this;
  }
  get observer(): Observer {
    return this;
  }
  readonly layer = 'live' as const;
  /** The pool's latest channel to each address, for `waitForReconnect`. */
  readonly #channels = new ChannelWatch();
  readonly controllable = true;
  readonly #servers: TestServer[];
  readonly #proxies: FaultProxy[];
  /** Addresses a black hole has been on: its swallowed FINs can keep the server's side open. */
  readonly #blackholed = new Set<number>();

  private constructor(servers: TestServer[], proxies: FaultProxy[]) {
    this.#servers = servers;
    this.#proxies = proxies;
  }

  get networkFaults(): boolean {
    return this.#proxies.length > 0;
  }

  static async start(count: number, options: { networkFaults?: boolean } = {}): Promise<LiveBackend> {
    // A release under test without an API the client stack calls cannot run it: a set-up failure.
    assertClientApis();
    const servers: TestServer[] = [];
    const proxies: FaultProxy[] = [];
    try {
      for (let i = 0; i < count; i++) {
        const server = await TestServer.start();
        servers.push(server);
        // On the server's own random loopback host, not 127.0.0.1: a client of an earlier run
        // still redialing its proxy's freed port must never reach this run's proxy on that port.
        if (options.networkFaults)
          proxies.push(await FaultProxy.start({ upstream: server.address, host: server.host, seed: i + 1 }));
      }
    } catch (error) {
      await Promise.all([...proxies.map((p) => p.close()), ...servers.map((s) => s.close())]);
      throw error;
    }
    return new LiveBackend(servers, proxies);
  }

  get addresses(): string[] {
    return this.#proxies.length ? this.#proxies.map((p) => p.address) : this.#servers.map((s) => s.address);
  }

  async fault(i: number, kind: NetworkFault): Promise<void> {
    if (kind === 'blackhole') this.#blackholed.add(i);
    this.#proxy(i).addToxic('nemesis', FAULT_TOXICS[kind]);
  }

  /**
   * Ends the fault. A connection a black hole stalled stays broken (the bytes it lost are gone): the
   * client must find that out itself (keepalive, the handshake watchdog), as on a real network.
   */
  async heal(i: number): Promise<void> {
    this.#proxy(i).clearToxics();
  }

  #proxy(i: number): FaultProxy {
    const p = this.#proxies[i];
    if (!p) throw new RangeError(`no fault proxy for server ${i} (start the backend with networkFaults)`);
    return p;
  }

  connector(scheduler: Scheduler, history: History, activity?: Activity, Grpc?: typeof GrpcConnector) {
    return this.#channels.liveConnector(scheduler, history, activity, Grpc);
  }

  waitForReconnect(i: number): Promise<void> {
    return this.#channels.changed(this.addresses[i] ?? '');
  }

  async settleOpenConnections(i: number, atMost: number, timeoutMs: number): Promise<number> {
    const ledger = this.#server(i).ledger;
    const started = Date.now();
    try {
      if (!this.#blackholed.has(i))
        await ledger.waitUntil((s) => s.openConnections <= atMost, timeoutMs, `at most ${atMost} open`);
    } catch (error) {
      if (!(error instanceof LedgerWaitTimeoutError)) throw error;
    }
    const open = ledger.snapshot().openConnections;
    const proxy = this.#proxies[i];
    if (!proxy) return open;
    // Counted on the proxy too: a socket the pool left open there never reaches the server's count.
    const left = Math.max(0, timeoutMs - (Date.now() - started));
    // Behind a black hole that swallowed a FIN, the server's and the proxy's sides stay open
    // whatever the client did: there, what counts is what the client still holds.
    const count = (s: FaultProxyStats) => (this.#blackholed.has(i) ? s.clientOpenConnections : s.openConnections);
    const proxyOpen = await proxy
      .waitUntil((s) => count(s) <= atMost, left, `at most ${atMost} open on the proxy`)
      .then(count)
      .catch(() => count(proxy.stats()));
    return this.#blackholed.has(i) ? proxyOpen : Math.max(open, proxyOpen);
  }

  async acceptedConnections(i: number): Promise<number> {
    return this.#server(i).ledger.snapshot().acceptedConnections;
  }

  async timesSeen(i: number, requestId: string): Promise<number> {
    return this.#server(i).ledger.timesSeen(requestId);
  }

  stop(i: number): Promise<void> {
    return this.#server(i).stop(2_000);
  }

  kill(i: number): Promise<void> {
    return this.#server(i).kill();
  }

  restart(i: number): Promise<void> {
    return this.#server(i).restart();
  }

  setServing(i: number, status: 'SERVING' | 'NOT_SERVING'): void {
    this.#server(i).setServingStatus(status);
  }

  async dispose(): Promise<void> {
    await Promise.all([...this.#proxies.map((p) => p.close()), ...this.#servers.map((s) => s.close())]);
  }

  #server(i: number): TestServer {
    const s = this.#servers[i];
    if (!s) throw new RangeError(`no server ${i}`);
    return s;
  }
}
