import { casRegisterModel, type RegisterInput, type RegisterOutput } from './cas-register-model.js';
import { type KvInput, type KvOutput, kvModel } from './kv-model.js';
import type { LinearizabilityModel } from './model.js';

/**
 * A model a JSON history can name, with readers for its operations' inputs and outputs: each
 * returns the value, or a string saying what is wrong with it.
 */
export interface JsonModel<S, I, O> {
  readonly model: LinearizabilityModel<S, I, O>;
  /** One line for `check-history --help` and the docs. */
  readonly summary: string;
  readInput(value: unknown): I | string;
  /** `input` is the operation's input, already read: an output must answer that kind of call. */
  readOutput(value: unknown, input: I): O | string;
}

type Json = Record<string, unknown>;
const isObject = (v: unknown): v is Json => typeof v === 'object' && v !== null && !Array.isArray(v);
const isInt = (v: unknown): v is number => Number.isSafeInteger(v);
const show = (v: unknown) => JSON.stringify(v) ?? String(v);

// The reader of objects tagged by `kind`: the tag must be one of `kinds`, then `fields` checks the rest.
function tagged<T extends string>(what: string, kinds: readonly T[], v: unknown): { o: Json; kind: T } | string {
  if (!isObject(v)) return `${what} must be an object with "kind", got ${show(v)}`;
  if (!kinds.includes(v.kind as T))
    return `${what}.kind must be one of ${kinds.map((k) => `"${k}"`).join(', ')}, got ${show(v.kind)}`;
  return { o: v, kind: v.kind as T };
}
const mismatch = (out: string, input: string) => `output.kind "${out}" does not answer input.kind "${input}"`;

const register: JsonModel<unknown, RegisterInput, RegisterOutput> = {
  model: casRegisterModel as LinearizabilityModel<unknown, RegisterInput, RegisterOutput>,
  summary: 'one compare-and-set register of whole numbers, initially null',
  readInput(v) {
    const t = tagged('input', ['read', 'write', 'cas'] as const, v);
    if (typeof t === 'string') return t;
    const { o, kind } = t;
    if (kind === 'read') return { kind };
    if (kind === 'write')
      return isInt(o.value) ? { kind, value: o.value } : `input.value of a write must be a whole number, got ${show(o.value)}`;
    return isInt(o.from) && isInt(o.to)
      ? { kind, from: o.from, to: o.to }
      : `input.from and input.to of a cas must be whole numbers`;
  },
  readOutput(v, input) {
    const t = tagged('output', ['read', 'write', 'cas'] as const, v);
    if (typeof t === 'string') return t;
    const { o, kind } = t;
    if (kind !== input.kind) return mismatch(kind, input.kind);
    if (kind === 'write') return { kind };
    if (kind === 'cas')
      return typeof o.ok === 'boolean' ? { kind, ok: o.ok } : `output.ok of a cas must be true or false, got ${show(o.ok)}`;
    return o.value === null || isInt(o.value)
      ? { kind, value: o.value }
      : `output.value of a read must be a whole number or null, got ${show(o.value)}`;
  },
};

const kv: JsonModel<unknown, KvInput, KvOutput> = {
  model: kvModel as LinearizabilityModel<unknown, KvInput, KvOutput>,
  summary: 'a key-value store of strings (get, put, append), checked key by key',
  readInput(v) {
    const t = tagged('input', ['get', 'put', 'append'] as const, v);
    if (typeof t === 'string') return t;
    const { o, kind } = t;
    if (typeof o.key !== 'string') return `input.key must be a string, got ${show(o.key)}`;
    if (kind === 'get') return { kind, key: o.key };
    return typeof o.value === 'string'
      ? { kind, key: o.key, value: o.value }
      : `input.value of a ${kind} must be a string, got ${show(o.value)}`;
  },
  readOutput(v, input) {
    const t = tagged('output', ['get', 'put', 'append'] as const, v);
    if (typeof t === 'string') return t;
    const { o, kind } = t;
    if (kind !== input.kind) return mismatch(kind, input.kind);
    if (kind !== 'get') return { kind };
    return typeof o.value === 'string'
      ? { kind, value: o.value }
      : `output.value of a get must be a string, got ${show(o.value)}`;
  },
};

/** The models a JSON history can name in its `"model"` field. */
export const JSON_MODELS: Readonly<Record<string, JsonModel<unknown, unknown, unknown>>> = {
  register: register as JsonModel<unknown, unknown, unknown>,
  kv: kv as JsonModel<unknown, unknown, unknown>,
};
