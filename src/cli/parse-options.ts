import { type ParseArgsConfig, parseArgs } from 'node:util';
import type { Shard } from '../harness/shard.js';
import { UsageError } from './cli-errors.js';

type Options = NonNullable<ParseArgsConfig['options']>;

export interface ParseSettings {
  /** Accept positional arguments (default false). */
  readonly positionals?: boolean;
  /** The CLI's --help text: every option must be named in it (checked on every run, so it cannot drift). */
  readonly help?: string;
}

/**
 * `parseArgs` with unknown options and stray positionals reported as `UsageError`; `-h` is `--help`,
 * and a negative number is taken as the value of a string option (`--seed -5` as `--seed=-5`).
 */
export function parseOptions<T extends Options>(argv: string[], options: T, settings: boolean | ParseSettings = {}) {
  const s: ParseSettings = typeof settings === 'boolean' ? { positionals: settings } : settings;
  if (s.help !== undefined) {
    const missing = Object.keys(options).filter((name) => !new RegExp(`--${name}\\b`).test(s.help as string));
    if (missing.length > 0) throw new Error(`--help does not name ${missing.map((m) => `--${m}`).join(', ')}`);
  }
  const withShort = Object.fromEntries(
    Object.entries(options).map(([name, o]) => [name, name === 'help' && o.short === undefined ? { ...o, short: 'h' } : o]),
  ) as T;
  try {
    return parseArgs({
      args: joinNegativeValues(argv, options),
      options: withShort,
      strict: true,
      allowPositionals: s.positionals ?? false,
    });
  } catch (error) {
    throw new UsageError((error as Error).message);
  }
}

/** `--flag -5` -> `--flag=-5` for string options (parseArgs refuses a value starting with a dash). */
function joinNegativeValues(argv: string[], options: Options): string[] {
  const out: string[] = [];
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i] as string;
    if (arg === '--') {
      out.push(...argv.slice(i));
      break;
    }
    const next = argv[i + 1];
    const name = arg.startsWith('--') ? arg.slice(2) : undefined;
    if (name !== undefined && options[name]?.type === 'string' && next !== undefined && /^-\d+(\.\d+)?$/.test(next)) {
      out.push(`${arg}=${next}`);
      i++;
    } else {
      out.push(arg);
    }
  }
  return out;
}

/** Parses `30s`, `10m`, `1h`, `500ms` or a bare number of seconds into ms; throws `UsageError`. */
export function parseDuration(text: string, flag: string): number {
  const match = /^(\d+(?:\.\d+)?)(ms|s|m|h)?$/.exec(text.trim());
  if (!match) throw new UsageError(`${flag} takes a positive duration like 30s, 10m or 1h; got "${text}"`);
  const value = Number(match[1]);
  const unitMs = { ms: 1, s: 1_000, m: 60_000, h: 3_600_000 }[(match[2] ?? 's') as 'ms' | 's' | 'm' | 'h'];
  const ms = value * unitMs;
  if (!(ms > 0)) throw new UsageError(`${flag} must be more than zero; got "${text}"`);
  return ms;
}

/** Parses a whole number in [min, max]; throws `UsageError` naming the flag. */
export function parseInteger(text: string, flag: string, min: number, max = Number.MAX_SAFE_INTEGER): number {
  if (!/^-?\d+$/.test(text.trim())) throw new UsageError(`${flag} takes a whole number; got "${text}"`);
  const n = Number(text);
  if (n < min || n > max) throw new UsageError(`${flag} must be in ${min}..${max}; got ${n}`);
  return n;
}

/** The range of `--seed`: fast-check's seeds are 32-bit integers. */
export const SEED_MIN = -(2 ** 31);
export const SEED_MAX = 2 ** 31 - 1;

/** Parses `--seed S`: a whole number in SEED_MIN..SEED_MAX, negative allowed; throws `UsageError`. */
export function parseSeed(text: string): number {
  return parseInteger(text, '--seed', SEED_MIN, SEED_MAX);
}

/** Parses `--shard i/n` (1-based, i in 1..n); throws `UsageError`. */
export function parseShard(text: string): Shard {
  const m = /^(\d+)\/(\d+)$/.exec(text.trim());
  if (!m) throw new UsageError(`--shard takes i/n, like 2/4; got "${text}"`);
  const index = Number(m[1]);
  const count = Number(m[2]);
  if (count < 1 || index < 1 || index > count) throw new UsageError(`--shard ${text}: i must be in 1..n and n >= 1`);
  return { index, count };
}
