import fc from 'fast-check';
import { NETWORK_FAULT_NAMES, type NetworkFault } from '../../models/vocabulary.js';
import { describeLoadOp, type LoadKind, type LoadShape, loadShapeArbitrary } from '../load-op.js';

/** One pool operation a logical client performs. A wave is `count` calls the client makes at once. */
export type ClientOp =
  | { readonly f: 'add' | 'remove' | 'health'; readonly i: number }
  /** `late`: the server answers after the call's deadline (see `LATE_CALL`): it must end DEADLINE_EXCEEDED. */
  | { readonly f: 'call'; readonly i: number; readonly failCode: number; readonly late?: boolean }
  | { readonly f: 'wave'; readonly i: number; readonly count: number }
  /** A generated load pattern (closed loop, fixed rate, burst, ramp, spike) run by src/load on one address. */
  | { readonly f: 'load'; readonly i: number; readonly shape: LoadShape }
  | { readonly f: 'stats' }
  | { readonly f: 'close' };

/**
 * A server fault the nemesis injects (valid for the phases its earlier faults left), after waiting
 * `after` scheduler turns, so that clients act while a server is down.
 */
export type NemesisOp = (
  | { readonly f: 'stop' | 'kill' | 'restart' | 'heal'; readonly i: number }
  | { readonly f: 'fault'; readonly i: number; readonly kind: NetworkFault }
  | { readonly f: 'serving'; readonly i: number; readonly status: 'SERVING' | 'NOT_SERVING' }
) & { readonly after?: number };

export type { NetworkFault } from '../../models/vocabulary.js';

/**
 * A parallel program in the manner of PropEr's `parallel_commands`: a sequential prefix, then 2 to
 * 4 logical clients running their branches at once beside a nemesis branch. With `hold` set, every
 * connector result for that address is held back until every other client has finished or waits on
 * that address: a pool that makes one key wait for another's connect shows up as no progress.
 */
export interface Program {
  readonly prefix: readonly ClientOp[];
  readonly branches: readonly (readonly ClientOp[])[];
  readonly nemesis: readonly NemesisOp[];
  readonly hold: number | null;
  /**
   * Two worker threads record into the run's metrics while it runs (where the pool records
   * metrics). Part of the program, so that shrinking keeps it while the failure needs it.
   */
  readonly sharedMetrics?: boolean;
}

export function describeOp(op: ClientOp | NemesisOp): string {
  const wait = 'after' in op && op.after ? `+${op.after} ` : '';
  return wait + describeBare(op);
}

function describeBare(op: ClientOp | NemesisOp): string {
  switch (op.f) {
    case 'stats':
    case 'close':
      return `${op.f}()`;
    case 'call':
      if (op.late) return `call(${op.i}, late)`;
      return op.failCode ? `call(${op.i}, fail=${op.failCode})` : `call(${op.i})`;
    case 'wave':
      return `wave(${op.i}, x${op.count})`;
    case 'load':
      return describeLoadOp(op);
    case 'serving':
      return `serving(${op.i}, ${op.status})`;
    case 'fault':
      return `fault(${op.i}, ${op.kind})`;
    default:
      return `${op.f}(${op.i})`;
  }
}

/** The program as readable steps: `prefix: ...`, `c1: ...`, `nemesis: ...`, `hold: i`. */
export function describeProgram(p: Program): string[] {
  const lines: string[] = [];
  if (p.prefix.length) lines.push(`prefix: ${p.prefix.map(describeOp).join(' ; ')}`);
  p.branches.forEach((b, k) => {
    if (b.length) lines.push(`c${k + 1}: ${b.map(describeOp).join(' ; ')}`);
  });
  if (p.nemesis.length) lines.push(`nemesis: ${p.nemesis.map(describeOp).join(' ; ')}`);
  if (p.hold !== null) lines.push(`hold: ${p.hold}`);
  if (p.sharedMetrics) lines.push('metrics: shared');
  return lines;
}

/** Number of operations in a program (a wave counts once). */
export function programSize(p: Program): number {
  return p.prefix.length + p.branches.reduce((n, b) => n + b.length, 0) + p.nemesis.length;
}

const FAIL_CODES = [5, 8, 13] as const;

export interface ProgramConstraints {
  readonly addresses: number;
  /** Most operations in a program, over prefix, branches and nemesis. */
  readonly maxOps: number;
  /** Whether the servers can be faulted (not for `--target`). */
  readonly controllable: boolean;
  /** Whether network faults can be injected between pool and servers. */
  readonly networkFaults: boolean;
  /** The operations the pool offers besides calls and close (its adapter's features); default all. */
  readonly offers?: { readonly add: boolean; readonly remove: boolean; readonly health: boolean; readonly stats: boolean };
  /**
   * Load patterns to generate (default all). A fixed rate paces on real timers, so the simulated
   * layer leaves it out: its runs must replay exactly from their seed.
   */
  readonly loadKinds?: readonly LoadKind[];
}

/** Generates programs; fast-check shrinks them by dropping operations, branches and the hold. */
export function programArbitrary(c: ProgramConstraints): fc.Arbitrary<Program> {
  const addr = fc.integer({ min: 0, max: c.addresses - 1 });
  const offers = c.offers ?? { add: true, remove: true, health: true, stats: true };
  const keyOps = [...(offers.add ? ['add' as const] : []), ...(offers.remove ? ['remove' as const] : [])];
  const op: fc.Arbitrary<ClientOp> = fc.oneof(
    {
      weight: 3,
      arbitrary: fc.record({ f: fc.constant('call' as const), i: addr, failCode: fc.constantFrom(0, 0, 0, ...FAIL_CODES) }),
    },
    { weight: 1, arbitrary: addr.map((i) => ({ f: 'call' as const, i, failCode: 0, late: true })) },
    { weight: 2, arbitrary: fc.record({ f: fc.constant('wave' as const), i: addr, count: fc.integer({ min: 2, max: 4 }) }) },
    {
      weight: 1,
      arbitrary: fc.record({ f: fc.constant('load' as const), i: addr, shape: loadShapeArbitrary({ kinds: c.loadKinds }) }),
    },
    ...(keyOps.length ? [{ weight: 2, arbitrary: fc.record({ f: fc.constantFrom(...keyOps), i: addr }) }] : []),
    ...(offers.health ? [{ weight: 1, arbitrary: fc.record({ f: fc.constant('health' as const), i: addr }) }] : []),
    ...(offers.stats ? [{ weight: 2, arbitrary: fc.constant({ f: 'stats' as const }) }] : []),
    { weight: 1, arbitrary: fc.constant({ f: 'close' as const }) },
  );
  const perBranch = Math.max(1, Math.floor(c.maxOps / 3));
  const nemesisOp = fc.record({
    kind: c.networkFaults ? fc.constantFrom('down', 'down', 'serving', 'net', 'net') : fc.constantFrom('down', 'down', 'serving'),
    fault: fc.constantFrom<NetworkFault>(...NETWORK_FAULT_NAMES),
    i: addr,
    kill: fc.boolean(),
    status: fc.constantFrom('SERVING' as const, 'NOT_SERVING' as const),
    after: fc.integer({ min: 0, max: 6 }),
  });
  return fc
    .record({
      prefix: fc.array(op, { maxLength: Math.min(3, perBranch), size: 'max' }),
      branches: fc.array(fc.array(op, { minLength: 1, maxLength: perBranch, size: 'max' }), { minLength: 2, maxLength: 4 }),
      nemesis: c.controllable ? fc.array(nemesisOp, { maxLength: 4 }) : fc.constant([]),
      hold: fc.option(addr, { freq: 3, nil: null }),
      // One program in four (shrinks towards not shared).
      shared: fc.integer({ min: 0, max: 3 }),
    })
    .map(({ prefix, branches, nemesis, hold, shared }) => {
      const faults = validNemesis(nemesis, c.addresses).slice(0, Math.max(0, c.maxOps - prefix.length - 2));
      const program = { prefix, branches: trim(branches, c.maxOps - prefix.length - faults.length), nemesis: faults, hold };
      return shared === 3 ? { ...program, sharedMetrics: true } : program;
    });
}

/** Keeps the whole program within `budget` operations, cutting the longest branches first. */
function trim(branches: ClientOp[][], budget: number): ClientOp[][] {
  const out = branches.map((b) => [...b]);
  let total = out.reduce((n, b) => n + b.length, 0);
  while (total > Math.max(budget, out.length)) {
    const longest = out.reduce((a, b) => (b.length > a.length ? b : a));
    longest.pop();
    total -= 1;
  }
  return out;
}

/** Faults in an order the servers allow: a server goes down only when up, and comes back after. */
function validNemesis(
  raw: readonly {
    kind: string;
    i: number;
    kill: boolean;
    status: 'SERVING' | 'NOT_SERVING';
    after: number;
    fault: NetworkFault;
  }[],
  addresses: number,
): NemesisOp[] {
  const down = new Set<number>();
  const faulted = new Set<number>();
  const out: NemesisOp[] = [];
  for (const r of raw) {
    if (r.i >= addresses) continue;
    if (r.kind === 'serving') out.push({ f: 'serving', i: r.i, status: r.status, after: r.after });
    else if (r.kind === 'net') {
      if (faulted.delete(r.i)) out.push({ f: 'heal', i: r.i, after: r.after });
      else {
        faulted.add(r.i);
        out.push({ f: 'fault', i: r.i, kind: r.fault, after: r.after });
      }
    } else if (down.has(r.i)) {
      out.push({ f: 'restart', i: r.i, after: r.after });
      down.delete(r.i);
    } else {
      out.push({ f: r.kill ? 'kill' : 'stop', i: r.i, after: r.after });
      down.add(r.i);
    }
  }
  return out;
}
