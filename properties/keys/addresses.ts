/**
 * Address spellings of keys-isolate: the same server reached through differently written
 * addresses, and the property's own rule for when two spellings are one key. The rule is written
 * here, from the RFCs, not read from `src/pool/pool-key.ts`: where the pool's notion differs from
 * it, the property says so.
 */
import os from 'node:os';

/**
 * Where a server of a keys run listens: `random`, one random address of 127.0.0.0/8 (the test
 * servers' default); `localhost`, 127.0.0.1 and ::1 (where the machine has it) on one port, so that
 * `localhost` reaches it whichever address a resolver tries first.
 */
export type HostKind = 'random' | 'localhost';
export const HOST_KINDS: readonly HostKind[] = ['random', 'localhost'];

/** The classes of spelling: how the host is named. */
export type SpellingClass = 'ipv4' | 'ipv4-mapped' | 'localhost' | 'ipv6';

/** One way of writing an address of a class; `finding` marks forms the pool is known to key apart (see FINDINGS). */
export interface SpellingForm {
  readonly spellingClass: SpellingClass;
  readonly form: string;
  /** The address as written, given the server's IPv4 address (`127.a.b.c`) and port. */
  spell(ipv4: string, port: number): string;
  /** A form whose keying by the pool differs from the property's rule: generated only when findings are asked for. */
  readonly finding?: string;
}

const PORT_ZERO = (host: string) => (_ipv4: string, port: number) => `${host}:0${port}`;
const PORT_FINDING = 'port-leading-zero';

/**
 * The spelling forms, by class. Only honest ones: each reaches the server it names, and is what a
 * caller might write. Left out: an address without a port (grpc-js would use 443, and no test
 * server listens there; the pool refuses it anyway), octets with leading zeros (`127.0.0.010` is
 * 127.0.0.8 to inet_aton), a trailing dot (`localhost.` goes through the resolver's search rules).
 */
export const SPELLINGS: readonly SpellingForm[] = [
  { spellingClass: 'ipv4', form: 'plain', spell: (v4, port) => `${v4}:${port}` },
  // RFC 3986: a port is a string of digits naming a number; leading zeros do not change it.
  { spellingClass: 'ipv4', form: 'port-zero', spell: (v4, port) => `${v4}:0${port}`, finding: PORT_FINDING },
  { spellingClass: 'ipv4-mapped', form: 'plain', spell: (v4, port) => `[::ffff:${v4}]:${port}` },
  // RFC 4291 2.2 / RFC 5952 2.1: hexadecimal digits of an IPv6 address in either case.
  { spellingClass: 'ipv4-mapped', form: 'upper', spell: (v4, port) => `[::FFFF:${v4}]:${port}` },
  { spellingClass: 'ipv4-mapped', form: 'port-zero', spell: (v4, port) => `[::ffff:${v4}]:0${port}`, finding: PORT_FINDING },
  {
    spellingClass: 'ipv4-mapped',
    form: 'uncompressed',
    spell: (v4, port) => `[0:0:0:0:0:ffff:${v4}]:${port}`,
    finding: 'ipv6-zero-compression',
  },
  { spellingClass: 'localhost', form: 'plain', spell: (_v4, port) => `localhost:${port}` },
  // RFC 4343: DNS names are case-insensitive.
  { spellingClass: 'localhost', form: 'upper', spell: (_v4, port) => `LOCALHOST:${port}` },
  { spellingClass: 'localhost', form: 'mixed', spell: (_v4, port) => `LocalHost:${port}` },
  { spellingClass: 'localhost', form: 'port-zero', spell: PORT_ZERO('localhost'), finding: PORT_FINDING },
  { spellingClass: 'ipv6', form: 'plain', spell: (_v4, port) => `[::1]:${port}` },
  { spellingClass: 'ipv6', form: 'port-zero', spell: PORT_ZERO('[::1]'), finding: PORT_FINDING },
  // RFC 4291 2.2: the same address with its zeros written out, in part or in full.
  {
    spellingClass: 'ipv6',
    form: 'uncompressed',
    spell: (_v4, port) => `[0:0:0:0:0:0:0:1]:${port}`,
    finding: 'ipv6-zero-compression',
  },
  { spellingClass: 'ipv6', form: 'partly-compressed', spell: (_v4, port) => `[::0:1]:${port}`, finding: 'ipv6-zero-compression' },
  { spellingClass: 'ipv6', form: 'zero-padded', spell: (_v4, port) => `[0000::0001]:${port}`, finding: 'ipv6-zero-compression' },
];

/**
 * Where this pool's keys differ from the property's rule, found by this property: each is left out
 * of the default generation (`npm run properties` stays a check of everything else) and shown by
 * `checkKeysProperty(c, { findings: true })`, whose test expects the failure until the pool changes.
 */
export const FINDINGS: Readonly<Record<string, string>> = {
  [PORT_FINDING]:
    'the pool refuses a five-digit port written with a leading zero (127.0.0.1:050051: "not host:port", its pattern allows five digits) though it strips leading zeros from shorter ports; every port the OS picks has five digits',
  'ipv6-zero-compression':
    'the pool keys IPv6 literals by their lower-cased text, so [::1], [::0:1] and [0:0:0:0:0:0:0:1] (one address, RFC 4291 2.2) are three keys and three connections',
};

/** The machine has an IPv6 loopback (::1): IPv6 and IPv4-mapped spellings can reach a server. */
export function hasIpv6Loopback(): boolean {
  return Object.values(os.networkInterfaces()).some((list) =>
    (list ?? []).some((a) => a.internal && a.family === 'IPv6' && a.address === '::1'),
  );
}

/**
 * The spelling classes that reach a server of `host` kind. `localhost` only where the server
 * listens on every loopback address the name can resolve to (127.0.0.1 and ::1), so that it
 * reaches this server and no other; `ipv6` only on a server listening on ::1. IPv4-mapped IPv6
 * addresses reach an IPv4 server through the IPv6 stack.
 */
export function classesFor(host: HostKind, ipv6: boolean): SpellingClass[] {
  if (host === 'random') return ipv6 ? ['ipv4', 'ipv4-mapped'] : ['ipv4'];
  return ipv6 ? ['localhost', 'ipv4', 'ipv6', 'ipv4-mapped'] : ['localhost', 'ipv4'];
}

/** The forms of a class that a run generates (those of known findings only when asked for). */
export function formsOf(spellingClass: SpellingClass, findings: ReadonlySet<string>): SpellingForm[] {
  return SPELLINGS.filter((s) => s.spellingClass === spellingClass && (s.finding === undefined || findings.has(s.finding)));
}

export function spellingForm(spellingClass: string, form: string): SpellingForm | undefined {
  return SPELLINGS.find((s) => s.spellingClass === spellingClass && s.form === form);
}

/** An address the rule cannot read. */
export class AddressRuleError extends Error {}

/**
 * The property's rule: the canonical form of an address; two spellings are one key exactly when
 * their canonical forms are equal.
 * - The port is a number (RFC 3986: digits; leading zeros do not change it).
 * - An IPv6 literal is an address, not text (RFC 4291 2.2): written canonically as RFC 5952 says
 *   (lower case, no leading zeros, the longest run of zero groups as `::`, an IPv4-mapped address
 *   with its IPv4 tail dotted).
 * - An IPv4 literal is its dotted quad.
 * - A name is compared without case (RFC 4343), and never resolved: `localhost` and `127.0.0.1`
 *   are two keys, as are an IPv4 address and its IPv4-mapped IPv6 form (another address family).
 */
export function canonicalAddress(address: string): string {
  let canonical = canonicalMemo.get(address);
  if (canonical === undefined) {
    if (canonicalMemo.size >= 10_000) canonicalMemo.clear();
    canonical = canonicalOf(address);
    canonicalMemo.set(address, canonical);
  }
  return canonical;
}
/** Runs spell the same few addresses again and again (the simulated servers' ports never change). */
const canonicalMemo = new Map<string, string>();

function canonicalOf(address: string): string {
  const m = /^(?:\[([^\]]+)\]|([^:[\]]+)):(\d+)$/.exec(address);
  if (!m) throw new AddressRuleError(`not host:port: ${address}`);
  const port = Number(m[3]);
  if (m[1] !== undefined) return `[${canonicalIpv6(m[1])}]:${port}`;
  const host = m[2] as string;
  if (/^\d+\.\d+\.\d+\.\d+$/.test(host)) {
    const octets = host.split('.');
    if (octets.some((o) => (o.length > 1 && o.startsWith('0')) || Number(o) > 255)) {
      throw new AddressRuleError(`an IPv4 address with a leading zero or an octet over 255 is ambiguous: ${address}`);
    }
    return `${host}:${port}`;
  }
  return `${host.toLowerCase()}:${port}`;
}

/** An IPv6 address in RFC 5952's canonical text. */
export function canonicalIpv6(text: string): string {
  const groups = ipv6Groups(text);
  if (groups.slice(0, 5).every((g) => g === 0) && groups[5] === 0xffff) {
    const [a, b] = [groups[6] as number, groups[7] as number];
    return `::ffff:${a >> 8}.${a & 255}.${b >> 8}.${b & 255}`;
  }
  // The longest run of two or more zero groups (the first of equal ones) becomes `::`.
  let best = { at: -1, length: 0 };
  for (let i = 0; i < 8; ) {
    if (groups[i] !== 0) {
      i++;
      continue;
    }
    let j = i;
    while (j < 8 && groups[j] === 0) j++;
    if (j - i > best.length) best = { at: i, length: j - i };
    i = j;
  }
  const hex = groups.map((g) => g.toString(16));
  if (best.length < 2) return hex.join(':');
  return `${hex.slice(0, best.at).join(':')}::${hex.slice(best.at + best.length).join(':')}`;
}

/** The eight 16-bit groups of an IPv6 address (`::` and a dotted IPv4 tail allowed). */
function ipv6Groups(text: string): number[] {
  const fail = (): never => {
    throw new AddressRuleError(`not an IPv6 address: ${text}`);
  };
  let body = text.toLowerCase();
  const tail: number[] = [];
  const v4 = /^(.*:)(\d+)\.(\d+)\.(\d+)\.(\d+)$/.exec(body);
  if (v4) {
    const o = v4.slice(2).map(Number);
    if (o.some((x) => x > 255)) fail();
    tail.push(((o[0] as number) << 8) | (o[1] as number), ((o[2] as number) << 8) | (o[3] as number));
    const prefix = v4[1] as string;
    body = prefix.endsWith('::') ? prefix : prefix.slice(0, -1);
  }
  const halves = body.split('::');
  if (halves.length > 2) fail();
  const part = (s: string) =>
    s === '' ? [] : s.split(':').map((g) => (/^[0-9a-f]{1,4}$/.test(g) ? Number.parseInt(g, 16) : fail()));
  const head = part(halves[0] as string);
  const rest = halves.length === 2 ? part(halves[1] as string) : [];
  const written = head.length + rest.length + tail.length;
  if (halves.length === 2 ? written > 7 : written !== 8) fail();
  return [...head, ...Array<number>(8 - written).fill(0), ...rest, ...tail];
}
