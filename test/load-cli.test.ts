import { describe, expect, it } from 'vitest';
import { percentileChartSvg } from '../src/harness/latency-chart.js';
import { TestServer } from '../src/server/test-server.js';
import { runCli } from './run-cli.js';

describe('npm run load', () => {
  it('sustained at 50 req/s for 1 s against the embedded server: 50 requests, all ok', async () => {
    const r = await runCli('load', ['--pattern', 'sustained', '--rate', '50', '--duration', '1s']);
    expect(r.stderr).toBe('');
    expect(r.code).toBe(0);
    expect(r.stdout).toMatch(/\(embedded, own process\)/);
    expect(r.stdout).toMatch(/load sustained: 50\/50 ok \(100\.0%\), 0 failed/);
  });

  it('a spike against --target reaches that server, every request on its ledger', async () => {
    await using s = await TestServer.start();
    const r = await runCli('load', ['--pattern', 'spike', '--rate', '30', '--target', s.address]);
    expect(r.code).toBe(0);
    expect(r.stdout).toMatch(/load spike: 40\/40 ok/);
    expect(s.ledger.snapshot()).toMatchObject({ totalRequests: 40, acceptedConnections: 1 });
  });

  it('counts failed requests and exits 1 when the target is down', async () => {
    const s = await TestServer.start();
    const address = s.address;
    await s.close();
    const r = await runCli('load', ['--pattern', 'spike', '--rate', '5', '--target', address]);
    expect(r.code).toBe(1);
    expect(r.stdout).toMatch(/load spike: 0\/15 ok \(0\.0%\), 15 failed/);
    expect(r.stdout).toMatch(/failures by code: \{"ERR_GRPC_STATUS:14":15\}/);
  });

  it.each([
    [['--pattern', 'wave'], /--pattern takes sustained, burst, ramp, spike/],
    [['--rate', '0'], /--rate must be in 1\.\./],
    [['--duration', 'long'], /--duration takes a positive duration/],
    [['--target', 'x'], /--target: invalid address/],
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
