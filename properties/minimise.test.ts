import { describe, expect, it } from 'vitest';
import { parseCommandStep } from './command-text.js';
import { candidates, failureKind } from './minimise.js';
import { describeProgram, programSize } from './parallel/program.js';
import { parseProgram } from './parallel/program-text.js';
import { STEPS_SHAPE } from './sequential-minimise.js';

describe('minimisation candidates', () => {
  const program = parseProgram([
    'prefix: add(1)',
    'c1: wave(1, x3) ; close()',
    'c2: call(1, fail=13)',
    'nemesis: +2 stop(1)',
    'hold: 1',
  ]);

  it('a parallel program: one op fewer each, no hold, no branch, merged branches, simpler ops; each reads back', () => {
    const all = candidates(program);
    const sizes = all.map(programSize);
    // Removals: hold (same size), prefix op, c1's two ops, the nemesis op, each branch.
    expect(sizes.filter((n) => n === programSize(program) - 1)).toHaveLength(4 + 1);
    expect(all.some((p) => p.hold === null)).toBe(true);
    expect(all.some((p) => p.branches.length === 1 && programSize(p) === programSize(program))).toBe(true);
    const texts = all.map((p) => describeProgram(p).join('\n'));
    expect(texts).toContain(describeProgram({ ...program, hold: null }).join('\n'));
    expect(texts.some((t) => t.includes('wave(1, x2)'))).toBe(true);
    expect(texts.some((t) => t.includes('c2: call(1)') && !t.includes('fail='))).toBe(true);
    expect(texts.some((t) => t.includes('nemesis: stop(1)'))).toBe(true);
    for (const p of all) expect(describeProgram(parseProgram(describeProgram(p)))).toEqual(describeProgram(p));
  });

  it('a command list: one step fewer each, and simpler steps the parser reads back', () => {
    const steps = ['wave([0,1], 3x2, delay=20ms, fail=13)', 'call(1, fail=5)', 'remove(1)'];
    const all = STEPS_SHAPE.candidates(steps);
    expect(all.filter((c) => c.length === 2)).toHaveLength(3);
    const simpler = all.filter((c) => c.length === 3).map((c) => c.join(' ; '));
    expect(simpler).toContain('wave([0,1], 3x2, delay=20ms) ; call(1, fail=5) ; remove(1)');
    expect(simpler).toContain('wave([0,1], 3x2, delay=0ms, fail=13) ; call(1, fail=5) ; remove(1)');
    expect(STEPS_SHAPE.candidates(['wave([0], 2x1, delay=0ms)']).map((c) => c.join())).toContain('wave([0], 2x1, delay=20ms)');
    expect(simpler).toContain('wave([1], 3x2, delay=20ms, fail=13) ; call(1, fail=5) ; remove(1)');
    expect(simpler).toContain('wave([0,1], 3x2, delay=20ms, fail=13) ; call(1) ; remove(1)');
    expect(simpler).toContain('wave([0,1], 3x2, delay=20ms, fail=13) ; call(1, fail=5) ; remove(0)');
    for (const c of all) for (const step of c) expect(() => parseCommandStep(step, 2)).not.toThrow();
  });
});

describe('failureKind', () => {
  it('keeps the kind of failure and drops its details', () => {
    const a =
      'ModelDisagreement [ERR_MODEL_DISAGREEMENT]: history not linearizable: after 8 of 14 operations, none of [c1 stats()]';
    const b =
      'ModelDisagreement [ERR_MODEL_DISAGREEMENT]: history not linearizable: after 3 of 5 operations, none of [c2 add(0)]';
    const c = 'ModelDisagreement [ERR_MODEL_DISAGREEMENT]: deadlock: the final close cannot finish';
    expect(failureKind(a)).toBe(failureKind(b));
    expect(failureKind(a)).not.toBe(failureKind(c));
    expect(failureKind('ModelDisagreement [X]: server 0 holds 2 open connections')).toBe('ModelDisagreement server');
  });
});
