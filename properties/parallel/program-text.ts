import { NETWORK_FAULT_NAMES, type NetworkFault } from '../../models/vocabulary.js';
import { parseLoadOp } from '../load-op.js';
import type { ClientOp, NemesisOp, Program } from './program.js';

/** A program's text (as `describeProgram` writes it) that cannot be read back. */
export class ProgramTextError extends Error {
  readonly code = 'ERR_PROGRAM_TEXT';
  constructor(line: string, why: string) {
    super(`cannot read program line ${JSON.stringify(line)}: ${why}`);
    this.name = 'ProgramTextError';
  }
}

const FAULTS = NETWORK_FAULT_NAMES;

function op(text: string, line: string): ClientOp | NemesisOp {
  const m = /^(?:\+(\d+) )?(\w+)\(([^)]*)\)$/.exec(text.trim());
  if (!m) throw new ProgramTextError(line, `"${text}" is not an operation like add(0)`);
  const after = m[1] === undefined ? undefined : Number(m[1]);
  const name = m[2] as string;
  const args = (m[3] ?? '')
    .split(',')
    .map((a) => a.trim())
    .filter((a) => a !== '');
  const i = Number(args[0]);
  const withAfter = <T extends object>(o: T) => (after === undefined ? o : { ...o, after });
  switch (name) {
    case 'stats':
    case 'close':
      return { f: name };
    case 'add':
    case 'remove':
    case 'health':
      return { f: name, i };
    case 'call': {
      if (args[1] === 'late') return { f: 'call', i, failCode: 0, late: true };
      const fail = /^fail=(\d+)$/.exec(args[1] ?? '');
      return { f: 'call', i, failCode: fail ? Number(fail[1]) : 0 };
    }
    case 'load':
      try {
        return { f: 'load', ...parseLoadOp(text.trim()) };
      } catch (error) {
        throw new ProgramTextError(line, (error as Error).message);
      }
    case 'wave': {
      const count = /^x(\d+)$/.exec(args[1] ?? '');
      if (!count) throw new ProgramTextError(line, `"${text}": a wave reads wave(i, xN)`);
      return { f: 'wave', i, count: Number(count[1]) };
    }
    case 'stop':
    case 'kill':
    case 'restart':
    case 'heal':
      return withAfter({ f: name, i });
    case 'serving': {
      const status = args[1];
      if (status !== 'SERVING' && status !== 'NOT_SERVING') throw new ProgramTextError(line, `"${text}": unknown status`);
      return withAfter({ f: 'serving', i, status });
    }
    case 'fault': {
      const kind = args[1] as NetworkFault;
      if (!FAULTS.includes(kind)) throw new ProgramTextError(line, `"${text}": unknown fault (${FAULTS.join(', ')})`);
      return withAfter({ f: 'fault', i, kind });
    }
    default:
      throw new ProgramTextError(line, `unknown operation "${name}"`);
  }
}

/**
 * Reads a program back from the lines `describeProgram` wrote (`prefix: ...`, `c1: ...`,
 * `nemesis: ...`, `hold: i`, `metrics: shared`): a failure file's steps are the program itself, so it replays
 * whatever the generators have become since.
 */
export function parseProgram(lines: readonly string[]): Program {
  let prefix: (ClientOp | NemesisOp)[] = [];
  const branches: (ClientOp | NemesisOp)[][] = [];
  let nemesis: (ClientOp | NemesisOp)[] = [];
  let hold: number | null = null;
  let sharedMetrics = false;
  for (const line of lines) {
    const m = /^(prefix|c(\d+)|nemesis|hold|metrics): (.*)$/.exec(line);
    if (!m) throw new ProgramTextError(line, 'expected "prefix:", "cN:", "nemesis:", "hold:" or "metrics:"');
    const body = m[3] as string;
    if (m[1] === 'metrics') {
      if (body !== 'shared') throw new ProgramTextError(line, 'the only metrics line is "metrics: shared"');
      sharedMetrics = true;
      continue;
    }
    if (m[1] === 'hold') {
      hold = Number(body);
      if (!Number.isInteger(hold) || hold < 0) throw new ProgramTextError(line, 'hold takes an address index');
      continue;
    }
    const ops = body.split(' ; ').map((t) => op(t, line));
    if (m[1] === 'prefix') prefix = ops;
    else if (m[1] === 'nemesis') nemesis = ops;
    else branches[Number(m[2]) - 1] = ops;
  }
  const isNemesis = (o: ClientOp | NemesisOp) => ['stop', 'kill', 'restart', 'heal', 'serving', 'fault'].includes(o.f);
  const client = (ops: (ClientOp | NemesisOp)[], where: string): ClientOp[] => {
    const bad = ops.find(isNemesis);
    if (bad) throw new ProgramTextError(where, `a fault (${bad.f}) outside the nemesis line`);
    return ops as ClientOp[];
  };
  const bad = nemesis.find((o) => !isNemesis(o));
  if (bad) throw new ProgramTextError('nemesis', `a client operation (${bad.f}) on the nemesis line`);
  return {
    prefix: client(prefix, 'prefix'),
    branches: Array.from(branches, (b, k) => client(b ?? [], `c${k + 1}`)),
    nemesis: nemesis as NemesisOp[],
    hold,
    ...(sharedMetrics ? { sharedMetrics } : {}),
  };
}
