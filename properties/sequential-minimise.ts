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

/**
 * pool-matches-model's counterexample as a list of command steps: without one step, or with one
 * step simplified. (Address 0 may be a server the case never started: such a candidate passes or
 * fails differently, and is left.)
 */
export const STEPS_SHAPE: CaseShape<readonly string[]> = {
  candidates: (steps) => [
    ...steps.map((_, k) => steps.filter((_, j) => j !== k)),
    ...steps.flatMap((step, k) => simplerStep(step).map((s) => steps.map((x, j) => (j === k ? s : x)))),
  ],
  describe: (steps) => [...steps],
  size: (steps) => [steps.length],
};
