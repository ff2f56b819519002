import type { Socket } from 'node:net';
import type * as grpc from '@grpc/grpc-js';
import { HandshakeAbortedError } from './errors.js';

/** What grpc-js 1.13 on asks of a credentials object's secure connector (`SecureConnector`, internal). */
interface SecureConnector {
  connect(socket: Socket): Promise<{ socket: Socket; secure: boolean }>;
}

type CreateSecureConnector = (...args: unknown[]) => SecureConnector;

/**
 * The TCP sockets of one channel's connection attempts while their secure (TLS) handshake runs.
 *
 * From 1.13 on, grpc-js connects TCP, then runs the TLS handshake through the credentials' secure
 * connector, and only then creates the HTTP/2 session. Until then it keeps the socket in local
 * variables no field reaches, and:
 * - closing the channel does not touch it: a handshake that never completes (a black hole) holds
 *   the socket for as long as the process lives, and one that completes after the close is
 *   dropped without closing its socket;
 * - it listens for the TLS socket's 'error' but not its 'close': a handshake whose socket is
 *   closed without an error (reset from this side) never ends, and the subchannel stays
 *   CONNECTING for good.
 *
 * `wrap` hands grpc-js credentials whose secure connector records each socket it is given (for
 * `abort` and the handshake watchdog), ends the handshake with an error when its socket closes, and
 * resets at once every attempt that reaches or finishes its handshake after `abort`. Before 1.13 the
 * handshake runs inside the HTTP/2 session, which the connector reaches already: `wrap` returns
 * the credentials unchanged.
 */
export class HandshakeSockets {
  readonly #handshaking = new Set<Socket>();
  #aborted = false;

  /** Credentials that behave as `credentials` and report their attempts' sockets here. */
  wrap(credentials: grpc.ChannelCredentials): grpc.ChannelCredentials {
    const create = (credentials as unknown as { _createSecureConnector?: CreateSecureConnector })._createSecureConnector;
    if (typeof create !== 'function') return credentials;
    // Everything else (equality, call credentials, compose) is the original's, through the prototype.
    return Object.create(credentials, {
      _createSecureConnector: {
        value: (...args: unknown[]) => this.#track(create.apply(credentials, args)),
      },
    }) as grpc.ChannelCredentials;
  }

  /** Sockets whose handshake is running now (for the handshake watchdog). */
  get pending(): readonly Socket[] {
    return [...this.#handshaking];
  }

  /** Resets every socket still in its handshake, and from now on every attempt that reaches one. */
  abort(): void {
    this.#aborted = true;
    for (const socket of this.#handshaking) resetTcp(socket);
  }

  #track(inner: SecureConnector): SecureConnector {
    // The rest of the connector (waitForReady, getCallCredentials, destroy) is the original's.
    return Object.create(inner, {
      connect: { value: (socket: Socket) => this.#handshake(inner, socket) },
    }) as SecureConnector;
  }

  #handshake(inner: SecureConnector, socket: Socket): ReturnType<SecureConnector['connect']> {
    if (this.#aborted) {
      resetTcp(socket);
      return Promise.reject(new HandshakeAbortedError('the connection was closed before it began'));
    }
    return new Promise((resolve, reject) => {
      const onClose = (): void => {
        this.#handshaking.delete(socket);
        reject(new HandshakeAbortedError('its socket closed'));
      };
      this.#handshaking.add(socket);
      socket.once('close', onClose);
      inner.connect(socket).then(
        (result) => {
          this.#handshaking.delete(socket);
          socket.off('close', onClose);
          if (!this.#aborted) return resolve(result);
          // Finished after the close: grpc-js would drop it without closing its socket.
          resetTcp(socket);
          reject(new HandshakeAbortedError('the connection was closed while it ran'));
        },
        (error: unknown) => {
          this.#handshaking.delete(socket);
          socket.off('close', onClose);
          reject(error);
        },
      );
    });
  }
}

/** Resets a TCP socket (RST: behind a black hole a FIN is swallowed and the peer keeps its side). */
export function resetTcp(socket: Socket): void {
  try {
    socket.resetAndDestroy();
  } catch {
    socket.destroy();
  }
}
