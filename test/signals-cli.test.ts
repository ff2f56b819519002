import { type ChildProcess, spawn } from 'node:child_process';
import { mkdtemp, readdir, readFile, rm } from 'node:fs/promises';
import os, { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { SAME_SIGNAL_WINDOW_MS } from '../src/cli/run-main.js';
import { TS_NODE_ARGS } from '../src/loader/node-args.js';
import { ROOT } from './run-cli.js';

// Signals as a terminal and `timeout` deliver them: to the whole process group of `npm run ...`
// (npm, the shell, the CLI, its workers), where npm relays them to its child once more. One Ctrl-C,
// however many copies arrive at once, means "stop and write what you have".

let dir: string;
beforeAll(async () => {
  dir = await mkdtemp(path.join(tmpdir(), 'signals-'));
});
afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

interface NpmRun {
  readonly child: ChildProcess;
  readonly exited: Promise<number | null>;
  waitFor(re: RegExp, timeoutMs?: number): Promise<void>;
  /** Sends `signal` to the whole process group, as a terminal's Ctrl-C does. */
  signalGroup(signal: NodeJS.Signals): void;
  output(): string;
}

/** `npm run -s NAME -- ARGS` in a process group of its own (a terminal's foreground job). */
function startNpm(name: string, args: string[]): NpmRun {
  const child = spawn('npm', ['run', '-s', name, '--', ...args], {
    cwd: ROOT,
    detached: true,
    stdio: ['ignore', 'pipe', 'pipe'],
    env: { ...process.env, NO_COLOR: '1' },
  });
  let out = '';
  child.stdout?.on('data', (d) => {
    out += d;
  });
  child.stderr?.on('data', (d) => {
    out += d;
  });
  // As a shell reports it ($?): an exit code, or 128 + the signal's number for a death by signal
  // (npm re-raises the signal its child stopped on, so that its own parent sees it too).
  const exited = new Promise<number | null>((resolve) =>
    child.once('exit', (code, signal) => resolve(signal ? 128 + (os.constants.signals[signal] ?? 0) : code)),
  );
  return {
    child,
    exited,
    async waitFor(re, timeoutMs = 60_000) {
      const until = Date.now() + timeoutMs;
      while (!re.test(out)) {
        if (Date.now() > until) throw new Error(`no ${re} within ${timeoutMs} ms:\n${out}`);
        // Polls the output it collects (no event says "this text appeared").
        await new Promise((r) => setTimeout(r, 50));
      }
    },
    signalGroup(signal) {
      process.kill(-(child.pid as number), signal);
    },
    output: () => out,
  };
}

/** Kills what a failed test may have left running (the group), then waits for npm to exit. */
async function ended(run: NpmRun): Promise<void> {
  try {
    process.kill(-(run.child.pid as number), 'SIGKILL');
  } catch {
    // Already gone: the normal case.
  }
  await run.exited;
}

const tempFiles = async (folder: string) => (await readdir(folder).catch(() => [])).filter((n) => n.endsWith('.tmp'));

describe('Ctrl-C to the process group of npm run: stop, write what was found, exit 130', () => {
  it.each([
    ['fuzz', 'once', 1],
    ['fuzz', 'three copies within 40 ms (group + npm relay + a launcher)', 3],
  ] as const)('fuzz, SIGINT %s: both reports marked interrupted, no temp file', async (_what, _label, copies) => {
    const out = path.join(dir, `fuzz-${copies}`);
    const run = startNpm('fuzz', ['--time', '60s', '--workers', '2', '--out', out, '--failures-dir', path.join(out, 'failures')]);
    try {
      await run.waitFor(/^fuzz seed /m);
      // Let the workers get going: the signal should find batches in flight.
      await new Promise((r) => setTimeout(r, 1_500));
      for (let k = 0; k < copies; k++) {
        run.signalGroup('SIGINT');
        await new Promise((r) => setTimeout(r, 20));
      }
      expect(await run.exited).toBe(130);
      const report = JSON.parse(await readFile(path.join(out, 'fuzz-report.json'), 'utf8'));
      expect(report.interrupted).toBe('SIGINT');
      expect(await readFile(path.join(out, 'fuzz-junit.xml'), 'utf8')).toContain('name="interrupted" value="SIGINT"');
      expect(await tempFiles(out)).toEqual([]);
    } finally {
      await ended(run);
    }
  });

  it.each([
    ['properties', ['--time', '60s', '--layer', 'simulated'], /^seed /m],
    ['self-check', ['--cap', '30s', '--layer', 'simulated'], /^variant /m],
    ['model-check', ['--max-commands', '4', '--max-programs', '100000'], /size 2/],
    ['bench', ['--quick'], /closed loop/],
  ] as const)('%s: --json written, marked interrupted, exit 130', async (name, args, started) => {
    const json = path.join(dir, `${name}.json`);
    const run = startNpm(name, [...args, '--json', json]);
    try {
      await run.waitFor(started);
      run.signalGroup('SIGINT');
      await new Promise((r) => setTimeout(r, 20));
      run.signalGroup('SIGINT');
      expect(await run.exited).toBe(130);
      expect(JSON.parse(await readFile(json, 'utf8'))).toMatchObject({ interrupted: 'SIGINT' });
      expect(await tempFiles(dir)).toEqual([]);
    } finally {
      await ended(run);
    }
  });

  it('copies of one Ctrl-C are one; a second, deliberate Ctrl-C after the window exits at once', async () => {
    const child = spawn(process.execPath, [...TS_NODE_ARGS, 'test/fixtures/stubborn-cli.ts'], {
      cwd: ROOT,
      detached: true,
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
    try {
      await new Promise<void>((resolve) => child.stdout.on('data', (d) => String(d).includes('ready') && resolve()));
      // The CLI says when it took the first signal; its window counts from then, which on a busy
      // machine can be well after the signal was sent.
      const stopping = new Promise<number>((resolve) =>
        child.stderr.on('data', (d) => String(d).includes('stopping:') && resolve(performance.now())),
      );
      process.kill(-(child.pid as number), 'SIGINT');
      await new Promise((r) => setTimeout(r, 20));
      process.kill(-(child.pid as number), 'SIGINT');
      const first = await stopping;
      await new Promise((r) => setTimeout(r, 300));
      // The copy did not count as "exit now": the CLI is still writing what it found.
      expect(child.exitCode).toBeNull();
      await new Promise((r) => setTimeout(r, Math.max(0, SAME_SIGNAL_WINDOW_MS + 100 - (performance.now() - first))));
      const sent = performance.now();
      process.kill(-(child.pid as number), 'SIGINT');
      expect(await exited).toBe(130);
      // Far less than the 10 s grace a first Ctrl-C gives: "at once", on a loaded machine too.
      expect(performance.now() - sent).toBeLessThan(5_000);
    } finally {
      if (child.exitCode === null) process.kill(-(child.pid as number), 'SIGKILL');
      await exited;
    }
  });
});

describe("the nightly workflow's overrun path", () => {
  it('timeout -s INT on the workflow command line leaves both reports, marked interrupted, exit 130', async () => {
    const workflow = await readFile(path.join(ROOT, '.github', 'workflows', 'nightly-fuzz.yml'), 'utf8');
    // The shard's command as the workflow runs it, with a 6 s overrun limit instead of 38 minutes (its
    // handlers are in well before that, on a loaded machine too).
    const line = /^\s*(timeout .* npm run fuzz -- \\\n(?:.*\\\n)*.*)$/m.exec(workflow)?.[1];
    expect(line).toBeDefined();
    const out = path.join(dir, 'nightly');
    const command = (line as string)
      .replace(/ 38m /, ' 6s ')
      .replace('--out reports --failures-dir failures', `--out ${out}/reports --failures-dir ${out}/failures`);
    const child = spawn('bash', ['-c', `set -euo pipefail; ${command}`], {
      cwd: ROOT,
      env: { ...process.env, FUZZ_TIME: '60s', FUZZ_SEED: '5', SHARD: '1', SHARDS: '4' },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    expect(command).toMatch(/timeout --preserve-status -s INT -k 2m 6s npm run fuzz .*--out \S+\/reports/s);
    const code = await new Promise<number | null>((resolve) => child.once('exit', resolve));
    expect(code).toBe(130);
    const reports = path.join(out, 'reports');
    const report = JSON.parse(await readFile(path.join(reports, 'fuzz-report-shard1of4.json'), 'utf8'));
    expect(report.interrupted).toBe('SIGINT');
    expect(report.shard).toMatchObject({ index: 1, count: 4 });
    expect(await tempFiles(reports)).toEqual([]);
  });
});
