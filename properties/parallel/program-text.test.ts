import { mkdtemp, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { REGRESSIONS_DIR, replayFile } from '../replay.js';
import { describeProgram, programArbitrary } from './program.js';
import { ProgramTextError, parseProgram } from './program-text.js';

describe('program text', () => {
  it('reads back every program describeProgram writes', () => {
    fc.assert(
      fc.property(programArbitrary({ addresses: 3, maxOps: 16, controllable: true, networkFaults: true }), (p) => {
        expect(describeProgram(parseProgram(describeProgram(p)))).toEqual(describeProgram(p));
      }),
      { numRuns: 300 },
    );
  });

  it('says which line it cannot read', () => {
    expect(() => parseProgram(['c1: add(0) ; jump(1)'])).toThrow(ProgramTextError);
    expect(() => parseProgram(['c1: kill(0)'])).toThrow(/outside the nemesis line/);
    expect(() => parseProgram(['nemesis: fault(0, flood)'])).toThrow(/unknown fault/);
  });
});

describe('a parallel failure file replays its steps, not its seed and path', () => {
  it('still reproduces when seed and path no longer name any case (as after a change to the generators)', async () => {
    const dir = await mkdtemp(path.join(tmpdir(), 'steps-'));
    try {
      const found = (await readdir(REGRESSIONS_DIR)).find(
        (f) => f.includes('pool-linearizable') && f.includes('stats-inflight-zero'),
      );
      expect(found).toBeDefined();
      const { digest: _digest, ...failure } = JSON.parse(await readFile(new URL(found as string, REGRESSIONS_DIR), 'utf8'));
      // A path no generator of today could follow, and another seed: only the steps are left to go by.
      const file = path.join(dir, 'moved.json');
      await writeFile(file, JSON.stringify({ ...failure, path: '9:9:9:9:9:9', seed: failure.seed + 1 }));
      const r = await replayFile(file);
      expect(r.reproduced).toBe(true);
      expect(r.result.error).toMatch(/not linearizable/);
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });
});
