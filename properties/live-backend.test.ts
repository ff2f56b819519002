import { describe, expect, it } from 'vitest';
import { LiveBackend } from './live-backend.js';

const hostOf = (address: string) => address.slice(0, address.lastIndexOf(':'));

describe('LiveBackend', () => {
  // Found by the default self-check (2026-12-06): three variants were credited to
  // pool-linearizable with an unfaulted server that accepted more connections than the pool made
  // ("ledger(accepted=[1,3])"). Every run's proxies listened on 127.0.0.1, so a client of an
  // earlier run (cut off by a time limit, or a variant's leaked channel) still redialing its proxy's
  // freed port reached the next run's proxy when that run got the same port.
  it("puts each backend's fault proxies on a loopback host of their own, so no later run can be reached at an earlier run's address", async () => {
    const a = await LiveBackend.start(2, { networkFaults: true });
    const b = await LiveBackend.start(2, { networkFaults: true });
    try {
      const hostsA = new Set(a.addresses.map(hostOf));
      const hostsB = new Set(b.addresses.map(hostOf));
      expect([...hostsA].filter((h) => hostsB.has(h))).toEqual([]);
      for (const h of [...hostsA, ...hostsB]) expect(h).toMatch(/^127\.\d+\.\d+\.\d+$/);
    } finally {
      await Promise.all([a.dispose(), b.dispose()]);
    }
  });
});
