import type { RegisterInput, RegisterOutput } from './cas-register-model.js';
import { JepsenLogError } from './history-errors.js';
import type { Operation } from './model.js';

// Its home is history-errors.ts, with the other formats' errors; still importable from here.
export { JepsenLogError };

/** One operation of a Jepsen CAS-register history. */
export type RegisterOperation = Operation<RegisterInput, RegisterOutput>;

// A line is relevant as soon as it looks like a history event; only then must it parse in full.
const EVENT = /jepsen\.util\s+-\s+\S+\s+:(?:invoke|ok|fail|info)\b/;
const FULL = /jepsen\.util\s+-\s+(\d+)\s+:(invoke|ok|fail|info)\s+:(read|write|cas)\s+(.*?)\s*$/;
const INT = /^-?\d+$/;
const PAIR = /^\[\s*(-?\d+)\s+(-?\d+)\s*\]$/;

interface Open {
  readonly id: number;
  readonly line: number;
  readonly input: RegisterInput;
}

/**
 * Parses a Jepsen etcd log (one event a line, see test-data/porcupine-etcd/README.md) into
 * operations timed by line number. Lines that are not events are ignored; an event line that does
 * not parse, or does not fit the process's open operation, throws `JepsenLogError`. Unknown outcomes
 * (`:info`, or no completion by the end) get `ret = Infinity`; a timed-out read ends at its line
 * with an unknown answer; a `:fail` write never took effect and is left out.
 */
export function parseJepsenRegisterLog(text: string, file = '<log>'): RegisterOperation[] {
  const ops: RegisterOperation[] = [];
  const open = new Map<string, Open>();
  let nextId = 0;
  const lines = text.split('\n');
  for (let i = 0; i < lines.length; i++) {
    const line = lines[i] as string;
    if (!EVENT.test(line)) continue;
    const at = i + 1;
    const fail = (detail: string): never => {
      throw new JepsenLogError(file, at, detail);
    };
    const m = FULL.exec(line) ?? fail(`expected "P :invoke|:ok|:fail|:info :read|:write|:cas VALUE", got "${line.trim()}"`);
    const [, process, type, f, value] = m as unknown as [string, string, string, 'read' | 'write' | 'cas', string];
    const int = (): number => (INT.test(value) ? Number(value) : fail(`:${f} takes a whole number, got "${value}"`));
    const pair = (): [number, number] => {
      const p = PAIR.exec(value) ?? fail(`:cas takes [FROM TO], got "${value}"`);
      return [Number(p[1]), Number(p[2])];
    };
    if (type === 'invoke') {
      const before = open.get(process);
      if (before) fail(`process ${process} invokes again while its operation from line ${before.line} is open`);
      let input: RegisterInput;
      if (f === 'read') input = { kind: 'read' };
      else if (f === 'write') input = { kind: 'write', value: int() };
      else {
        const [from, to] = pair();
        input = { kind: 'cas', from, to };
      }
      open.set(process, { id: nextId++, line: at, input });
      continue;
    }
    const started = open.get(process) ?? fail(`process ${process} completes (:${type}) with no operation open`);
    if (started.input.kind !== f)
      fail(`process ${process} completes :${f} but invoked :${started.input.kind} on line ${started.line}`);
    open.delete(process);
    const base = { id: started.id, client: process, input: started.input, call: started.line };
    if (type === 'info') {
      ops.push({ ...base, output: undefined, ret: Number.POSITIVE_INFINITY });
    } else if (f === 'read') {
      // A failed read returned nothing but changed nothing either: an unknown answer, ended here.
      if (type === 'fail') ops.push({ ...base, output: undefined, ret: at });
      else ops.push({ ...base, output: { kind: 'read', value: value === 'nil' ? null : int() }, ret: at });
    } else if (f === 'write') {
      if (type === 'ok') ops.push({ ...base, output: { kind: 'write' }, ret: at });
    } else {
      ops.push({ ...base, output: { kind: 'cas', ok: type === 'ok' }, ret: at });
    }
  }
  for (const [process, started] of open) {
    ops.push({
      id: started.id,
      client: process,
      input: started.input,
      output: undefined,
      call: started.line,
      ret: Number.POSITIVE_INFINITY,
    });
  }
  return ops.sort((a, b) => a.id - b.id);
}
