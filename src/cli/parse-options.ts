import { type ParseArgsConfig, parseArgs } from 'node:util';
import type { Shard } from '../harness/shard.js';
import { UsageError } from './usage-error.js';

type Options = NonNullable<ParseArgsConfig['options']>;

/** `parseArgs` with unknown options and stray positionals reported as `UsageError`. */
export function parseOptions<T extends Options>(argv: string[], options: T, allowPositionals = false) {
  try {
    return parseArgs({ args: argv, options, strict: true, allowPositionals });
  } catch (error) {
    throw new UsageError((error as Error).message);
  }
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

/** Parses `--shard i/n` (1-based, i in 1..n); throws `UsageError`. */
export function parseShard(text: string): Shard {
  const m = /^(\d+)\/(\d+)$/.exec(text.trim());
  if (!m) throw new UsageError(`--shard takes i/n, like 2/4; got "${text}"`);
  const index = Number(m[1]);
  const count = Number(m[2]);
  if (count < 1 || index < 1 || index > count) throw new UsageError(`--shard ${text}: i must be in 1..n and n >= 1`);
  return { index, count };
}
