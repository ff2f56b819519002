import { describe, expect, it } from 'vitest';
import { checkEnvironmentProperty, Lifecycle } from './environment-property.js';
import { ProgramTextError } from './parallel/program-text.js';
import { endRun, runsInFlight, startRun } from './runs-in-flight.js';
import { type BrokenVariant, findVariant } from './variants/index.js';

/**
 * The seed's `TestEnvironment` in generated lifecycles (`environment-lifecycle`, part of the main
 * job on the live layer): the real one passes; a realistic broken dispose is caught and shrunk.
 */
describe('environment-lifecycle', () => {
  it('the real TestEnvironment: every call served once and counted once, nothing left after dispose', async () => {
    const r = await checkEnvironmentProperty({ layer: 'live', runs: 25, seed: 20_261_206 });
    expect(r.passed, r.error).toBe(true);
    expect(r.runs).toBe(25);
    // Every run was checked for leaks, and the lifecycles made pools and disposed in flight.
    expect(r.commandCounts?.['leak-check']).toBe(25);
    expect(r.commandCounts?.['custom-pool']).toBeGreaterThan(0);
    expect(r.commandCounts?.['dispose-in-flight']).toBeGreaterThan(0);
  });

  // A realistic broken variant: dispose closes the environment's own pool and forgets the pools it
  // made with newPool (their channels and sockets stay open).
  it('catches a dispose that forgets the pools made with newPool, shrunk to its 3 steps', async () => {
    const variant = findVariant('env-dispose-forgets-custom-pools');
    const r = await checkEnvironmentProperty({ layer: 'live', runs: 50, seed: 20_261_206, variant });
    expect(r.passed).toBe(false);
    expect(r.error).toMatch(/after dispose: (TCPSocketWrap|GrpcJsChannel)/);
    expect(r.counterexample).toEqual(['pools(1)', 'client(pool=1, calls=0)', 'dispose(when=after, twice=no)']);
  });

  // The self-check once credited this property with a connector variant it cannot see: a hung
  // pool-linearizable run its time limit had cut off kept opening handles beside the lifecycles.
  it('does not leak-check a lifecycle that another run in this process overlapped', async () => {
    const other = startRun();
    const timers: NodeJS.Timeout[] = [];
    // The other run keeps opening handles (timers) while the lifecycles run.
    const opening = setInterval(() => timers.push(setTimeout(() => undefined, 60_000)), 2);
    try {
      const r = await checkEnvironmentProperty({ layer: 'live', runs: 5, seed: 1 });
      expect(r.passed, r.error).toBe(true);
      expect(r.commandCounts?.['leak-check-skipped']).toBe(5);
      expect(r.commandCounts?.['leak-check']).toBeUndefined();
    } finally {
      clearInterval(opening);
      for (const t of timers) clearTimeout(t);
      endRun(other);
    }
  });

  // A time limit cuts a lifecycle off (fast-check stops waiting, the run goes on): the check must
  // not return before it has ended, or its broken dispose's pools reconnect beside the next check.
  it('returns only once a lifecycle its time limit cut off has ended', async () => {
    const variant = findVariant('env-dispose-forgets-custom-pools');
    const r = await checkEnvironmentProperty({ layer: 'live', runs: 50, seed: 7, timeLimitMs: 300, variant });
    expect(runsInFlight()).toBe(0);
    expect(r.runs).toBeGreaterThan(0);
  });

  // Another realistic broken variant, for the metrics check: a client on a pool made with newPool
  // records into metrics of its own, so the shared metrics miss its calls.
  it('catches clients on a custom pool counted apart from the shared metrics', async () => {
    const variant: BrokenVariant = {
      name: 'env-custom-pool-metrics-apart',
      bugClass: 'stats and metrics',
      description: "a client on a newPool pool records into metrics of its own, not the environment's",
      patches: [
        {
          file: 'env/test-environment.ts',
          find: '{ pool: this.pool, metrics: this.metrics, ...options }',
          replace: '{ pool: this.pool, ...options, metrics: options.pool ? new LoadTestMetrics() : this.metrics }',
        },
      ],
      shortest: { commands: 3, why: 'a pool, a client on it that calls, the dispose' },
    };
    const r = await checkEnvironmentProperty({ layer: 'live', runs: 50, seed: 20_261_206, variant });
    expect(r.passed).toBe(false);
    expect(r.error).toMatch(/the shared metrics count 0 requests for 1 calls/);
    expect(r.counterexample).toEqual(['pools(1)', 'client(pool=1, calls=0)', 'dispose(when=after, twice=no)']);
  });

  it('is skipped on the simulated layer and for another pool, saying why', async () => {
    expect((await checkEnvironmentProperty({ layer: 'simulated' })).skipped).toMatch(/simulated network has neither/);
    expect((await checkEnvironmentProperty({ layer: 'live', pool: 'channel-map' })).skipped).toMatch(/no seam for another pool/);
  });

  it('reads its steps back, and refuses steps it cannot run with what was wrong', () => {
    const l = new Lifecycle(
      2,
      [
        { pool: 2, calls: [0, 14] },
        { pool: 0, calls: [] },
      ],
      true,
      false,
    );
    expect(Lifecycle.parse(l.steps())).toEqual(l);
    expect(() => Lifecycle.parse(['client(pool=1, calls=0)', 'dispose(when=after, twice=no)'])).toThrow(
      /client on pool 1, but only 0 pool\(s\) were made/,
    );
    expect(() => Lifecycle.parse(['client(pool=0, calls=0)'])).toThrow(ProgramTextError);
    expect(() => Lifecycle.parse(['client(pool=0, calls=x)', 'dispose(when=after, twice=no)'])).toThrow(/gRPC codes/);
  });
});
