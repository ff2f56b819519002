/**
 * Channel options of keys-isolate: option sets written in several ways that are one key, sets
 * that differ, and the user agent a server sees, which shows whose options won: the caller's key
 * options must win over the connector's defaults.
 */
import type { ChannelOptionValues } from '../../src/pool/pool-key.js';

const UA = 'grpc.primary_user_agent';
const UA2 = 'grpc.secondary_user_agent';
const MAX_RECEIVE = 'grpc.max_receive_message_length';

/**
 * The primary user agent the keys property gives the connector as a default channel option. A
 * key that sets its own must be seen by the server with that one; a key that sets none, with this.
 */
export const CONNECTOR_DEFAULT_USER_AGENT = 'keys-connector-default';

/** One way of writing an option set: its class (one key) and the form. */
export interface OptionsForm {
  readonly optionsClass: string;
  readonly form: string;
  /** The options as the call passes them (undefined: none given). */
  build(): ChannelOptionValues | undefined;
}

export const OPTIONS_FORMS: readonly OptionsForm[] = [
  // No options, given as nothing or as an empty set: one key.
  { optionsClass: 'none', form: 'omitted', build: () => undefined },
  { optionsClass: 'none', form: 'empty', build: () => ({}) },
  { optionsClass: 'ua-a', form: 'plain', build: () => ({ [UA]: 'keys-a' }) },
  { optionsClass: 'ua-b', form: 'plain', build: () => ({ [UA]: 'keys-b' }) },
  // The same names and values in another order: one key.
  { optionsClass: 'ua-a+x', form: 'ordered', build: () => ({ [UA]: 'keys-a', [UA2]: 'keys-x' }) },
  { optionsClass: 'ua-a+x', form: 'reordered', build: () => ({ [UA2]: 'keys-x', [UA]: 'keys-a' }) },
  // A secondary agent alone: the primary is the connector's default.
  { optionsClass: 'x', form: 'plain', build: () => ({ [UA2]: 'keys-x' }) },
  // A number among strings, in both orders.
  { optionsClass: 'ua-b+max', form: 'ordered', build: () => ({ [UA]: 'keys-b', [MAX_RECEIVE]: 8_388_608 }) },
  { optionsClass: 'ua-b+max', form: 'reordered', build: () => ({ [MAX_RECEIVE]: 8_388_608, [UA]: 'keys-b' }) },
];

export const OPTIONS_CLASSES: readonly string[] = [...new Set(OPTIONS_FORMS.map((f) => f.optionsClass))];

export function formsOfOptions(optionsClass: string): OptionsForm[] {
  return OPTIONS_FORMS.filter((f) => f.optionsClass === optionsClass);
}

export function optionsForm(optionsClass: string, form: string): OptionsForm | undefined {
  return OPTIONS_FORMS.find((f) => f.optionsClass === optionsClass && f.form === form);
}

/**
 * The property's rule for options in a key: the set of (name, value) pairs, order aside; no
 * options and an empty set are the same; a value's type counts (4 and '4' differ: grpc-js reads
 * them differently).
 */
export function optionsKey(options: ChannelOptionValues | undefined): string {
  const entries = Object.entries(options ?? {}).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
  return JSON.stringify(entries.map(([name, value]) => [name, typeof value, value]));
}

/**
 * What a server must see in a request's user-agent for options `options`: the key's primary agent,
 * or the connector's default where the key sets none; the key's secondary agent last.
 */
export function expectedUserAgent(options: ChannelOptionValues | undefined): { primary: string; secondary?: string } {
  const primary = options?.[UA];
  const secondary = options?.[UA2];
  return {
    primary: typeof primary === 'string' ? primary : CONNECTOR_DEFAULT_USER_AGENT,
    ...(typeof secondary === 'string' ? { secondary } : {}),
  };
}

/** Whether a user-agent header (`primary grpc-node-js/V secondary`) has the expected agents. */
export function userAgentMatches(userAgent: string, expected: { primary: string; secondary?: string }): boolean {
  const tokens = userAgent.split(' ');
  const last = tokens.at(-1) ?? '';
  return tokens[0] === expected.primary && (expected.secondary ? last === expected.secondary : last.startsWith('grpc-node-js/'));
}
