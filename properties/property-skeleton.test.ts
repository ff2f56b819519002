import net from 'node:net';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { checkProperty, noRunsInFlight, type PropertySpec, type RunEnv } from './property-skeleton.js';

/** A property of one run of one constant case, whose run is `body` (the backend disposed after it). */
function oneRun(name: string, body: (env: RunEnv) => Promise<void>): PropertySpec<number> {
  return {
    name,
    needs: {},
    defaults: { runs: 1, maxCommands: 1, addresses: 1 },
    supportsTarget: false,
    cases: () => fc.constant(0),
    size: () => 1,
    describe: () => ['one run'],
    async run(env) {
      try {
        await body(env);
      } finally {
        await env.backend.dispose();
      }
    },
  };
}

/** A promise and its resolve. */
function gate(): { promise: Promise<void>; open: () => void } {
  let open = () => {};
  const promise = new Promise<void>((resolve) => {
    open = resolve;
  });
  return { promise, open };
}

async function listening(): Promise<net.Server> {
  const server = net.createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return server;
}

function closed(server: net.Server): Promise<void> {
  return new Promise<void>((resolve) => server.close(() => resolve()));
}

describe('the leak check counts only its own run', () => {
  it("a run its check's time limit cut off keeps going: what it opens meanwhile is not counted against the next check's run", async () => {
    // fast-check's time limit does not stop a run: it stops waiting for it. In a worker process,
    // the next property's check starts while the run goes on (a live run reconnecting to its
    // servers, seen as `TCPSocketWrap: 6 now, 4 before (+2)` in keys-isolate's leak check).
    const goOn = gate();
    const opened = gate();
    const finish = gate();
    const cutOff = await checkProperty(
      oneRun('cut-off', async () => {
        await goOn.promise;
        const server = await listening();
        opened.open();
        await finish.promise;
        await closed(server);
      }),
      { layer: 'simulated', runs: 1, timeLimitMs: 20 },
    );
    expect(cutOff.interrupted).toBe(true);

    const next = await checkProperty(
      oneRun('next', async () => {
        // The cut-off run opens a listening server during this run, and keeps it past the check.
        goOn.open();
        await opened.promise;
      }),
      { layer: 'simulated', runs: 1 },
    );
    finish.open();
    await noRunsInFlight();
    expect(next.error).toBeUndefined();
    expect(next.passed).toBe(true);
    // It could not tell its own leaks: it says so rather than count another run's handles.
    expect(next.commandCounts?.['seen:leak-check']).toBeUndefined();
    expect(next.commandCounts?.['seen:leak-check-skipped']).toBe(1);
  });

  it('once the cut-off run has ended, a run that leaks is caught again', async () => {
    const finish = gate();
    const cutOff = await checkProperty(
      oneRun('cut-off', () => finish.promise),
      { layer: 'simulated', runs: 1, timeLimitMs: 20 },
    );
    expect(cutOff.interrupted).toBe(true);
    finish.open();
    // Its body, then its teardown and its own leak check.
    await noRunsInFlight();

    let leaked: net.Server | undefined;
    const leaking = await checkProperty(
      oneRun('leaking', async () => {
        leaked = await listening();
      }),
      { layer: 'simulated', runs: 1, noShrink: true },
    );
    if (leaked) await closed(leaked);
    expect(leaking.passed).toBe(false);
    expect(leaking.error).toMatch(/ERR_RESOURCE_LEAK|ResourceLeakError/);
    expect(leaking.error).toMatch(/TCPServerWrap: \d+ now, \d+ before \(\+1\)/);
  });
});

describe('a check returns once its own runs have ended', () => {
  it('a run its time limit cut off has finished (teardown included) when the check returns', async () => {
    // Without the wait, the check returned at its 20 ms limit with the run still going, and the
    // worker's next check ran beside it (foreign accepted connections, foreign sockets).
    let ended = false;
    const cutOff = await checkProperty(
      oneRun('slow', async () => {
        // The run's own work, longer than the check's time limit.
        await new Promise<void>((resolve) => setTimeout(resolve, 150));
        ended = true;
      }),
      { layer: 'simulated', runs: 1, timeLimitMs: 20 },
    );
    expect(cutOff.interrupted).toBe(true);
    expect(cutOff.passed).toBe(true);
    expect(ended).toBe(true);
  });
});
