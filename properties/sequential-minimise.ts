import type { CaseShape } from './minimise.js';

/** Simpler spellings of one command step, as its `toString` writes it (the parser reads them back). */
function simplerStep(step: string): string[] {
  const out: string[] = [];
  const wave = /^wave\(\[([\d,]+)\], (\d+)x(\d+), delay=(\d+)ms(?:, fail=(\d+))?\)$/.exec(step);
  if (wave) {
    const [, list, clients, perClient, delay, fail] = wave as unknown as [string, string, string, string, string, string?];
    const make = (l: string, c: number, p: number, d: string, f?: string) =>
      `wave([${l}], ${c}x${p}, delay=${d}ms${f ? `, fail=${f}` : ''})`;
    const [c, p] = [Number(clients), Number(perClient)];
    if (fail) out.push(make(list, c, p, delay));
    if (delay !== '0') out.push(make(list, c, p, '0', fail));
    // The other way too: on the live layer a wave of instant calls is often over before the next
    // command acts, and fast-check's shrinking (towards 0) made up for it with extra commands.
    if (delay !== '20') out.push(make(list, c, p, '20', fail));
    if (c > 1) out.push(make(list, c - 1, p, delay, fail));
    if (p > 1) out.push(make(list, c, p - 1, delay, fail));
    const addresses = list.split(',');
    if (addresses.length > 1) {
      for (let k = 0; k < addresses.length; k++) out.push(make(addresses.filter((_, j) => j !== k).join(','), c, p, delay, fail));
    }
    return out;
  }
  const call = /^call\((\d+), fail=\d+\)$/.exec(step);
  if (call) out.push(`call(${call[1]})`);
  const single = /^(\w+)\(([1-9]\d*)((?:, .*)?)\)$/.exec(step);
  if (single) out.push(`${single[1]}(0${single[3] ?? ''})`);
  return out;
}

/** Lists up to this long also try every pair of steps removed at once. */
const PAIRS_UP_TO = 8;

/** `steps` without each contiguous chunk of n/2, n/4, ... (at least 2) steps. */
export function chunkRemovals<T>(steps: readonly T[]): T[][] {
  const out: T[][] = [];
  for (let size = Math.floor(steps.length / 2); size >= 2; size = Math.floor(size / 2)) {
    for (let at = 0; at + size <= steps.length; at += size) out.push([...steps.slice(0, at), ...steps.slice(at + size)]);
  }
  return out;
}

/**
 * pool-matches-model's counterexample as a list of command steps: without one step, or with one
 * step simplified. (Address 0 may be a server the case never started: such a candidate passes or
 * fails differently, and is left.)
 */
export const STEPS_SHAPE: CaseShape<readonly string[]> = {
  candidates: (steps) => [
    // Halves, quarters, ... first (delta debugging's big cuts: a long list shrinks in a few
    // accepted steps), then one step at a time.
    ...chunkRemovals(steps),
    ...steps.map((_, k) => steps.filter((_, j) => j !== k)),
    // Two steps apart at once, for short lists: on the live layer a case can need two steps gone
    // together (each alone changes the timing the bug needs).
    ...(steps.length <= PAIRS_UP_TO
      ? steps.flatMap((_, a) => steps.slice(a + 1).map((__, k) => steps.filter((_, j) => j !== a && j !== a + 1 + k)))
      : []),
    ...steps.flatMap((step, k) => simplerStep(step).map((s) => steps.map((x, j) => (j === k ? s : x)))),
  ],
  describe: (steps) => [...steps],
  size: (steps) => [steps.length],
};
