/**
 * A keys-isolate case: the servers of the run (plaintext or TLS, on a random address or on
 * localhost) and the calls, each naming its server through a spelling of its address, with
 * credentials and channel options written in one of their forms. Generated so that keys repeat in
 * other spellings (equal keys) and differ from each other in one dimension at a time (near keys),
 * where a pool that keys wrongly shows it.
 */
import fc from 'fast-check';
import { ProgramTextError } from '../parallel/program-text.js';
import {
  classesFor,
  FINDINGS,
  formsOf,
  HOST_KINDS,
  type HostKind,
  hasIpv6Loopback,
  type SpellingClass,
  type SpellingForm,
  spellingForm,
} from './addresses.js';
import {
  type CredentialsChoice,
  credentialsKey,
  describeCredentials,
  identitiesFor,
  instancesOf,
  parseCredentials,
  SERVER_KINDS,
  type ServerKind,
} from './credentials.js';
import { formsOfOptions, OPTIONS_CLASSES, type OptionsForm, optionsForm } from './options.js';

export interface ServerPlan {
  readonly kind: ServerKind;
  readonly host: HostKind;
}

export interface KeysCall {
  readonly server: number;
  readonly spelling: SpellingForm;
  readonly credentials: CredentialsChoice;
  readonly options: OptionsForm;
}

export interface KeysCase {
  readonly servers: readonly ServerPlan[];
  readonly calls: readonly KeysCall[];
}

/** What the cases may use: IPv6 spellings where the machine has an IPv6 loopback; the forms of known findings when asked. */
export interface CaseEnvironment {
  readonly ipv6: boolean;
  /** Names of `FINDINGS` whose spellings are generated too. */
  readonly findings: ReadonlySet<string>;
}

export function caseEnvironment(findings: boolean | readonly string[] = false): CaseEnvironment {
  const names = findings === true ? Object.keys(FINDINGS) : findings === false ? [] : findings;
  return { ipv6: hasIpv6Loopback(), findings: new Set(names) };
}

/** A key's dimensions, before the call picks its spelling of each. */
interface Template {
  readonly server: number;
  readonly spelling: number;
  readonly identity: number;
  readonly instance: number;
  readonly options: number;
}
const DIMENSIONS = ['server', 'spelling', 'identity', 'instance', 'options'] as const;

const at = <T>(list: readonly T[], i: number): T => list[i % list.length] as T;

/**
 * Cases over `addresses` servers with up to `maxCommands` calls. Up to four keys per run: the
 * first drawn freely, each next one a copy of an earlier one with one dimension drawn again; each
 * call takes one of them, in a spelling of its own.
 */
export function keysCases(addresses: number, maxCommands: number, env: CaseEnvironment): fc.Arbitrary<KeysCase> {
  // Indices are taken modulo the choices they pick from (lists of at most 6: 60 keeps them uniform).
  const nat = fc.nat({ max: 59 });
  // [base, dimension changed, server, spelling, identity, instance, options]
  const template = fc.tuple(nat, fc.nat({ max: DIMENSIONS.length - 1 }), nat, nat, nat, nat, nat);
  const spellings = new Map<SpellingClass, SpellingForm[]>();
  const formsOfClass = (c: SpellingClass) =>
    spellings.get(c) ?? (spellings.set(c, formsOf(c, env.findings)).get(c) as SpellingForm[]);
  const optionForms = new Map(OPTIONS_CLASSES.map((c) => [c, formsOfOptions(c)]));
  return fc
    .tuple(
      // [tls: 0 plaintext, 1 or 2 TLS (two servers in three), host kind]
      fc.array(fc.tuple(fc.nat({ max: 2 }), fc.nat({ max: HOST_KINDS.length - 1 })), {
        minLength: addresses,
        maxLength: addresses,
      }),
      fc.array(template, { minLength: 1, maxLength: 4 }),
      // [key, address form, insecure credentials object, options form]
      fc.array(fc.tuple(nat, nat, nat, nat), { minLength: 1, maxLength: maxCommands }),
    )
    .map(([servers, templates, calls]) => {
      const plans: ServerPlan[] = servers.map(([tls, host]) => ({
        kind: tls === 0 ? 'insecure' : 'tls',
        host: at(HOST_KINDS, host),
      }));
      const keys: Template[] = [];
      for (const [j, [base, change, ...values]] of templates.entries()) {
        const drawn = Object.fromEntries(DIMENSIONS.map((d, i) => [d, values[i] as number])) as unknown as Template;
        const dim = DIMENSIONS[change] as (typeof DIMENSIONS)[number];
        const from = keys[base % Math.max(1, j)] as Template;
        // Drawn again as an offset from the base's value: one more shrinks to "the next value", never the same one.
        keys.push(j === 0 ? drawn : { ...from, [dim]: from[dim] + 1 + drawn[dim] });
      }
      return {
        servers: plans,
        calls: calls.map(([key, spelling, insecure, options]) => {
          const t = at(keys, key);
          const server = t.server % plans.length;
          const plan = plans[server] as ServerPlan;
          const spellingClass = at(classesFor(plan.host, env.ipv6), t.spelling);
          const identity = at(identitiesFor(plan.kind), t.identity);
          // Insecure credentials are one key whichever object is passed: the call picks; a TLS object is the key's.
          const instance = at(instancesOf(identity), identity === 'insecure' ? insecure : t.instance);
          return {
            server,
            spelling: at(formsOfClass(spellingClass), spelling),
            credentials: { identity, instance },
            options: at(optionForms.get(at(OPTIONS_CLASSES, t.options)) as OptionsForm[], options),
          };
        }),
      };
    });
}

export function describeServers(servers: readonly ServerPlan[]): string {
  return `servers(${servers.map((s, i) => `${i}=${s.kind}@${s.host}`).join(', ')})`;
}

export function describeCall(c: KeysCall): string {
  const s = c.spelling;
  return `get(${c.server}, ${s.spellingClass}/${s.form}, ${describeCredentials(c.credentials)}, ${c.options.optionsClass}/${c.options.form})`;
}

/** The case's readable steps: the servers, then one line per call. */
export function describeCase(k: KeysCase): string[] {
  return [describeServers(k.servers), ...k.calls.map(describeCall)];
}

/** Reads `describeCase` back; throws `ProgramTextError` when it cannot. */
export function parseKeysCase(steps: readonly string[], addresses: number): KeysCase {
  const [head, ...rest] = steps;
  const hm = /^servers\((.*)\)$/.exec((head ?? '').trim());
  if (!hm) throw new ProgramTextError(head ?? '', 'a keys-isolate case starts with servers(0=KIND@HOST, ...)');
  const servers = (hm[1] as string).split(',').map((part, i): ServerPlan => {
    const m = /^(\d+)=(\w+)@(\w+)$/.exec(part.trim());
    const kind = m?.[2] as ServerKind;
    const host = m?.[3] as HostKind;
    if (!m || Number(m[1]) !== i || !SERVER_KINDS.includes(kind) || !HOST_KINDS.includes(host)) {
      throw new ProgramTextError(
        head as string,
        `"${part.trim()}" is not ${i}=(${SERVER_KINDS.join('|')})@(${HOST_KINDS.join('|')})`,
      );
    }
    return { kind, host };
  });
  if (servers.length !== addresses)
    throw new ProgramTextError(head as string, `${servers.length} servers; this run has ${addresses}`);
  const calls = rest.map((line): KeysCall => {
    const m = /^get\((\d+), ([\w-]+)\/([\w-]+), ([\w:#]+), ([\w+-]+)\/([\w-]+)\)$/.exec(line.trim());
    if (!m) throw new ProgramTextError(line, 'not a call of keys-isolate: get(SERVER, CLASS/FORM, CREDENTIALS, OPTIONS/FORM)');
    const server = Number(m[1]);
    const plan = servers[server];
    if (!plan) throw new ProgramTextError(line, `server ${server} is not one of 0..${servers.length - 1}`);
    const spelling = spellingForm(m[2] as SpellingClass, m[3] as string);
    if (!spelling) throw new ProgramTextError(line, `no address spelling ${m[2]}/${m[3]}`);
    const credentials = parseCredentials(m[4] as string);
    if (!credentials || !identitiesFor(plan.kind).includes(credentials.identity)) {
      throw new ProgramTextError(line, `credentials ${m[4]} cannot call a ${plan.kind} server`);
    }
    const options = optionsForm(m[5] as string, m[6] as string);
    if (!options) throw new ProgramTextError(line, `no option set ${m[5]}/${m[6]}`);
    return { server, spelling, credentials, options };
  });
  if (calls.length === 0) throw new ProgramTextError(head as string, 'a keys-isolate case has at least one call');
  return { servers, calls };
}

/**
 * A call's key at the level of classes (the server's spelling class, credentials key, option
 * class), and its spelling within them: calls with one key and two spellings test equality.
 */
export function classKey(c: KeysCall): string {
  return `${c.server}|${c.spelling.spellingClass}|${credentialsKey(c.credentials)}|${c.options.optionsClass}`;
}
function spelledAs(c: KeysCall): string {
  return `${c.spelling.form}|${c.credentials.instance}|${c.options.form}`;
}

/**
 * Counts for `--json`: per call its identity (`tls:alice`, `insecure`, ...), spelling class and
 * form, option class and form; per run each server's kind; `respelled`, calls whose key an earlier
 * call of the run used in another spelling (equal keys tested); `near:<dimension>`, pairs of keys
 * of one server that differ in that dimension alone (different keys tested where it matters).
 */
export function countCase(k: KeysCase): Record<string, number> {
  const counts = new Map<string, number>();
  const add = (name: string) => counts.set(name, (counts.get(name) ?? 0) + 1);
  for (const s of k.servers) add(`server:${s.kind}@${s.host}`);
  const spellings = new Map<string, Set<string>>();
  const keys = new Map<string, KeysCall>();
  for (const c of k.calls) {
    add(c.credentials.identity);
    add(`spelling:${c.spelling.spellingClass}`);
    add(`spelled:${c.spelling.form}`);
    add(`options:${c.options.optionsClass}`);
    add(`options-spelled:${c.options.form}`);
    const key = classKey(c);
    const as = spelledAs(c);
    const seen = spellings.get(key);
    if (!seen) {
      spellings.set(key, new Set([as]));
      keys.set(key, c);
    } else if (!seen.has(as)) {
      add('respelled');
      seen.add(as);
    }
  }
  const distinct = [...keys.values()];
  for (const [i, a] of distinct.entries()) {
    for (const b of distinct.slice(i + 1)) {
      if (a.server !== b.server) continue;
      const address = a.spelling.spellingClass !== b.spelling.spellingClass;
      const identity = a.credentials.identity !== b.credentials.identity;
      const object = !identity && credentialsKey(a.credentials) !== credentialsKey(b.credentials);
      const options = a.options.optionsClass !== b.options.optionsClass;
      if (Number(address) + Number(identity) + Number(object) + Number(options) !== 1) continue;
      add(`near:${address ? 'address' : identity ? 'identity' : object ? 'credentials-object' : 'options'}`);
    }
  }
  return Object.fromEntries(counts);
}
