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

/**
 * What a test server has seen, observed on the server side: every request id it received (with
 * how many times) and the transport connections it accepted and still holds open. Nothing here
 * comes from a client, so a client that miscounts cannot make this ledger agree with it.
 */
export class Ledger {
  readonly #seen = new Map<string, number>();
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
