import type { ChannelCredentials } from '@grpc/grpc-js';
import { InvalidAddressError, InvalidOptionsError } from './errors.js';

/** Channel options as grpc-js takes them, keyed by their wire names (`grpc.keepalive_time_ms`). */
export type ChannelOptionValues = Readonly<Record<string, string | number>>;

/** What, besides the address, tells two pool keys apart. */
export interface KeyOptions {
  /** Default: insecure credentials (all insecure credentials are one identity). */
  readonly credentials?: ChannelCredentials;
  /** Default: none. Keys with different options never share a connection. */
  readonly channelOptions?: ChannelOptionValues;
}

/** A resolved key: the normalised address and what identifies its credentials and options. */
export interface PoolKey {
  /** The whole key as one string; equal strings mean one connection. */
  readonly id: string;
  /** Normalised `host:port`. */
  readonly address: string;
  readonly credentialsId: string;
  /** The credentials object the connection is made with (undefined: insecure). */
  readonly credentials: ChannelCredentials | undefined;
  readonly channelOptions: ChannelOptionValues;
}

const HOST_PORT = /^(?:\[([0-9a-fA-F:.]+)\]|([A-Za-z0-9.-]+)):(\d{1,5})$/;

/** Lower-cases the host and strips leading zeros from the port; throws `InvalidAddressError`. */
export function normaliseAddress(address: unknown): string {
  if (typeof address !== 'string' || address.trim() === '') {
    throw new InvalidAddressError(address, 'it must be a non-empty string');
  }
  const match = HOST_PORT.exec(address.trim());
  if (!match) throw new InvalidAddressError(address, 'it is not host:port');
  const [, v6, host, portText] = match;
  const port = Number(portText);
  if (port < 1 || port > 65_535) throw new InvalidAddressError(address, `port ${portText} is outside 1..65535`);
  return v6 !== undefined ? `[${v6.toLowerCase()}]:${port}` : `${(host ?? '').toLowerCase()}:${port}`;
}

/**
 * Gives each distinct credentials object an id, treating credentials grpc-js considers equal
 * (`_equals`) as one: every insecure credentials object is one identity, each `createSsl()` is its own.
 */
export class CredentialsRegistry {
  readonly #known: Array<{ credentials: ChannelCredentials; id: string }> = [];

  idOf(credentials: ChannelCredentials | undefined): string {
    if (credentials === undefined) return 'insecure';
    if (typeof credentials !== 'object' || typeof credentials._equals !== 'function') {
      throw new InvalidOptionsError(
        'credentials must be a grpc-js ChannelCredentials object (e.g. credentials.createInsecure())',
      );
    }
    if (!credentials._isSecure()) return 'insecure';
    const found = this.#known.find((k) => k.credentials._equals(credentials));
    if (found) return found.id;
    const id = `creds-${this.#known.length + 1}`;
    this.#known.push({ credentials, id });
    return id;
  }
}

/** Validates and canonicalises channel options: sorted keys, string or finite number values. */
export function canonicalChannelOptions(options: unknown): ChannelOptionValues {
  if (options === undefined) return {};
  if (typeof options !== 'object' || options === null || Array.isArray(options)) {
    throw new InvalidOptionsError(`channelOptions must be an object of name -> string|number; got ${describe(options)}`);
  }
  const out: Record<string, string | number> = {};
  for (const name of Object.keys(options).sort()) {
    const value = (options as Record<string, unknown>)[name];
    if (name.trim() === '') throw new InvalidOptionsError('channelOptions has an empty option name');
    if ((typeof value === 'number' && Number.isFinite(value)) || typeof value === 'string') {
      out[name] = value;
    } else {
      throw new InvalidOptionsError(`channel option ${name} must be a string or a finite number; got ${describe(value)}`);
    }
  }
  return out;
}

/** Builds the key for `address` with `options`; throws a typed error on bad input. */
export function makePoolKey(address: unknown, options: KeyOptions | undefined, registry: CredentialsRegistry): PoolKey {
  if (options !== undefined && (typeof options !== 'object' || options === null)) {
    throw new InvalidOptionsError(`key options must be an object; got ${describe(options)}`);
  }
  const normalised = normaliseAddress(address);
  const credentialsId = registry.idOf(options?.credentials);
  const channelOptions = canonicalChannelOptions(options?.channelOptions);
  return {
    id: `${normalised}|${credentialsId}|${JSON.stringify(channelOptions)}`,
    address: normalised,
    credentialsId,
    credentials: options?.credentials,
    channelOptions,
  };
}

function describe(value: unknown): string {
  if (value === null) return 'null';
  if (Array.isArray(value)) return 'an array';
  return typeof value === 'object' ? 'an object' : `${typeof value} ${String(value)}`;
}
