import { afterAll } from 'vitest';
import { countNetworkHandles, findLeakedHandles } from '../../src/harness/leak-check.js';

// Taken when the test file loads, before any of its tests: the runner's own pipes are not leaks.
const baseline = countNetworkHandles();

// Runs after every test file: a test that leaves a listening server, an open socket or a
// channel's connection behind fails the suite here, naming what it left.
afterAll(async () => {
  const leaked = await findLeakedHandles({ baseline, settleMs: 3_000 });
  if (leaked.length > 0) {
    throw new Error(`test file left open handles: ${leaked.join(', ')} (close every server, pool and client it opens)`);
  }
});
