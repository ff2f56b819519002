import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { initialModel } from '../models/pool-model.js';
import { ownAdapter } from './adapter/adapters/own-pool.js';
import { settleWaves } from './commands.js';
import { SimulatedBackend } from './simulated-backend.js';
import { World } from './world.js';

// The wave check used to compare an array the wave filled itself with its own length: it could not
// fail. It now compares the ids issued (recorded as each request goes out) with those that settled.
describe('lost requests are named from what was issued', () => {
  it('a request that never settles is reported by id', async () => {
    await fc.assert(
      fc.asyncProperty(fc.scheduler(), async (s) => {
        const w = new World(new SimulatedBackend(1), s, ownAdapter, 'lost');
        const m = initialModel(1);
        const wave = m.nextWaveId;
        m.waves.set(wave, {
          id: wave,
          addresses: [0],
          requests: 1,
          pendingReuse: 0,
          mayCreate: 0,
          disturbed: new Set(),
          poolClosedDuring: false,
        });
        m.nextWaveId += 1;
        w.issued.set('lost-1', { wave, settled: false });
        w.waves.set(wave, new Promise(() => {}));
        await expect(settleWaves(m, w)).rejects.toThrow(/requests issued but never settled \(lost\): lost-1/);
        w.waves.clear();
        await w.dispose();
      }),
      { numRuns: 1 },
    );
  });
});
