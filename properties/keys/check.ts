/**
 * The checks of keys-isolate over what was observed (at the servers, or at the seam): every
 * request served once, by its own server, on a connection of the identity it meant to use; per
 * server and identity, one connection per distinct key (equal keys share it, different keys never
 * do); the caller's options over the connector's defaults.
 */
import type { ChannelOptionValues } from '../../src/pool/pool-key.js';
import { ModelDisagreement } from '../outcomes.js';
import type { Identity } from './credentials.js';
import { expectedUserAgent, optionsKey, userAgentMatches } from './options.js';
import type { Served } from './servers.js';

/** A call as made: its request id (ending in `-IDENTITY`), its server, and its key by the property's rule. */
export interface PlannedCall {
  readonly requestId: string;
  readonly server: number;
  readonly key: string;
  /** The address as written, its credentials and options as described, for messages. */
  readonly spelled: string;
  readonly describe: string;
  /** The channel options the call passed (with the TLS name, where it has one). */
  readonly options: ChannelOptionValues | undefined;
}

/** The identity a request id says its call means to connect as (the id's last `-` part). */
export function intendedIdentity(requestId: string): Identity {
  return requestId.slice(requestId.lastIndexOf('-') + 1) as Identity;
}

/**
 * Checks the served records against the planned calls; throws `ModelDisagreement` at the first
 * difference. `served[i]` is what server `i` served (or the seam saw going to it).
 */
export function checkServed(
  planned: readonly PlannedCall[],
  served: readonly (readonly Served[])[],
  where: 'server' | 'seam',
): void {
  const seen = where === 'server' ? 'the server saw' : 'at the connector seam';
  const byId = new Map<string, Array<{ at: number; record: Served }>>();
  for (const [at, records] of served.entries()) {
    for (const record of records) byId.set(record.requestId, [...(byId.get(record.requestId) ?? []), { at, record }]);
  }
  const record = new Map<string, Served>();
  // Served once, by the server the call named.
  for (const p of planned) {
    const found = byId.get(p.requestId) ?? [];
    if (found.length !== 1 || found[0]?.at !== p.server) {
      const by = found.length === 0 ? 'no server' : `server(s) ${found.map((f) => f.at).join(', ')}`;
      throw new ModelDisagreement(
        `request ${p.requestId} (${p.describe}) was served by ${by}; it names server ${p.server}, once`,
      );
    }
    record.set(p.requestId, found[0].record);
  }
  // A request tagged with identity X went over a connection whose client is X.
  for (const p of planned) {
    const r = record.get(p.requestId) as Served;
    const meant = intendedIdentity(p.requestId);
    if (r.identity !== meant) {
      throw new ModelDisagreement(
        `request ${p.requestId} (${p.describe}) meant for ${meant} went over connection ${r.connection} of server ${p.server}, ` +
          `whose client ${seen} is ${r.identity}: a connection made with other credentials was shared`,
      );
    }
  }
  // Per server and identity: one connection per distinct key, and no connection for two keys.
  for (const server of new Set(planned.map((p) => p.server))) {
    const here = planned.filter((p) => p.server === server);
    for (const identity of new Set(here.map((p) => intendedIdentity(p.requestId)))) {
      const calls = here.filter((p) => intendedIdentity(p.requestId) === identity);
      const keys = new Map<string, PlannedCall[]>();
      for (const p of calls) keys.set(p.key, [...(keys.get(p.key) ?? []), p]);
      const connectionsOf = (ps: readonly PlannedCall[]) => [...new Set(ps.map((p) => record.get(p.requestId)?.connection))];
      const connections = connectionsOf(calls);
      const splitKey = [...keys.values()].find((ps) => connectionsOf(ps).length > 1);
      const shared = connections
        .map((c) => [...keys.values()].filter((ps) => ps.some((p) => record.get(p.requestId)?.connection === c)))
        .find((owners) => owners.length > 1);
      if (connections.length === keys.size && !splitKey && !shared) continue;
      const spelledList = (ps: readonly PlannedCall[]) => [...new Set(ps.map((p) => p.describe))].join('; ');
      const detail = splitKey
        ? `one key went over ${connectionsOf(splitKey).length} connections (${connectionsOf(splitKey).join(', ')}): ` +
          `${spelledList(splitKey)}; equal keys must share one connection`
        : `different keys shared a connection: ${(shared ?? []).map((ps) => `[${spelledList(ps)}]`).join(' and ')}; ` +
          'different keys must never share one';
      throw new ModelDisagreement(
        `server ${server}, ${identity}: ${connections.length} connection(s) ${seen} for ${keys.size} distinct key(s); ${detail}`,
      );
    }
  }
  // The caller's options reach the connection: over the connector's defaults (live: the user agent
  // the server received), and as given (seam: the options the connection was opened with).
  for (const p of planned) {
    const r = record.get(p.requestId) as Served;
    if (where === 'server') {
      const expected = expectedUserAgent(p.options);
      if (!userAgentMatches(r.userAgent ?? '', expected)) {
        throw new ModelDisagreement(
          `request ${p.requestId} (${p.describe}) arrived with user-agent "${r.userAgent}", not ${JSON.stringify(expected)}: ` +
            `the caller's channel options must win over the connector's defaults`,
        );
      }
    } else if (optionsKey(r.channelOptions) !== optionsKey(p.options)) {
      throw new ModelDisagreement(
        `request ${p.requestId} (${p.describe}) went over a connection opened with options ${JSON.stringify(r.channelOptions)}, ` +
          `not the key's ${JSON.stringify(p.options ?? {})}`,
      );
    }
  }
}
