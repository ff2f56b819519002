import { type ChildProcess, spawn } from 'node:child_process';
import { describe, expect, it } from 'vitest';
import { percentileChartSvg } from '../src/harness/latency-chart.js';
import { TS_NODE_ARGS } from '../src/loader/node-args.js';
import { TestServer } from '../src/server/test-server.js';
import { ROOT, runCli } from './run-cli.js';

/** The number after `label` in the CLI's output (e.g. `sent 50`), or NaN. */
const figure = (stdout: string, pattern: RegExp): number => Number(pattern.exec(stdout)?.[1] ?? Number.NaN);

/** Starts the load CLI and resolves once its first line (the one naming the server's pid) is out. */
function startLoad(args: string[]): Promise<{ child: ChildProcess; out: () => string; exited: Promise<number | null> }> {
  const child = spawn(process.execPath, [...TS_NODE_ARGS, 'src/cli/load.ts', ...args], {
    cwd: ROOT,
    stdio: ['ignore', 'pipe', 'pipe'],
    env: { ...process.env, NO_COLOR: '1' },
  });
  let stdout = '';
  const exited = new Promise<number | null>((resolve) => child.once('close', (code) => resolve(code)));
  return new Promise((resolve, reject) => {
    child.once('error', reject);
    child.stdout?.on('data', (d) => {
      stdout += d;
      if (stdout.includes('\n')) resolve({ child, out: () => stdout, exited });
    });
    void exited.then((code) => reject(new Error(`load exited ${code} before its first line: ${stdout}`)));
  });
}

const alive = (pid: number): boolean => {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
};

describe('npm run load', () => {
  it('sustained at 50 req/s for 1 s against the embedded server: 50 sent, 50 seen by the server, all ok', async () => {
    const r = await runCli('load', ['--pattern', 'sustained', '--rate', '50', '--duration', '1s']);
    expect(r.stderr).toBe('');
    expect(r.code).toBe(0);
    expect(r.stdout).toMatch(/\(embedded, own process, pid \d+\)/);
    expect(r.stdout).toMatch(/^sent 50 of 50 scheduled$/m);
    expect(r.stdout).toMatch(/server saw 50 of the 50 request ids sent, each once/);
    expect(r.stdout).toMatch(/load sustained: 50\/50 ok \(100\.0%\), 0 failed/);
    expect(figure(r.stdout, /achieved ([\d.]+) req\/s/)).toBeGreaterThan(0);
    expect(r.stdout).not.toMatch(/WARNING|FAILED/);
  });

  it('a spike against --target lasts --duration, and every request it sent is on that server ledger', async () => {
    await using s = await TestServer.start();
    const r = await runCli('load', ['--pattern', 'spike', '--rate', '30', '--duration', '2s', '--target', s.address]);
    expect(r.code).toBe(0);
    expect(r.stdout).toMatch(/spike of 30 at once, then one client sending until 2 s have passed/);
    const sent = figure(r.stdout, /^sent (\d+)/m);
    // The cool-down runs until the duration has passed, so more than the spike and its old 10 requests.
    expect(sent).toBeGreaterThan(40);
    expect(r.stdout).toContain(`load spike: ${sent}/${sent} ok`);
    // Two connections: the pool's one, and the one that read the ledger back at the end.
    expect(s.ledger.snapshot()).toMatchObject({ totalRequests: sent, acceptedConnections: 2 });
    const wallS = figure(r.stdout, /^wall ([\d.]+) s/m);
    expect(wallS).toBeGreaterThanOrEqual(2);
    expect(wallS).toBeLessThan(2 + 10);
  });

  it('against a dead target: stops early, says every request failed with the status by name, exits 1', async () => {
    const s = await TestServer.start();
    const address = s.address;
    await s.close();
    const r = await runCli('load', ['--pattern', 'sustained', '--rate', '100', '--duration', '60s', '--target', address]);
    expect(r.code).toBe(1);
    expect(r.stdout).toMatch(/EVERY REQUEST FAILED: (\d+) of \1 settled requests failed: UNAVAILABLE\(14\) \1/);
    expect(r.stdout).toMatch(/stopped early: every request failed: the first 20 to settle all failed/);
    expect(r.stdout).toMatch(/completed \d+: 0 ok/);
    // Well before the 60 s it was asked to run.
    expect(figure(r.stdout, /^wall ([\d.]+) s/m)).toBeLessThan(30);
  });

  it('a generator that cannot keep up bounds what it has in flight, counts what it did not send, and says so', async () => {
    const r = await runCli('load', ['--rate', '20000', '--duration', '1s', '--max-in-flight', '5']);
    expect(r.code).toBe(1);
    const sent = figure(r.stdout, /^sent (\d+) of 20000 scheduled/m);
    const notSent = figure(r.stdout, /NOT SENT: (\d+) \(generator saturated: 5 requests in flight\)/);
    expect(sent + notSent).toBe(20000);
    expect(notSent).toBeGreaterThan(0);
    expect(r.stdout).toMatch(/WARNING: the generator could not keep up/);
    expect(r.stdout).toMatch(new RegExp(`server saw ${sent} of the ${sent} request ids sent, each once`));
    expect(figure(r.stdout, /^wall ([\d.]+) s/m)).toBeLessThan(1 + 10);
  });

  it('SIGTERM stops the run promptly, prints the partial summary and stops the server it started', async () => {
    const run = await startLoad(['--rate', '50', '--duration', '120s']);
    const pid = figure(run.out(), /pid (\d+)/);
    expect(alive(pid)).toBe(true);
    run.child.kill('SIGTERM');
    const code = await run.exited;
    expect(code).toBe(143);
    expect(run.out()).toMatch(/stopped early: stopped by SIGTERM after [\d.]+ s/);
    expect(run.out()).toMatch(/load sustained: \d+\/\d+ ok/);
    expect(figure(run.out(), /^wall ([\d.]+) s/m)).toBeLessThan(60);
    expect(alive(pid)).toBe(false);
  });

  it('SIGINT against --target: the target sees the connection closed', async () => {
    await using s = await TestServer.start();
    const run = await startLoad(['--rate', '50', '--duration', '120s', '--target', s.address]);
    await s.ledger.waitUntil((l) => l.totalRequests > 0, 30_000, 'the first request');
    run.child.kill('SIGINT');
    expect(await run.exited).toBe(130);
    expect(run.out()).toMatch(/stopped early: stopped by SIGINT/);
    await s.ledger.waitUntil((l) => l.openConnections === 0, 5_000, 'no connection left by the stopped load run');
  });

  it('output closed under it (| head): stops quietly, exit 141, nothing on stderr', async () => {
    const run = await startLoad(['--rate', '50', '--duration', '120s']);
    const pid = figure(run.out(), /pid (\d+)/);
    let stderr = '';
    run.child.stderr?.on('data', (d) => {
      stderr += d;
    });
    run.child.stdout?.destroy();
    expect(await run.exited).toBe(141);
    expect(stderr).toBe('');
    expect(alive(pid)).toBe(false);
  });

  it('-h prints the help, naming the all-fail rule and the in-flight bound', async () => {
    const r = await runCli('load', ['-h']);
    expect(r.code).toBe(0);
    expect(r.stdout).toMatch(/--max-in-flight M/);
    expect(r.stdout).toMatch(/once 20 requests have settled and none succeeded, the run stops/);
  });

  it.each([
    [['--pattern', 'wave'], /--pattern takes sustained, burst, ramp, spike/],
    [['--rate', '0'], /--rate must be in 1\.\./],
    [['--duration', 'long'], /--duration takes a positive duration/],
    [['--target', 'x'], /--target: invalid address/],
    [
      ['--pattern', 'burst', '--rate', '2000'],
      /--rate 2000 is the number of requests at once for burst: it must be <= --max-in-flight \(1000\)/,
    ],
    [['--max-in-flight', '0'], /--max-in-flight must be in 1\.\./],
  ])('%j exits 2', async (args, message) => {
    const r = await runCli('load', args);
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(message);
  });
});

describe('percentileChartSvg', () => {
  it('draws one path and legend entry per series, scaled to the largest latency', () => {
    const svg = percentileChartSvg('t', [
      {
        label: 'bare grpc-js',
        color: '#111',
        points: [
          { percentile: 0, latencyMs: 1 },
          { percentile: 99, latencyMs: 9 },
        ],
      },
      {
        label: 'pooled client',
        color: '#222',
        points: [
          { percentile: 0, latencyMs: 2 },
          { percentile: 99, latencyMs: 10 },
        ],
      },
    ]);
    expect(svg.startsWith('<svg')).toBe(true);
    expect(svg.match(/<path /g)).toHaveLength(2);
    expect(svg).toContain('bare grpc-js');
    expect(svg).toContain('pooled client');
    expect(svg).toContain('>11.0<');
  });
});
