import { type EdnValue, readEdnMap } from './edn-map.js';
import { PorcupineKvLogError } from './history-errors.js';
import type { KvInput, KvOperation } from './kv-model.js';

interface Open {
  readonly id: number;
  readonly line: number;
  readonly input: KvInput;
}

const KINDS = ['get', 'put', 'append'] as const;
const TYPES = ['invoke', 'ok', 'fail', 'info'] as const;

const show = (v: EdnValue | undefined): string =>
  v === undefined ? 'nothing' : v === null ? 'nil' : typeof v === 'object' ? `:${v.keyword}` : JSON.stringify(v);

/**
 * Parses a Porcupine key-value log (one EDN map a line, see test-data/porcupine-kv/README.md) into
 * operations timed by line number. Blank lines and `;` comments are skipped; any other line must be
 * a map with :process, :type (:invoke, :ok, :fail, :info), :f (:get, :put, :append), :key (a string)
 * and :value, or `PorcupineKvLogError` names the line and what is wrong. A completion closes its
 * process's open operation. `:fail`: the operation did not happen and is left out. `:info`, or no
 * completion by the end: unknown outcome (a put or append open until the end, `ret = Infinity`; a
 * get ends at its line, any answer). Porcupine's own parser reads :invoke and :ok only.
 */
export function parsePorcupineKvLog(text: string, file = '<log>'): KvOperation[] {
  const ops: KvOperation[] = [];
  const open = new Map<string, Open>();
  let nextId = 0;
  const lines = text.split('\n');
  for (let i = 0; i < lines.length; i++) {
    const line = (lines[i] as string).trim();
    if (line === '' || line.startsWith(';')) continue;
    const at = i + 1;
    const fail = (detail: string): never => {
      throw new PorcupineKvLogError(file, at, detail);
    };
    const map = readEdnMap(line);
    if (typeof map === 'string') fail(map);
    const field = (name: string) => (map as Map<string, EdnValue>).get(name);
    const keyword = <T extends string>(name: string, allowed: readonly T[]): T => {
      const v = field(name);
      const word = v !== null && typeof v === 'object' ? v.keyword : undefined;
      return allowed.includes(word as T)
        ? (word as T)
        : fail(`:${name} must be one of ${allowed.map((a) => `:${a}`).join(' ')}, got ${show(v)}`);
    };
    const text = (name: string, why: string): string => {
      const v = field(name);
      return typeof v === 'string' ? v : fail(`${why} takes a string :${name}, got ${show(v)}`);
    };
    const p = field('process');
    const process =
      typeof p === 'number'
        ? String(p)
        : p !== null && typeof p === 'object'
          ? `:${p.keyword}`
          : fail(`:process must be a whole number or a keyword, got ${show(p)}`);
    const type = keyword('type', TYPES);
    const f = keyword('f', KINDS);
    const key = text('key', `:${f}`);

    if (type === 'invoke') {
      const before = open.get(process);
      if (before) fail(`process ${process} invokes again while its operation from line ${before.line} is open`);
      const input: KvInput = f === 'get' ? { kind: 'get', key } : { kind: f, key, value: text('value', `:invoke :${f}`) };
      open.set(process, { id: nextId++, line: at, input });
      continue;
    }
    const started = open.get(process) ?? fail(`process ${process} completes (:${type}) with no operation open`);
    if (started.input.kind !== f)
      fail(`process ${process} completes :${f} but invoked :${started.input.kind} on line ${started.line}`);
    if (started.input.key !== key)
      fail(
        `process ${process} completes key ${JSON.stringify(key)} but invoked key ${JSON.stringify(started.input.key)} on line ${started.line}`,
      );
    open.delete(process);
    const base = { id: started.id, client: process, input: started.input, call: started.line };
    if (type === 'fail') continue;
    if (type === 'info') {
      // An unknown get changed nothing whatever it answered: it can end here.
      ops.push({ ...base, output: undefined, ret: f === 'get' ? at : Number.POSITIVE_INFINITY });
    } else if (f === 'get') {
      ops.push({ ...base, output: { kind: 'get', value: text('value', ':ok :get') }, ret: at });
    } else {
      ops.push({ ...base, output: { kind: f }, ret: at });
    }
  }
  for (const [process, started] of open) {
    const ret = started.input.kind === 'get' ? started.line : Number.POSITIVE_INFINITY;
    ops.push({ id: started.id, client: process, input: started.input, output: undefined, call: started.line, ret });
  }
  return ops.sort((a, b) => a.id - b.id);
}
