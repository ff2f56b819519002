/**
 * Credentials of keys-isolate: who a call connects as. Four identities a server can tell apart
 * (plaintext, anonymous TLS, and TLS with the test client certificates of alice and bob), and,
 * within an identity, the credentials objects a call may pass.
 */
import type { ChannelCredentials } from '@grpc/grpc-js';
import { grpcJs } from '../../src/pool/grpc-js-release.js';
import { type TestClientName, testClientIdentity, testServerRootCert } from '../../src/server/test-server.js';

/** Who a connection's client is, as a server sees it (and as a call's request id says it means to be). */
export type Identity = 'insecure' | 'tls:anon' | 'tls:alice' | 'tls:bob';
export const IDENTITIES: readonly Identity[] = ['insecure', 'tls:anon', 'tls:alice', 'tls:bob'];

/**
 * How a server of a keys run speaks: plaintext, or TLS that asks for a client certificate and
 * admits clients without one (TestServer `tls: 'mtls-optional'`), so that anonymous, alice's and
 * bob's connections meet on one server. (A server that requires a certificate, `'mtls'`, would keep
 * anonymous clients away, and with them the case where an anonymous connection is shared.)
 */
export type ServerKind = 'insecure' | 'tls';
export const SERVER_KINDS: readonly ServerKind[] = ['insecure', 'tls'];

/** The identities that can call a server of each kind (plaintext clients cannot speak to a TLS server, nor TLS clients to a plaintext one). */
export function identitiesFor(kind: ServerKind): readonly Identity[] {
  return kind === 'insecure' ? ['insecure'] : ['tls:anon', 'tls:alice', 'tls:bob'];
}

/**
 * A call's credentials: an identity and which credentials object of it. Insecure: 0 passes none
 * (the pool's default), 1 and 2 each a `createInsecure()` object, all one key (grpc-js's `_equals`:
 * every insecure credentials is the same). TLS: 1 and 2 are two `createSsl()` objects made from the
 * same files, two keys (grpc-js's `_equals` compares their secure contexts by identity, so it keeps
 * their channels apart, and so do pool keys).
 */
export interface CredentialsChoice {
  readonly identity: Identity;
  readonly instance: 0 | 1 | 2;
}

/** The instances a call of `identity` chooses from. */
export function instancesOf(identity: Identity): readonly (0 | 1 | 2)[] {
  return identity === 'insecure' ? [0, 1, 2] : [1, 2];
}

/** The property's rule for credentials in a key: every insecure one is one; each TLS object its own. */
export function credentialsKey(c: CredentialsChoice): string {
  return c.identity === 'insecure' ? 'insecure' : `${c.identity}#${c.instance}`;
}

export function describeCredentials(c: CredentialsChoice): string {
  return c.identity === 'insecure' && c.instance === 0 ? 'insecure' : `${c.identity}#${c.instance}`;
}

/** Reads `describeCredentials` back (undefined when it is not one). */
export function parseCredentials(text: string): CredentialsChoice | undefined {
  const m = /^(insecure|tls:anon|tls:alice|tls:bob)(?:#([012]))?$/.exec(text);
  if (!m) return undefined;
  const identity = m[1] as Identity;
  const instance = Number(m[2] ?? 0) as 0 | 1 | 2;
  return instancesOf(identity).includes(instance) ? { identity, instance } : undefined;
}

/** Credentials objects by choice, made once per process (a pool's registry is per run: sharing them across runs is sound). */
const made = new Map<string, ChannelCredentials>();
const identityOfObject = new WeakMap<object, Identity>();

/** The credentials object a call passes for `c` (undefined: none, the pool's insecure default). */
export function credentialsFor(c: CredentialsChoice): ChannelCredentials | undefined {
  if (c.identity === 'insecure' && c.instance === 0) return undefined;
  const name = `${c.identity}#${c.instance}`;
  let creds = made.get(name);
  if (!creds) {
    const { credentials } = grpcJs();
    if (c.identity === 'insecure') creds = credentials.createInsecure();
    else {
      const who = c.identity === 'tls:anon' ? undefined : testClientIdentity(c.identity.slice(4) as TestClientName);
      creds = credentials.createSsl(testServerRootCert(), who?.privateKey ?? null, who?.certChain ?? null);
    }
    made.set(name, creds);
    identityOfObject.set(creds, c.identity);
  }
  return creds;
}

/** The identity a credentials object was made for (at the connector seam); undefined is insecure. */
export function identityOf(credentials: ChannelCredentials | undefined): Identity | 'unknown' {
  if (credentials === undefined) return 'insecure';
  return identityOfObject.get(credentials) ?? 'unknown';
}

/** What a server's record of a request says about its client. */
export function identityServed(transport: 'insecure' | 'tls', clientCertificate: string | null): Identity | string {
  if (transport === 'insecure') return 'insecure';
  return clientCertificate === null ? 'tls:anon' : `tls:${clientCertificate}`;
}

/**
 * TLS calls check the test servers' certificate against the name it was issued to: the servers
 * listen on random 127.0.0.0/8 addresses no certificate can name. Every TLS call carries it, so it
 * changes no key's equality.
 */
export const TLS_NAME_OPTION = { 'grpc.ssl_target_name_override': 'localhost' } as const;
