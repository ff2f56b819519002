import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { connect } from 'node:net';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startCli } from './run-cli.js';

let dir: string;
beforeAll(async () => {
  dir = await mkdtemp(path.join(tmpdir(), 'bench-cli-'));
});
afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

/** Starts `npm run bench -- --quick` and resolves once its server process is up, with that server's address. */
async function startBench(args: string[] = []) {
  const cli = startCli('bench', ['--quick', ...args]);
  await cli.waitFor(/^bench: server (\S+) /m);
  const address = /^bench: server (\S+) /m.exec(cli.stdout())?.[1] as string;
  return { ...cli, address };
}

/** Whether anything accepts a TCP connection at `address` (host:port). */
function listening(address: string): Promise<boolean> {
  const i = address.lastIndexOf(':');
  return new Promise((resolve) => {
    const socket = connect({ host: address.slice(0, i), port: Number(address.slice(i + 1)) });
    socket.once('connect', () => {
      socket.destroy();
      resolve(true);
    });
    socket.once('error', () => resolve(false));
  });
}

async function eventuallyClosed(address: string, timeoutMs = 5_000): Promise<boolean> {
  const until = Date.now() + timeoutMs;
  while (Date.now() < until) {
    if (!(await listening(address))) return true;
    await new Promise((r) => setTimeout(r, 100));
  }
  return false;
}

describe('npm run bench stopped early never leaves its server process behind (issue 14.2, 14.3)', () => {
  it('SIGTERM: exits 143, server stopped, partial figures marked interrupted', async () => {
    const json = path.join(dir, 'bench.json');
    const bench = await startBench(['--json', json]);
    expect(await listening(bench.address)).toBe(true);
    bench.child.kill('SIGTERM');
    expect(await bench.exited).toBe(143);
    expect(await eventuallyClosed(bench.address, 1_000)).toBe(true);
    expect(bench.stdout()).toContain('bench interrupted by SIGTERM: server stopped');
    expect(JSON.parse(await readFile(json, 'utf8'))).toMatchObject({ interrupted: 'SIGTERM', quick: true });
  });

  it('SIGKILL (no chance to clean up): the server process notices and exits by itself', async () => {
    const bench = await startBench();
    bench.child.kill('SIGKILL');
    await bench.exited;
    expect(await eventuallyClosed(bench.address)).toBe(true);
  });

  it('stdout closed (piped into head): exits 141 quietly and stops its server', async () => {
    const bench = await startBench();
    bench.child.stdout?.destroy();
    expect(await bench.exited).toBe(141);
    expect(await eventuallyClosed(bench.address, 1_000)).toBe(true);
    expect(bench.stderr()).not.toMatch(/EPIPE|\n\s+at /);
  });
});
