/**
 * Where keys-isolate observes which connection served which request, for whom: on the live layer
 * the run's own test servers (plaintext or mTLS, each recording the peer and the verified client
 * certificate of every request); on the simulated layer, the connector seam (a wrapping connector
 * that resolves the spellings to the simulated servers and records, per connection, the identity of
 * the credentials and the options it was made with).
 */
import type { Connection, Connector, ConnectTarget } from '../../src/pool/connector.js';
import type { ChannelOptionValues } from '../../src/pool/pool-key.js';
import { LedgerWaitTimeoutError } from '../../src/server/errors.js';
import { TestServer } from '../../src/server/test-server.js';
import type { Backend } from '../backend.js';
import { SetupFailure } from '../outcomes.js';
import { canonicalAddress, type SpellingForm } from './addresses.js';
import type { ServerPlan } from './case.js';
import { identityOf, identityServed } from './credentials.js';

/** One request as observed: the connection it went over and the client identity of that connection. */
export interface Served {
  readonly requestId: string;
  /** The connection: the peer address the server saw (live), or the seam's connection id (simulated). */
  readonly connection: string;
  /** `insecure`, `tls:anon`, `tls:<CN>`: as the server saw the client (live), or as the credentials were made (seam). */
  readonly identity: string;
  /** The request's user-agent header, as the server received it (live). */
  readonly userAgent?: string;
  /** The channel options the connection was opened with, as the connector received them (seam). */
  readonly channelOptions?: ChannelOptionValues;
}

export interface KeysServers {
  /** `server`: observed by the servers themselves; `seam`: at the connector the pool was given. */
  readonly where: 'server' | 'seam';
  /** The address of server `i` written in `form`. */
  spell(i: number, form: SpellingForm): string;
  /** The connector the pool is given, over the backend's. */
  connector(inner: Connector): Connector;
  /** The requests server `i` served whose id starts with `prefix`. */
  served(i: number, prefix: string): Served[];
  /** Open connections at server `i` once at most `atMost` are open, or `timeoutMs` has passed. */
  settleOpen(i: number, atMost: number, timeoutMs: number): Promise<number>;
  dispose(): Promise<void>;
}

/** The live layer: a test server per plan, plaintext or `mtls-optional`, on a random address or on localhost. */
export class LiveKeysServers implements KeysServers {
  readonly where = 'server' as const;
  readonly #servers: readonly TestServer[];

  private constructor(servers: readonly TestServer[]) {
    this.#servers = servers;
  }

  static async start(plans: readonly ServerPlan[]): Promise<LiveKeysServers> {
    const servers: TestServer[] = [];
    try {
      for (const p of plans) {
        servers.push(
          await TestServer.start({
            ...(p.host === 'localhost' ? { host: 'localhost' } : {}),
            tls: p.kind === 'tls' ? 'mtls-optional' : false,
            recordServed: true,
          }),
        );
      }
    } catch (error) {
      await Promise.all(servers.map((s) => s.close()));
      throw error;
    }
    return new LiveKeysServers(servers);
  }

  spell(i: number, form: SpellingForm): string {
    const s = this.#server(i);
    const v4 = s.host === 'localhost' ? '127.0.0.1' : s.host;
    const needs = form.spellingClass === 'ipv6' ? '::1' : undefined;
    if (needs && !s.listenHosts.includes(needs)) {
      throw new SetupFailure(
        `server ${i} does not listen on ${needs} (it listens on ${s.listenHosts.join(', ')}): cannot spell ${form.form}`,
      );
    }
    return form.spell(v4, s.port);
  }

  connector(inner: Connector): Connector {
    return inner;
  }

  served(i: number, prefix: string): Served[] {
    return this.#server(i)
      .ledger.served(prefix)
      .map((r) => ({
        requestId: r.requestId,
        connection: r.peer,
        identity: identityServed(r.transport, r.clientCertificate),
        userAgent: r.userAgent,
      }));
  }

  async settleOpen(i: number, atMost: number, timeoutMs: number): Promise<number> {
    const ledger = this.#server(i).ledger;
    try {
      await ledger.waitUntil((s) => s.openConnections <= atMost, timeoutMs, `at most ${atMost} open`);
    } catch (error) {
      if (!(error instanceof LedgerWaitTimeoutError)) throw error;
    }
    return ledger.snapshot().openConnections;
  }

  async dispose(): Promise<void> {
    await Promise.all(this.#servers.map((s) => s.close()));
  }

  #server(i: number): TestServer {
    const s = this.#servers[i];
    if (!s) throw new RangeError(`no server ${i}`);
    return s;
  }
}

/**
 * The simulated layer: its servers stand, by the plans, on a random IPv4 address or on localhost
 * (127.0.0.1 and ::1), each on the port the simulated backend gave it. The connector resolves what
 * the pool connects to as a resolver would (a name to its addresses, IPv4-mapped IPv6 to IPv4) and
 * hands the backend's own address on; it records each connection's credentials identity and options.
 */
export class SimulatedKeysServers implements KeysServers {
  readonly where = 'seam' as const;
  readonly #backend: Backend;
  readonly #plans: readonly ServerPlan[];
  readonly #ports: readonly number[];
  readonly #records: Served[][];
  readonly #connections = new WeakMap<Connection, { server: number; identity: string; options: ChannelOptionValues }>();

  constructor(backend: Backend, plans: readonly ServerPlan[]) {
    this.#backend = backend;
    this.#plans = plans;
    this.#ports = backend.addresses.map((a) => Number(a.slice(a.lastIndexOf(':') + 1)));
    this.#records = plans.map(() => []);
  }

  #ipv4(i: number): string {
    return this.#plans[i]?.host === 'localhost' ? '127.0.0.1' : `127.9.0.${i + 1}`;
  }

  spell(i: number, form: SpellingForm): string {
    return form.spell(this.#ipv4(i), this.#ports[i] as number);
  }

  /** The server `address` reaches: its port, and a host that names the server's address. */
  #resolve(address: string): number {
    const canonical = canonicalAddress(address);
    const cut = canonical.lastIndexOf(':');
    const host = canonical.slice(0, cut).replace(/^\[(.*)\]$/, '$1');
    const port = Number(canonical.slice(cut + 1));
    const i = this.#ports.indexOf(port);
    const v4 = this.#ipv4(i);
    const names = this.#plans[i]?.host === 'localhost' ? ['localhost', v4, '::1'] : [v4];
    if (i < 0 || !(names.includes(host) || host === `::ffff:${v4}`)) throw new Error(`no simulated server at ${address}`);
    return i;
  }

  connector(inner: Connector): Connector {
    return {
      connect: async (target: ConnectTarget) => {
        const server = this.#resolve(target.address);
        const c = await inner.connect({ ...target, address: this.#backend.addresses[server] as string });
        this.#connections.set(c, { server, identity: identityOf(target.credentials), options: target.channelOptions });
        return c;
      },
      close: (c) => inner.close(c),
      call: (c, request, deadlineMs) => {
        const m = this.#connections.get(c);
        if (m) {
          this.#records[m.server]?.push({
            requestId: request.requestId,
            connection: `#${c.id}`,
            identity: m.identity,
            channelOptions: m.options,
          });
        }
        return inner.call(c, request, deadlineMs);
      },
      health: (c, service, deadlineMs) => inner.health(c, service, deadlineMs),
    };
  }

  served(i: number, prefix: string): Served[] {
    return (this.#records[i] ?? []).filter((r) => r.requestId.startsWith(prefix));
  }

  settleOpen(i: number, atMost: number, timeoutMs: number): Promise<number> {
    return this.#backend.observer.settleOpenConnections(i, atMost, timeoutMs);
  }

  async dispose(): Promise<void> {}
}
