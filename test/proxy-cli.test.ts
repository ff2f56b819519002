import { spawn } from 'node:child_process';
import { once } from 'node:events';
import * as grpc from '@grpc/grpc-js';
import { describe, expect, it } from 'vitest';
import { TS_NODE_ARGS } from '../src/loader/node-args.js';
import { loadTestProto } from '../src/proto/load-test-proto.js';
import { TestServer } from '../src/server/test-server.js';
import { ROOT, runCli } from './run-cli.js';

describe('npm run proxy', () => {
  it('prints its address, forwards through its toxics, and exits 0 on SIGTERM', async () => {
    await using server = await TestServer.start();
    const child = spawn(
      process.execPath,
      [
        ...TS_NODE_ARGS,
        'src/cli/proxy.ts',
        '--upstream',
        server.address,
        '--listen',
        `${server.host}:0`,
        '--toxic',
        'latency:100@down',
      ],
      { cwd: ROOT, stdio: ['ignore', 'pipe', 'pipe'] },
    );
    let stdout = '';
    let stderr = '';
    child.stderr.on('data', (d) => {
      stderr += d;
    });
    const exited = once(child, 'close') as Promise<[number | null]>;
    try {
      const address = await new Promise<string>((resolve, reject) => {
        child.stdout.on('data', (d) => {
          stdout += d;
          const line = stdout.split('\n');
          if (line.length > 1) resolve(line[0] ?? '');
        });
        void exited.then(() => reject(new Error(`proxy exited early: ${stderr}`)));
      });
      expect(address).toMatch(new RegExp(`^${server.host.replaceAll('.', '\\.')}:\\d+$`));
      expect(stderr).toMatch(/-> .*, seed \d+, toxics: latency\n/);
      const { Client } = loadTestProto();
      const client = new Client(address, grpc.credentials.createInsecure(), { 'grpc.use_local_subchannel_pool': 1 });
      try {
        const t0 = performance.now();
        await new Promise((resolve, reject) =>
          client.Call({ requestId: 'via-proxy' }, new grpc.Metadata(), { deadline: Date.now() + 10_000 }, (e, r) =>
            e ? reject(e) : resolve(r),
          ),
        );
        expect(performance.now() - t0).toBeGreaterThanOrEqual(95);
        expect(server.ledger.timesSeen('via-proxy')).toBe(1);
      } finally {
        client.close();
      }
      child.kill('SIGTERM');
      const [code] = await exited;
      expect(code).toBe(0);
      expect(stdout).toMatch(/closed: accepted 1, bytes up \d+, down \d+, swallowed 0, reset 0/);
    } finally {
      if (child.exitCode === null && child.signalCode === null) {
        child.kill('SIGKILL');
        await exited;
      }
    }
  });

  it('--help documents the toxics and exits 0', async () => {
    const r = await runCli('proxy', ['--help']);
    expect(r.code).toBe(0);
    expect(r.stdout).toMatch(/stall-after:BYTES/);
    expect(r.stdout).toMatch(/@up \(client to\s+server\), @down/);
  });

  it.each([
    [[], /--upstream HOST:PORT is required/],
    [['--upstream', '127.0.0.1:1', '--toxic', 'latency:-5'], /toxic "latency:-5": MS must be a non-negative number/],
    [['--upstream', '127.0.0.1:1', '--toxic', 'reset@up'], /reset acts on whole connections and takes no @direction/],
    [['--upstream', '127.0.0.1:1', '--listen', 'nowhere'], /--listen takes HOST:PORT/],
    [['--upstream', '127.0.0.1:0'], /upstream must be host:port with a port in 1\.\.65535/],
    [['--upstream', '127.0.0.1:1', '--bogus'], /Unknown option '--bogus'/],
  ])('%j exits 2 with a clear message', async (args, message) => {
    const r = await runCli('proxy', args);
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(message);
  });
});
