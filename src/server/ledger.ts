import { EventEmitter } from 'node:events';
import { LedgerWaitTimeoutError } from './errors.js';

/** A read-only copy of the ledger, taken at one instant. */
export interface LedgerSnapshot {
  /** Transport connections accepted since the server was created (across restarts). */
  readonly acceptedConnections: number;
  /** Transport connections open right now, as the server's sockets see them. */
  readonly openConnections: number;
  /** Requests received (every arrival counts, duplicates included). */
  readonly totalRequests: number;
}

/** One request as the server served it: on which connection, for which client (`recordServed`). */
export interface ServedRecord {
  readonly requestId: string;
  /** The connection, as the peer's `address:port` (grpc-js `call.getPeer()`): one per open connection. */
  readonly peer: string;
  /** Plaintext or TLS, as the server speaks. */
  readonly transport: 'insecure' | 'tls';
  /**
   * The subject CN of the client certificate TLS verified against the test CA (grpc-js
   * `call.getAuthContext().sslPeerCertificate`); null for a client without one (anonymous TLS) or
   * over plaintext.
   */
  readonly clientCertificate: string | null;
  /** The request's `user-agent` header (grpc-js: `grpc.primary_user_agent grpc-node-js/V grpc.secondary_user_agent`). */
  readonly userAgent: string;
}

/**
 * What a test server has seen, observed on the server side: every request id it received (with
 * how many times) and the transport connections it accepted and still holds open. Nothing here
 * comes from a client, so a client that miscounts cannot make this ledger agree with it.
 */
export class Ledger {
  readonly #seen = new Map<string, number>();
  readonly #served: ServedRecord[] = [];
  #accepted = 0;
  #open = 0;
  #totalRequests = 0;
  readonly #events = new EventEmitter();

  /** Records one arrival of `requestId`; returns how often the id has now been seen. */
  recordRequest(requestId: string): number {
    const count = (this.#seen.get(requestId) ?? 0) + 1;
    this.#seen.set(requestId, count);
    this.#totalRequests += 1;
    this.#events.emit('change');
    return count;
  }

  /** Records how a request was served (the server's `recordServed` option). */
  recordServed(record: ServedRecord): void {
    this.#served.push(record);
  }

  /** Every served record whose request id starts with `prefix`, in arrival order (empty unless the server records them). */
  served(prefix = ''): ServedRecord[] {
    return this.#served.filter((r) => r.requestId.startsWith(prefix));
  }

  connectionOpened(): void {
    this.#accepted += 1;
    this.#open += 1;
    this.#events.emit('change');
  }

  connectionClosed(): void {
    this.#open -= 1;
    this.#events.emit('change');
  }

  /** How many times the server received `requestId` (0 if never). */
  timesSeen(requestId: string): number {
    return this.#seen.get(requestId) ?? 0;
  }

  /** Every id that starts with `prefix`, with its count, in arrival order of first sight. */
  entries(prefix = ''): Array<{ requestId: string; count: number }> {
    const out: Array<{ requestId: string; count: number }> = [];
    for (const [requestId, count] of this.#seen) {
      if (requestId.startsWith(prefix)) out.push({ requestId, count });
    }
    return out;
  }

  snapshot(): LedgerSnapshot {
    return {
      acceptedConnections: this.#accepted,
      openConnections: this.#open,
      totalRequests: this.#totalRequests,
    };
  }

  /**
   * Resolves as soon as `predicate` holds for the ledger (checked now and on every change); rejects
   * with `LedgerWaitTimeoutError` after `timeoutMs`. Event-driven: it never polls or sleeps.
   */
  waitUntil(predicate: (s: LedgerSnapshot) => boolean, timeoutMs: number, what: string): Promise<void> {
    if (predicate(this.snapshot())) return Promise.resolve();
    return new Promise((resolve, reject) => {
      const onChange = (): void => {
        if (!predicate(this.snapshot())) return;
        clearTimeout(timer);
        this.#events.off('change', onChange);
        resolve();
      };
      const timer = setTimeout(() => {
        this.#events.off('change', onChange);
        const s = this.snapshot();
        reject(
          new LedgerWaitTimeoutError(
            `server ledger did not reach "${what}" within ${timeoutMs} ms (open=${s.openConnections}, accepted=${s.acceptedConnections})`,
          ),
        );
      }, timeoutMs);
      this.#events.on('change', onChange);
    });
  }
}
