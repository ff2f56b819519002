/**
 * Broken variants for the credentials, spelling and option-set dimensions of keys-isolate, in the
 * catalogue's shape; the catalogue (properties/variants/index.ts) includes them. Each is one
 * realistic bug typed into src/; `keys-property.test.ts` shows keys-isolate catching each where it can.
 */
// biome-ignore-all lint/suspicious/noTemplateCurlyInString: patches hold the source text of template literals
import type { BrokenVariant } from '../variants/index.js';

const KEY = 'pool/pool-key.ts';
const CONNECTOR = 'pool/grpc-connector.ts';

export const KEYS_VARIANTS: readonly BrokenVariant[] = [
  {
    name: 'keys-ignore-credentials',
    bugClass: 'keys and isolation',
    description:
      "credentials are left out of the pool key, so a TLS or mTLS caller may be handed a connection made with another caller's credentials",
    patches: [
      {
        file: KEY,
        find: '    id: `${normalised}|${credentialsId}|${JSON.stringify(channelOptions)}`,',
        replace: '    id: `${normalised}|${JSON.stringify(channelOptions)}`,',
      },
    ],
    shortest: {
      commands: 2,
      why: 'two calls to one TLS server with one address and options, as two identities (keys-isolate)',
    },
  },
  {
    name: 'keys-credentials-by-class',
    bugClass: 'keys and isolation',
    description:
      'the credentials registry compares credentials by class instead of grpc-js _equals, so every TLS credentials (alice, bob, anonymous) is one key',
    patches: [
      {
        file: KEY,
        find: 'const found = this.#known.find((k) => k.credentials._equals(credentials));',
        replace: 'const found = this.#known.find((k) => k.credentials.constructor === credentials.constructor);',
      },
    ],
    shortest: { commands: 2, why: 'two calls to one TLS server with two TLS credentials objects (keys-isolate)' },
  },
  {
    name: 'keys-insecure-objects-apart',
    bugClass: 'keys and isolation',
    description:
      'the credentials registry numbers insecure credentials objects like secure ones, so passing createInsecure() and passing none are two keys and two connections',
    patches: [{ file: KEY, find: "    if (!credentials._isSecure()) return 'insecure';\n", replace: '' }],
    shortest: {
      commands: 2,
      why: 'two calls to one plaintext server, one with no credentials and one with a createInsecure() object (keys-isolate)',
    },
  },
  {
    name: 'keys-host-case-sensitive',
    bugClass: 'keys and isolation',
    description:
      'the key keeps the host as written, so LOCALHOST:P and localhost:P (or [::FFFF:a.b.c.d] and [::ffff:a.b.c.d]) are two keys and two connections',
    patches: [
      { file: KEY, find: '`[${v6.toLowerCase()}]:${port}`', replace: '`[${v6}]:${port}`' },
      { file: KEY, find: "`${(host ?? '').toLowerCase()}:${port}`", replace: "`${host ?? ''}:${port}`" },
    ],
    shortest: { commands: 2, why: 'two calls to one server through one address in two cases (keys-isolate)' },
  },
  {
    name: 'keys-host-without-port',
    bugClass: 'keys and isolation',
    description:
      "the key is built from the host alone, so two servers on one host (ports apart) share the first one's connection",
    patches: [
      {
        file: KEY,
        find: '    id: `${normalised}|${credentialsId}|${JSON.stringify(channelOptions)}`,',
        replace:
          "    id: `${normalised.slice(0, normalised.lastIndexOf(':'))}|${credentialsId}|${JSON.stringify(channelOptions)}`,",
      },
    ],
    shortest: {
      commands: 1,
      why: "one get of one of two servers on one host: the pool then holds the other's key too (pool-matches-model reads has() for every address after each step)",
    },
  },
  {
    name: 'keys-options-order',
    bugClass: 'keys and isolation',
    description:
      'channel options go into the key in the order the caller wrote them, so one option set written in two orders is two keys and two connections',
    patches: [
      {
        file: KEY,
        find: 'for (const name of Object.keys(options).sort()) {',
        replace: 'for (const name of Object.keys(options)) {',
      },
    ],
    shortest: { commands: 2, why: 'two calls to one server with one option set in two orders (keys-isolate)' },
  },
  {
    name: 'keys-option-values-as-strings',
    bugClass: 'keys and isolation',
    description:
      'option values are made strings when keys are built (so 4 and "4" key alike), and the connection gets the strings instead of the numbers the caller gave',
    patches: [{ file: KEY, find: '      out[name] = value;', replace: '      out[name] = String(value);' }],
    shortest: { commands: 1, why: 'one call with a numeric channel option (keys-isolate, at the seam)' },
    blindSpot: {
      layer: 'live',
      why: 'grpc-js reads a numeric option given as a string as the number (JavaScript coerces it), and a server sees nothing of it',
    },
  },
  {
    name: 'connector-defaults-over-caller-options',
    bugClass: 'keys and isolation',
    description:
      "the connector spreads the key's channel options before its own defaults, so a default (here the primary user agent) overrides what the caller asked for",
    patches: [
      {
        file: CONNECTOR,
        find: '      ...this.#defaults,\n      ...target.channelOptions,\n',
        replace: '      ...target.channelOptions,\n      ...this.#defaults,\n',
      },
    ],
    shortest: { commands: 1, why: 'one call whose options set a primary user agent (keys-isolate, seen at the server)' },
    blindSpot: {
      layer: 'simulated',
      why: 'the simulated layer replaces the grpc-js connector with its own network, so a bug inside GrpcConnector cannot show there',
    },
  },
];
