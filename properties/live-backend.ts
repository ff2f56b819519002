import type { Scheduler } from 'fast-check';
import type { History } from '../src/harness/history.js';
import { GrpcConnector } from '../src/pool/grpc-connector.js';
import { LedgerWaitTimeoutError } from '../src/server/errors.js';
import { TestServer } from '../src/server/test-server.js';
import type { Backend } from './backend.js';
import type { Activity } from './parallel/activity.js';
import { FAST_RECONNECT, scheduledConnector } from './scheduled-connector.js';

/** Real test servers on loopback (port 0), real grpc-js channels. */
export class LiveBackend implements Backend {
  readonly layer = 'live' as const;
  readonly controllable = true;
  readonly #servers: TestServer[];

  private constructor(servers: TestServer[]) {
    this.#servers = servers;
  }

  static async start(count: number): Promise<LiveBackend> {
    const servers: TestServer[] = [];
    try {
      for (let i = 0; i < count; i++) servers.push(await TestServer.start());
    } catch (error) {
      await Promise.all(servers.map((s) => s.close()));
      throw error;
    }
    return new LiveBackend(servers);
  }

  get addresses(): string[] {
    return this.#servers.map((s) => s.address);
  }

  connector(scheduler: Scheduler, history: History, activity?: Activity) {
    return scheduledConnector(new GrpcConnector(FAST_RECONNECT), scheduler, history, activity);
  }

  async settleOpenConnections(i: number, atMost: number, timeoutMs: number): Promise<number> {
    const ledger = this.#server(i).ledger;
    try {
      await ledger.waitUntil((s) => s.openConnections <= atMost, timeoutMs, `at most ${atMost} open`);
    } catch (error) {
      if (!(error instanceof LedgerWaitTimeoutError)) throw error;
    }
    return ledger.snapshot().openConnections;
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
    await Promise.all(this.#servers.map((s) => s.close()));
  }

  #server(i: number): TestServer {
    const s = this.#servers[i];
    if (!s) throw new RangeError(`no server ${i}`);
    return s;
  }
}
