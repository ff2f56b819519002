import fc from 'fast-check';
import { History } from '../src/harness/history.js';
import { GrpcConnector } from '../src/pool/grpc-connector.js';
import type { ChannelOptionValues } from '../src/pool/pool-key.js';
import { newRunMetrics } from './adapter/adapter.js';
import { CALL_DEADLINE_MS } from './backend.js';
import { firstErrorWins, type PropertyConstraints, type PropertyResult } from './check-runner.js';
import { CLOSE_SETTLE_MS } from './invariants.js';
import { canonicalAddress } from './keys/addresses.js';
import { caseEnvironment, countCase, describeCase, type KeysCase, keysCases, parseKeysCase } from './keys/case.js';
import { checkServed, type PlannedCall } from './keys/check.js';
import { credentialsFor, credentialsKey, describeCredentials, TLS_NAME_OPTION } from './keys/credentials.js';
import { CONNECTOR_DEFAULT_USER_AGENT, optionsKey } from './keys/options.js';
import { type KeysServers, LiveKeysServers, SimulatedKeysServers } from './keys/servers.js';
import { ModelDisagreement, setUp } from './outcomes.js';
import { checkProperty, type PropertySpec } from './property-skeleton.js';

export const KEYS_PROPERTY = 'keys-isolate';

/** What keys-isolate generates beyond the constraints every property takes. */
export interface KeysOptions {
  /**
   * Also generate the spellings of known findings (`FINDINGS` in properties/keys/addresses.ts:
   * `true` for all, or their names), where this pool's keys differ from the property's rule: the
   * property then fails until the pool changes. Default false.
   */
  readonly findings?: boolean | readonly string[];
}

/**
 * The connector class the live layer builds the seam from, with one more default channel option: a
 * primary user agent. A key that sets its own must reach the server with it (the caller's options
 * win over the connector's defaults); a key that sets none, with this one.
 */
function withDefaultUserAgent(Base: typeof GrpcConnector): typeof GrpcConnector {
  return class extends Base {
    constructor(defaults: ChannelOptionValues = {}, options: { handshakeTimeoutMs?: number } = {}) {
      super({ ...defaults, 'grpc.primary_user_agent': CONNECTOR_DEFAULT_USER_AGENT }, options);
    }
  };
}

/**
 * Keys and isolation: concurrent calls over a few servers, each with a key (address, credentials,
 * channel options) written in one of its spellings, in an order the scheduler picks. Servers speak
 * plaintext or TLS (anonymous clients and the test certificates of alice and bob on one server) and
 * listen on a random address or on localhost. Afterwards, as each server saw it (live) or as the
 * connector seam saw it (simulated): every request went over a connection of the identity its id
 * names; per server and identity, one connection per distinct key, by the property's own rule
 * (equal keys share it, different keys never do); the caller's options won over the connector's
 * defaults; each server holds one open connection per distinct key, and none after close.
 */
function keysSpec(o: KeysOptions): PropertySpec<KeysCase> {
  return {
    name: KEYS_PROPERTY,
    // One open connection per distinct key, counted on the server: the one-per-key contract.
    needs: { preciseModel: true, features: ['keyOptions', 'seam'] },
    defaults: { runs: 100, maxCommands: 12, addresses: 2 },
    supportsTarget: false,
    cases: ({ constraints: c, addresses, maxCommands }) =>
      c.steps
        ? fc.constant(parseKeysCase(c.steps, addresses))
        : keysCases(addresses, maxCommands, caseEnvironment(o.findings ?? false)),
    // A call (with the get of its key) is this property's command.
    size: (k) => k.calls.length,
    counts: countCase,
    describe: describeCase,
    async run({ backend, scheduler: s, adapter, runId, layer }, k) {
      const servers: KeysServers =
        layer === 'live'
          ? await setUp(`start ${k.servers.length} keys test server(s)`, () => LiveKeysServers.start(k.servers))
          : new SimulatedKeysServers(backend, k.servers);
      const prefix = `keys-${runId}-`;
      const planned: Array<PlannedCall & { credentials: ReturnType<typeof credentialsFor> }> = [];
      const scheduled = backend.network.connector(
        s,
        new History(),
        undefined,
        withDefaultUserAgent(adapter.liveConnector ?? GrpcConnector),
      );
      const pool = adapter.create({
        connector: servers.connector(scheduled),
        name: 'keys',
        deadlineMs: CALL_DEADLINE_MS,
        metrics: newRunMetrics(adapter),
      });
      await firstErrorWins(
        async () => {
          for (const [n, call] of k.calls.entries()) {
            const spelled = await setUp(`spell an address of server ${call.server}`, () =>
              servers.spell(call.server, call.spelling),
            );
            const built = call.options.build();
            const tls = call.credentials.identity !== 'insecure';
            const options = tls ? { ...built, ...TLS_NAME_OPTION } : built;
            planned.push({
              requestId: `${prefix}${n}-${call.credentials.identity}`,
              server: call.server,
              key: `${canonicalAddress(spelled)}|${credentialsKey(call.credentials)}|${optionsKey(options)}`,
              spelled,
              describe: `${spelled} as ${describeCredentials(call.credentials)} with ${call.options.optionsClass}/${call.options.form}`,
              options,
              credentials: credentialsFor(call.credentials),
            });
          }
          await s.waitFor(
            Promise.all(
              planned.map((p) =>
                // A call the pool refuses at once (a throw, not a rejection) must not leave the others unawaited.
                promised(() =>
                  pool.call(
                    p.spelled,
                    { requestId: p.requestId },
                    {
                      ...(p.credentials ? { credentials: p.credentials } : {}),
                      ...(p.options ? { channelOptions: p.options } : {}),
                    },
                  ),
                ),
              ),
            ),
          );
          checkServed(
            planned,
            k.servers.map((_, i) => servers.served(i, prefix)),
            servers.where,
          );
          const distinct = new Set(planned.map((p) => p.key));
          for (const [i] of k.servers.entries()) {
            const expected = new Set(planned.filter((p) => p.server === i).map((p) => p.key)).size;
            const open = await servers.settleOpen(i, expected, CLOSE_SETTLE_MS);
            if (open !== expected) {
              throw new ModelDisagreement(
                `server ${i} holds ${open} open connections; ${expected} distinct key(s) were used on it (one connection each)`,
              );
            }
          }
          const stats = pool.stats?.();
          if (stats && stats.liveKeys !== distinct.size)
            throw new ModelDisagreement(`pool holds ${stats.liveKeys} keys for ${distinct.size} distinct keys`);
          if (stats && (stats.created !== distinct.size || stats.reused !== planned.length - distinct.size)) {
            throw new ModelDisagreement(
              `stats created ${stats.created}, reused ${stats.reused}; expected ${distinct.size}, ${planned.length - distinct.size}`,
            );
          }
          await s.waitFor(pool.close());
          for (const [i] of k.servers.entries()) {
            const open = await servers.settleOpen(i, 0, CLOSE_SETTLE_MS);
            if (open !== 0) throw new ModelDisagreement(`after close, server ${i} still holds ${open} open connections`);
          }
        },
        async () => {
          await s.waitFor(pool.close());
          await servers.dispose();
          await backend.dispose();
        },
      );
    },
  };
}

/** `f()`'s promise, or a rejected one where `f` throws. */
function promised<T>(f: () => Promise<T>): Promise<T> {
  try {
    return f();
  } catch (error) {
    return Promise.reject(error);
  }
}

export function checkKeysProperty(c: PropertyConstraints = {}, o: KeysOptions = {}): Promise<PropertyResult> {
  return checkProperty(keysSpec(o), c);
}
