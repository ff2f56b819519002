import type { ClientOp, NemesisOp, Program } from '../parallel/program.js';

/** The alphabet and shape of the programs the model checker enumerates; every field optional. */
export interface ProgramSpaceConstraints {
  /** Servers (addresses) the programs use (default 2). */
  readonly addresses?: number;
  /** Logical clients, each with a branch of at least one operation (default 2). */
  readonly clients?: number;
  /** Include `wave(i, x2)` in the clients' alphabet (default false: two clients already overlap). */
  readonly waves?: boolean;
  /** Include server faults (a nemesis branch; default true). */
  readonly faults?: boolean;
  /** Also enumerate each program with a held address, when its clients use two or more (default true). */
  readonly hold?: boolean;
}

/**
 * The clients' alphabet: per address add, remove, call, failing call (status 13), health; then
 * stats and close (and waves of two calls when asked). No prefix is enumerated: an operation that
 * runs first is already one of the orders of a branch.
 */
export function clientAlphabet(c: ProgramSpaceConstraints = {}): ClientOp[] {
  const out: ClientOp[] = [];
  for (let i = 0; i < (c.addresses ?? 2); i++) {
    out.push(
      { f: 'add', i },
      { f: 'remove', i },
      { f: 'call', i, failCode: 0 },
      { f: 'call', i, failCode: 13 },
      { f: 'health', i },
    );
    if (c.waves) out.push({ f: 'wave', i, count: 2 });
  }
  out.push({ f: 'stats' }, { f: 'close' });
  return out;
}

/** The nemesis's next faults given the servers down: stop or kill an up server, restart a down one, set health status. */
function nemesisChoices(addresses: number, down: ReadonlySet<number>): NemesisOp[] {
  const out: NemesisOp[] = [];
  for (let i = 0; i < addresses; i++) {
    if (down.has(i)) out.push({ f: 'restart', i });
    else out.push({ f: 'stop', i }, { f: 'kill', i });
    out.push({ f: 'serving', i, status: 'NOT_SERVING' }, { f: 'serving', i, status: 'SERVING' });
  }
  return out;
}

function nemesisSequences(length: number, addresses: number, down: ReadonlySet<number> = new Set()): NemesisOp[][] {
  if (length === 0) return [[]];
  const out: NemesisOp[][] = [];
  for (const op of nemesisChoices(addresses, down)) {
    const next = new Set(down);
    if (op.f === 'stop' || op.f === 'kill') next.add(op.i);
    if (op.f === 'restart') next.delete(op.i);
    for (const rest of nemesisSequences(length - 1, addresses, next)) out.push([op, ...rest]);
  }
  return out;
}

/** Ways to write `n` as `parts` whole numbers, each at least `min`. */
function compositions(n: number, parts: number, min: number): number[][] {
  if (parts === 0) return n === 0 ? [[]] : [];
  const out: number[][] = [];
  for (let first = min; first <= n - min * (parts - 1); first++) {
    for (const rest of compositions(n - first, parts - 1, min)) out.push([first, ...rest]);
  }
  return out;
}

function sequences<T>(alphabet: readonly T[], length: number): T[][] {
  let out: T[][] = [[]];
  for (let k = 0; k < length; k++) out = out.flatMap((s) => alphabet.map((a) => [...s, a]));
  return out;
}

function permutations(n: number): number[][] {
  if (n <= 1) return [[0]].slice(0, Math.max(1, n));
  return permutations(n - 1).flatMap((p) => Array.from({ length: n }, (_, k) => [...p.slice(0, k), n - 1, ...p.slice(k)]));
}

function renamed(p: Program, perm: readonly number[]): Program {
  const op = <T extends ClientOp | NemesisOp>(o: T): T => ('i' in o ? { ...o, i: perm[o.i] as number } : o);
  return {
    prefix: p.prefix.map(op),
    branches: p.branches.map((b) => b.map(op)).sort((a, b) => (JSON.stringify(a) < JSON.stringify(b) ? -1 : 1)),
    nemesis: p.nemesis.map(op),
    hold: p.hold === null ? null : (perm[p.hold] as number),
  };
}

/**
 * The program up to symmetry: servers are interchangeable (any renaming of addresses) and so are
 * the clients (any order of branches). The representative is the smallest JSON text among them.
 */
export function canonicalProgram(p: Program, addresses: number): { program: Program; key: string } {
  let best: { program: Program; key: string } | undefined;
  for (const perm of permutations(addresses)) {
    const q = renamed(p, perm);
    const key = JSON.stringify(q);
    if (!best || key < best.key) best = { program: q, key };
  }
  return best as { program: Program; key: string };
}

/** Every program of exactly `n` operations (branches and nemesis), one per symmetry class, in a fixed order. */
export function programsOfSize(n: number, c: ProgramSpaceConstraints = {}): Program[] {
  const addresses = c.addresses ?? 2;
  const clients = c.clients ?? 2;
  const alphabet = clientAlphabet(c);
  const seen = new Map<string, Program>();
  for (let m = 0; m <= (c.faults === false ? 0 : n - clients); m++) {
    const nemeses = nemesisSequences(m, addresses);
    for (const lengths of compositions(n - m, clients, 1)) {
      const perBranch = lengths.map((l) => sequences(alphabet, l));
      let combos: ClientOp[][][] = [[]];
      for (const options of perBranch) combos = combos.flatMap((bs) => options.map((b) => [...bs, b]));
      for (const branches of combos) {
        const used = new Set(branches.flat().flatMap((o) => ('i' in o ? [o.i] : [])));
        const holds: (number | null)[] = [null, ...(c.hold !== false && used.size >= 2 ? [...used] : [])];
        for (const nemesis of nemeses) {
          for (const hold of holds) {
            const { program, key } = canonicalProgram({ prefix: [], branches, nemesis, hold }, addresses);
            if (!seen.has(key)) seen.set(key, program);
          }
        }
      }
    }
  }
  return [...seen.values()];
}
