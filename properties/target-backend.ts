// The observer connections run on the servers' pinned grpc-js, never on the release under test.

import type { Scheduler } from 'fast-check';
import * as grpc from 'grpc-js-server';
import type { History } from '../src/harness/history.js';
import type { GrpcConnector } from '../src/pool/grpc-connector.js';
import { normaliseAddress } from '../src/pool/pool-key.js';
import { type LedgerResponseMessage, type LoadTestClient, loadTestClientClass } from '../src/proto/load-test-proto.js';
import type { Backend, Nemesis, Network, Observer } from './backend.js';
import { ChannelWatch } from './channel-watch.js';
import type { Activity } from './scheduling/activity.js';

/** A `--target` that cannot be used: unreachable, or not serving proto/loadtest.proto. */
export class TargetError extends Error {
  readonly code: string;
  constructor(code: string, message: string) {
    super(message);
    this.name = 'TargetError';
    this.code = code;
  }
}

/**
 * Servers already running elsewhere (any process or language) that implement proto/loadtest.proto.
 * Their ledger is read over gRPC through one observer connection per server, which the server
 * counts too: it is subtracted. They cannot be stopped, killed or restarted, and must report
 * SERVING; they should serve only this run, since other clients' connections would count.
 */
export class TargetBackend implements Backend, Network, Nemesis, Observer {
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
  readonly controllable = false;
  readonly addresses: string[];
  readonly #observers: LoadTestClient[];

  private constructor(addresses: string[], observers: LoadTestClient[]) {
    this.addresses = addresses;
    this.#observers = observers;
  }

  /** Connects an observer to each target and checks it answers GetLedger; throws `TargetError`. */
  static async connect(targets: readonly string[]): Promise<TargetBackend> {
    const Client = loadTestClientClass(grpc);
    const addresses = targets.map((t) => {
      try {
        return normaliseAddress(t);
      } catch (error) {
        throw new TargetError('ERR_TARGET_ADDRESS', (error as Error).message);
      }
    });
    const observers = addresses.map(
      (a) => new Client(a, grpc.credentials.createInsecure(), { 'grpc.use_local_subchannel_pool': 1 }),
    );
    const backend = new TargetBackend(addresses, observers);
    const probes = await Promise.allSettled(addresses.map((_, i) => backend.#ledger(i, '\u0000', 3_000)));
    const failed = probes.findIndex((p) => p.status === 'rejected');
    if (failed >= 0) {
      backend.close();
      const e = (probes[failed] as PromiseRejectedResult).reason as grpc.ServiceError;
      const which = addresses[failed];
      if (e.code === grpc.status.UNIMPLEMENTED) {
        throw new TargetError(
          'ERR_TARGET_PROTOCOL',
          `target ${which} does not implement loadtest.v1.LoadTest (see proto/loadtest.proto)`,
        );
      }
      throw new TargetError('ERR_TARGET_UNREACHABLE', `target ${which} is unreachable: ${e.details ?? e.message}`);
    }
    return backend;
  }

  connector(scheduler: Scheduler, history: History, activity?: Activity, Grpc?: typeof GrpcConnector) {
    return this.#channels.liveConnector(scheduler, history, activity, Grpc);
  }

  waitForReconnect(i: number): Promise<void> {
    return this.#channels.changed(this.addresses[i] ?? '');
  }

  async settleOpenConnections(i: number, atMost: number, timeoutMs: number): Promise<number> {
    // A remote server cannot notify us: ask again every 25 ms until it holds few enough or time is up.
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const open = (await this.#ledger(i, '\u0000', 2_000)).openConnections - 1;
      if (open <= atMost || Date.now() >= deadline) return open;
      await new Promise((r) => setTimeout(r, 25));
    }
  }

  async acceptedConnections(i: number): Promise<number> {
    // Less the observer's own connection.
    return (await this.#ledger(i, '\u0000', 2_000)).acceptedConnections - 1;
  }

  async timesSeen(i: number, requestId: string): Promise<number> {
    const ledger = await this.#ledger(i, requestId, 2_000);
    return ledger.entries.find((e) => e.requestId === requestId)?.count ?? 0;
  }

  readonly networkFaults = false;

  async fault(): Promise<void> {
    throw new TargetError('ERR_TARGET_CONTROL', 'network faults against --target servers are not available');
  }

  async heal(): Promise<void> {
    throw new TargetError('ERR_TARGET_CONTROL', 'network faults against --target servers are not available');
  }

  async stop(): Promise<void> {
    throw new TargetError('ERR_TARGET_CONTROL', 'a --target server cannot be stopped by the properties');
  }

  async kill(): Promise<void> {
    throw new TargetError('ERR_TARGET_CONTROL', 'a --target server cannot be killed by the properties');
  }

  async restart(): Promise<void> {
    throw new TargetError('ERR_TARGET_CONTROL', 'a --target server cannot be restarted by the properties');
  }

  setServing(): void {
    throw new TargetError('ERR_TARGET_CONTROL', 'a --target server health cannot be set by the properties');
  }

  async dispose(): Promise<void> {
    // The observers live as long as the whole property check, closed by `close()`.
  }

  /** Closes the observer connections (at the end of the whole check). */
  close(): void {
    for (const o of this.#observers) o.close();
  }

  #ledger(i: number, idPrefix: string, deadlineMs: number): Promise<LedgerResponseMessage> {
    const observer = this.#observers[i];
    if (!observer) return Promise.reject(new RangeError(`no target ${i}`));
    return new Promise((resolve, reject) =>
      observer.GetLedger({ idPrefix }, new grpc.Metadata(), { deadline: Date.now() + deadlineMs }, (error, response) =>
        error || !response ? reject(error ?? new Error('empty ledger')) : resolve(response),
      ),
    );
  }
}
