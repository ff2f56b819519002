import { describe, expect, it } from 'vitest';
import { summarize } from '../metrics/metrics-summary.js';
import { TestEnvironment } from './test-environment.js';

describe('TestEnvironment', () => {
  it('hands out a server, clients over its pool and shared metrics, and releases all on dispose', async () => {
    let server: TestEnvironment['server'] | undefined;
    {
      await using env = await TestEnvironment.start();
      server = env.server;
      const custom = env.newPool('custom');
      const a = env.client();
      const b = env.client({ pool: custom });
      await Promise.all([a.call(), a.call(), b.call()]);
      expect(summarize(env.metrics)).toMatchObject({ totalRequests: 3, successfulRequests: 3 });
      // Default pool and custom pool: one connection each, as the server counts them.
      expect(env.server.ledger.snapshot()).toMatchObject({ acceptedConnections: 2, openConnections: 2 });
    }
    expect(server.state).toBe('closed');
    expect(server.ledger.snapshot().openConnections).toBe(0);
  });
});
