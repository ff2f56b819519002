import { spawn } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import path from 'node:path';
import * as serverGrpc from 'grpc-js-server';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { TS_NODE_ARGS } from '../src/loader/node-args.js';
import { grpcJs } from '../src/pool/grpc-js-release.js';
import { loadTestService } from '../src/proto/load-test-proto.js';
import { ROOT, runCli } from './run-cli.js';

// The client stack on a release of its own (--grpc-js), the servers on their pinned copy. Every
// release used here comes from the lockfile (npm aliases in devDependencies): nothing is downloaded.

const SERVER_RELEASE = (createRequire(import.meta.url)('grpc-js-server/package.json') as { version: string }).version;
const CASE_1_12_2 = path.join(ROOT, 'test', 'fixtures', 'cancelled-on-stop-grpc-js-1.12.2.json');

let dir: string;
beforeAll(async () => {
  dir = await mkdtemp(path.join(tmpdir(), 'grpc-js-release-'));
});
afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

/** Runs `test/fixtures/client-call.ts` against `address` with the client on the package in `releaseDir`. */
function clientCall(address: string, releaseDir: string): Promise<{ code: number | null; stdout: string; stderr: string }> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [...TS_NODE_ARGS, 'test/fixtures/client-call.ts', address], {
      cwd: ROOT,
      env: { ...process.env, GRPC_POOL_GRPC_JS_DIR: releaseDir },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d) => {
      stdout += d;
    });
    child.stderr.on('data', (d) => {
      stderr += d;
    });
    child.once('error', reject);
    child.once('close', (code) => resolve({ code, stdout, stderr }));
  });
}

describe('the client stack runs on the release asked for, the servers on theirs', () => {
  it('a server on the pinned copy sees the user agent of release 1.8.0 when the client runs on it', async () => {
    const agents: string[] = [];
    const server = new serverGrpc.Server();
    server.addService(loadTestService(), {
      Call: (call: serverGrpc.ServerUnaryCall<{ requestId: string }, unknown>, callback: serverGrpc.sendUnaryData<unknown>) => {
        agents.push(String(call.metadata.get('user-agent')[0]));
        callback(null, { requestId: call.request.requestId, payload: Buffer.alloc(0), timesSeen: 1, serverId: 'ua' });
      },
    });
    const port = await new Promise<number>((resolve, reject) =>
      server.bindAsync('127.0.0.1:0', serverGrpc.ServerCredentials.createInsecure(), (e, p) => (e ? reject(e) : resolve(p))),
    );
    try {
      const r = await clientCall(`127.0.0.1:${port}`, path.join(ROOT, 'node_modules', 'grpc-js-1.8.0'));
      expect(r.stderr).toBe('');
      expect(r.stdout.trim()).toBe('1.8.0');
      expect(agents).toHaveLength(1);
      expect(agents[0]).toMatch(/^grpc-node-js\/1\.8\.0\b/);
      expect(SERVER_RELEASE).not.toBe('1.8.0');
    } finally {
      server.forceShutdown();
    }
  });

  it('in one process, the client and the servers hold separate module instances', () => {
    expect(grpcJs()).not.toBe(serverGrpc);
    expect(grpcJs().Channel).not.toBe(serverGrpc.Channel);
  });

  it('properties --grpc-js 1.8.0 runs the live layer on it in every worker, and says so', async () => {
    const r = await runCli('properties', [
      // Two runs, one a worker: on 1.8.0 each run's leak check waits out the deadline timers that
      // release leaves pending (grpc/grpc-node#2332; see lingeringDeadlineTimers), about a second.
      ...['--grpc-js', '1.8.0', '--layer', 'live', '--property', 'pool-matches-model', '--runs', '2'],
      ...['--workers', '2', '--seed', '7', '--no-regressions', '--failures-dir', path.join(dir, 'f18')],
    ]);
    expect(r.stderr).toBe('');
    expect(r.code).toBe(0);
    expect(r.stdout).toMatch(
      new RegExp(`^seed 7 {2}layers live {2}grpc-js 1\\.8\\.0 \\(servers ${SERVER_RELEASE.replaceAll('.', '\\.')}\\)$`, 'm'),
    );
    expect(r.stdout).toMatch(/pool-matches-model \[live, 2 workers\] +runs +2 .* PASS {2}grpc-js 1\.8\.0$/m);
  });
});

describe('--grpc-js refuses what it cannot run: usage exit 2, environment exit 3', () => {
  it('a version that is not X.Y.Z is bad usage', async () => {
    const r = await runCli('properties', ['--grpc-js', '1.8', '--layer', 'simulated']);
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(/--grpc-js: "1\.8" is not a 1\.x release of @grpc\/grpc-js/);
  });

  it('a release npm cannot install (here: no registry) is exit 3 with npm’s reason, and nothing runs', async () => {
    const cache = path.join(dir, 'empty-cache');
    const r = await runCli('replay', [CASE_1_12_2, '--grpc-js', '1.9.99'], 120_000, {
      GRPC_POOL_PROPS_CACHE: cache,
      // A registry on a closed loopback port, no retries: npm fails at once, offline.
      npm_config_registry: 'http://127.0.0.1:9/',
      npm_config_fetch_retries: '0',
    });
    expect(r.code).toBe(3);
    expect(r.stderr).toMatch(/error \[ERR_ENVIRONMENT\]: --grpc-js: @grpc\/grpc-js 1\.9\.99 cannot be installed: .+/);
    expect(r.stdout).not.toMatch(/replaying|reproduced/);
  });

  it('a client release without an API the client stack calls stops the live layer with exit 3, no counterexample', async () => {
    const hook = path.join(ROOT, 'test', 'fixtures', 'grpc-js-without-watch.mjs');
    const failures = path.join(dir, 'no-watch');
    const r = await runCli(
      'properties',
      ['--layer', 'live', '--property', 'keys-isolate', '--runs', '5', '--no-regressions', '--failures-dir', failures],
      120_000,
      { NODE_OPTIONS: `--import=${hook}` },
    );
    expect(r.code).toBe(3);
    expect(r.stderr).toMatch(/\[ERR_SETUP\].*lacks Channel\.prototype\.watchConnectivityState, which the client stack calls/);
    expect(r.stdout).not.toMatch(/shrunk counterexample|FAIL/);
  });
});

describe('a case found on 1.12.2 (a call in flight when its server stops ends CANCELLED)', () => {
  it('replays on its recorded release, passes on 1.12.4, and bisect names 1.12.4 as the first good release', async () => {
    const there = await runCli('replay', [CASE_1_12_2, '--repeat', '2']);
    expect(there.stdout).toContain('client grpc-js 1.12.2');
    expect(there.stdout).toMatch(/reproduced 2\/2/);
    expect(there.code).toBe(1);
    const fixed = await runCli('replay', [CASE_1_12_2, '--repeat', '2', '--grpc-js', '1.12.4']);
    expect(fixed.stdout).toMatch(/reproduced 0\/2/);
    expect(fixed.code).toBe(0);
    const b = await runCli('bisect', [
      CASE_1_12_2,
      '--good',
      '1.12.4',
      '--bad',
      '1.12.2',
      '--replays',
      '2',
      '--releases',
      '1.12.2,1.12.4',
    ]);
    expect(b.stdout).toMatch(/^ {2}1\.12\.2 +reproduced 2\/2 {2}FAILS$/m);
    expect(b.stdout).toMatch(/^ {2}1\.12\.4 +reproduced 0\/2 {2}passes$/m);
    expect(b.stdout).toMatch(
      /^first good release: 1\.12\.4 \(reproduced 0\/2\); the release before it, 1\.12\.2, reproduced 2\/2$/m,
    );
    expect(b.code).toBe(0);
  });
});
