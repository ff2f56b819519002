import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { ownAdapter } from '../adapter/adapters/own-pool.js';
import type { Program } from '../parallel/program.js';
import { ControlledScheduler } from '../scheduling/controlled-scheduler.js';
import { pctScheduler } from '../scheduling/pct-scheduler.js';
import { PctStrategy, TrailStrategy } from '../scheduling/strategies.js';
import { findVariant, variantAdapter } from '../variants/index.js';
import { modelCheckOnWorkers } from '../workers/model-check-workers.js';
import { PropertyWorkers } from '../workers/worker-pool.js';
import { exploreProgram } from './dfs-explorer.js';
import { modelCheck, replayTrail } from './model-check.js';
import { canonicalProgram, programsOfSize } from './program-space.js';
import { runWith } from './run-program.js';

const call = (i: number) => ({ f: 'call' as const, i, failCode: 0 });

describe('model-check on a tiny bound', () => {
  it('exhausts every schedule of every 2-operation program on the real pool, with no violation', async () => {
    const r = await modelCheck(ownAdapter, { maxCommands: 2 });
    expect(r.failure).toBeUndefined();
    expect(r.exhausted).toBe(true);
    expect(r.programs).toBe(programsOfSize(2).length);
    expect(r.states).toBeGreaterThan(r.programs);
  });

  it('finds a planted bug (stats-inflight-zero) in a shortest program, and its trail replays', async () => {
    const adapter = await variantAdapter(findVariant('stats-inflight-zero') as NonNullable<ReturnType<typeof findVariant>>);
    const r = await modelCheck(adapter, { maxCommands: 2 });
    expect(r.failure?.error).toMatch(/not linearizable.*stats\(\)/);
    expect(r.exhausted).toBe(false);
    // It reproduced on its trail: a violation, not a flake.
    expect(r.flakes).toEqual([]);
    const f = r.failure as NonNullable<typeof r.failure>;
    expect((await replayTrail(f.program, adapter, 2, f.trail)).kind).toBe('failed');
    expect((await replayTrail(f.program, ownAdapter, 2, f.trail)).kind).toBe('passed');
  });
});

describe('model-check on worker processes', () => {
  it('splits each size over the workers and finds what one process finds: same counts, same bug', async () => {
    const workers = PropertyWorkers.start(2);
    try {
      const alone = await modelCheck(ownAdapter, { maxCommands: 2 });
      const spread = await modelCheckOnWorkers(workers, undefined, { maxCommands: 2 }, 2);
      expect(spread).toMatchObject({
        exhausted: true,
        programs: alone.programs,
        runs: alone.runs,
        schedules: alone.schedules,
        states: alone.states,
      });
      expect(spread.sizes).toEqual(alone.sizes);
      const planted = await modelCheckOnWorkers(workers, 'stats-inflight-zero', { maxCommands: 2 }, 2);
      expect(planted.failure?.error).toMatch(/not linearizable.*stats\(\)/);
      expect(planted.exhausted).toBe(false);
    } finally {
      await workers.close();
    }
  });
});

describe('the reductions', () => {
  const program: Program = { prefix: [], branches: [[call(0), { f: 'remove', i: 0 }], [call(1)]], nemesis: [], hold: null };

  it('sleep sets and the state hash explore fewer runs, and reach the same verdict as the full search', async () => {
    const full = await exploreProgram(program, ownAdapter, 2, { sleepSets: false, stateHash: false });
    const reduced = await exploreProgram(program, ownAdapter, 2);
    expect(full.failure?.error).toBeUndefined();
    expect(reduced.failure?.error).toBeUndefined();
    expect(full.exhausted && reduced.exhausted).toBe(true);
    expect(reduced.runs).toBeLessThan(full.runs / 4);
    const broken = await variantAdapter(findVariant('close-without-drain') as NonNullable<ReturnType<typeof findVariant>>);
    const racy: Program = { prefix: [], branches: [[call(0)], [{ f: 'remove', i: 0 }]], nemesis: [], hold: null };
    expect((await exploreProgram(racy, broken, 2, { sleepSets: false, stateHash: false })).failure).toBeDefined();
    expect((await exploreProgram(racy, broken, 2)).failure).toBeDefined();
  });

  it('treats programs that differ by renaming servers or reordering clients as one', () => {
    const a = canonicalProgram({ prefix: [], branches: [[call(1)], [call(0)]], nemesis: [], hold: 1 }, 2);
    const b = canonicalProgram({ prefix: [], branches: [[call(0)], [call(1)]], nemesis: [], hold: 0 }, 2);
    expect(a.key).toBe(b.key);
  });
});

describe('the controlled scheduler', () => {
  it('releases tasks in the order the strategy picks, one at a time', async () => {
    const s = new ControlledScheduler(new TrailStrategy([2, 1, 0]));
    const order: string[] = [];
    const tasks = ['a', 'b', 'c'].map((x) => s.schedule(Promise.resolve(x), x).then((v) => order.push(v)));
    await s.waitFor(Promise.all(tasks));
    expect(order).toEqual(['c', 'b', 'a']);
    expect(s.trail).toEqual([2, 1, 0]);
    expect(s.count()).toBe(0);
  });

  it('PCT runs the highest-priority lane first and is deterministic for a seed', async () => {
    const run = async (seed: number) => {
      const s = new ControlledScheduler(new PctStrategy(seed, { depth: 2, steps: 4 }));
      const order: string[] = [];
      const lane = async (name: string) => {
        for (let k = 0; k < 2; k++) order.push(await s.schedule(Promise.resolve(`${name}${k}`), `${name} op(${k})`));
      };
      await s.waitFor(Promise.all([lane('c1'), lane('c2')]));
      return order.join(' ');
    };
    const seen = new Set<string>();
    for (let seed = 0; seed < 30; seed++) {
      const once = await run(seed);
      expect(await run(seed)).toBe(once);
      seen.add(once);
    }
    // With one change point, PCT produces more than the two serial orders.
    expect(seen.size).toBeGreaterThan(2);
  });

  it('pctScheduler() drops in for fc.scheduler() in an async property', async () => {
    await fc.assert(
      fc.asyncProperty(pctScheduler({ depth: 2 }), async (s) => {
        const program: Program = { prefix: [], branches: [[call(0)], [{ f: 'stats' }]], nemesis: [], hold: null };
        const r = await runWith(program, ownAdapter, 2, s);
        expect(r.kind).toBe('passed');
      }),
      { numRuns: 10, seed: 1 },
    );
  });
});
